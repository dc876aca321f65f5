#!/usr/bin/env bash
# Entry point on the GPU server: unpack the bundle made by scripts/gpu/pack.sh into a scratch
# folder, put the Vulkan loader on the library path (unpacked, never installed into /), point
# Vulkan at NVIDIA's driver, and run the CLI with the given arguments. Results are written under
# the study folders inside the scratch copy and copied to $OUT (or ./gpu-results) at the end.
# Usage (on the server, from the folder holding the bundle):
#   bash remote.sh vit sweep experiments/vit-gpu/study.json --backend webgpu
# PE_TIME_LIMIT=S stops the CLI after S seconds and still copies what it wrote: every study appends
# one line per finished cell, so a run cut short by a device-time budget keeps its finished cells
# and the next run resumes the rest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bundle=${PE_BUNDLE:-$here/prompt-experts-gpu.tar.xz}
work=${PE_WORK:-/tmp/prompt-experts-gpu}
mkdir -p "$work" && tar -C "$work" -xJf "$bundle"
mkdir -p "$work/root"
for f in "$work"/debs/*.deb; do dpkg -x "$f" "$work/root"; done
export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] || icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1 || true)
[ -n "$icd" ] && export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
export TFJS_WASM_DIR="$work/app/wasm/" PROMPT_EXPERTS_MNIST_DIR="$work/app/mnist"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
cd "$work/app"
status=0
if [ -n "${PE_TIME_LIMIT:-}" ]; then
  timeout --signal=TERM "$PE_TIME_LIMIT" "$work/bin/node" main.mjs "$@" || status=$?
  [ "$status" = 124 ] && echo "remote: stopped after PE_TIME_LIMIT=$PE_TIME_LIMIT s; finished cells are kept" >&2
else
  "$work/bin/node" main.mjs "$@" || status=$?
fi
dest=${OUT:-$here/gpu-results}
mkdir -p "$dest"
for f in experiments/*/results*.jsonl experiments/*/run*.json; do
  [ -f "$f" ] && cp "$f" "$dest/$(echo "$f" | tr '/' '_')"
done
exit $status
