#!/usr/bin/env bash
# The GPU evidence of the ViT studies in one device call: a sample-efficiency sweep on the GPU and
# a planted-layer study on the same backbone, each as parallel shards (`--shard i/N`), cut at a
# deadline, merged on the server, packed into one archive.
#   1. `vit backbone SWEEP` (pretrains on the GPU only when the bundle carries no backbone), and
#      the same checkpoint copied to the planted study (both studies name the same backbone block);
#   2. SWEEP_SHARDS sweep shards on WebGPU and PLANTED_SHARDS planted-layer shards, all at once:
#      tfjs-webgpu kernels are launch-bound at this size, so several processes share the GPU, and
#      the planted layer's fits are float64 JavaScript, one CPU core each (its backbone pass
#      runs on wasm: it is seconds per seed);
#   3. every process is stopped at PE_TIME_LIMIT seconds after the start (finished cells are kept:
#      one line per cell), the shards merged (`vit merge`), and results, run records, logs and
#      nvidia-smi's report packed into $OUT/evidence.tgz.
# Usage (on the server): PE_TIME_LIMIT=480 bash .bundle/evidence.sh SWEEP_STUDY SWEEP_SHARDS PLANTED_STUDY PLANTED_SHARDS
set -uo pipefail
sweep=${1:?usage: evidence.sh SWEEP_STUDY SWEEP_SHARDS PLANTED_STUDY PLANTED_SHARDS}
ns=${2:?}; planted=${3:?}; np=${4:?}
t0=$(date +%s)
limit=${PE_TIME_LIMIT:-480}
source "$(cd "$(dirname "$0")" && pwd)/setup.sh"
dest=${OUT:-$here/gpu-results}
mkdir -p "$dest" "$work/logs"
nvidia-smi >"$work/logs/nvidia-smi.txt" 2>&1 || true
# GPU utilisation and memory every 5 s, to show how busy the launch-bound kernels keep it.
sampler=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 >"$work/logs/gpu-util.csv" 2>&1 &
  sampler=$!
fi
cd "$work/app"
# Seconds to the deadline, at least 1 (timeout 0 would mean no limit).
left() { local l=$((t0 + limit - $(date +%s))); [ "$l" -gt 1 ] && echo "$l" || echo 1; }
pack() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  "$node" main.mjs vit merge "$sweep" >>"$work/logs/merge.log" 2>&1
  "$node" main.mjs vit merge "$planted" >>"$work/logs/merge.log" 2>&1
  tar -C "$work" -czf "$dest/evidence.tgz" logs $(cd "$work" && ls -d app/experiments/*/results*.jsonl app/experiments/*/run*.json 2>/dev/null)
  ls -la "$dest"
}
echo "evidence: backbone ($(left) s left)"
if ! timeout --signal=TERM "$(left)" "$node" main.mjs vit backbone "$sweep" --backend webgpu 2>&1 | tee "$work/logs/backbone.log"; then
  echo "evidence: no backbone (WebGPU failed or the deadline passed); see logs/backbone.log" >&2
  pack
  exit 1
fi
pdir=$(dirname "$planted")
[ -d "$pdir/backbone" ] || cp -r "$(dirname "$sweep")/backbone" "$pdir/backbone"
echo "evidence: $ns sweep shards (webgpu) and $np planted shards ($(left) s left)"
pids=()
for i in $(seq 1 "$ns"); do
  timeout --signal=TERM "$(left)" "$node" main.mjs vit sweep "$sweep" --shard "$i/$ns" --backend webgpu >"$work/logs/sweep-$i.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 "$np"); do
  timeout --signal=TERM "$(left)" "$node" main.mjs vit planted "$planted" --shard "$i/$np" --backend wasm >"$work/logs/planted-$i.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; echo "evidence: process $p ended ($?) at $(($(date +%s) - t0)) s"; done
pack
