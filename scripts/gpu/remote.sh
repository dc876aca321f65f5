#!/usr/bin/env bash
# Entry point on the GPU server: unpack the bundle made by scripts/gpu/pack.sh (setup.sh) and run
# the CLI with the given arguments. Results are written under
# the study folders inside the scratch copy and copied to $OUT (or ./gpu-results) at the end.
# Usage (on the server, from the folder holding the bundle):
#   bash remote.sh vit sweep experiments/vit-gpu/study.json --backend webgpu
# PE_TIME_LIMIT=S stops the CLI after S seconds and still copies what it wrote: every study appends
# one line per finished cell, so a run cut short by a device-time budget keeps its finished cells
# and the next run resumes the rest.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/setup.sh"
cd "$work/app"
status=0
if [ -n "${PE_TIME_LIMIT:-}" ]; then
  timeout --signal=TERM "$PE_TIME_LIMIT" "$node" main.mjs "$@" || status=$?
  [ "$status" = 124 ] && echo "remote: stopped after PE_TIME_LIMIT=$PE_TIME_LIMIT s; finished cells are kept" >&2
else
  "$node" main.mjs "$@" || status=$?
fi
dest=${OUT:-$here/gpu-results}
mkdir -p "$dest"
for f in experiments/*/results*.jsonl experiments/*/run*.json; do
  [ -f "$f" ] && cp "$f" "$dest/$(echo "$f" | tr '/' '_')"
done
exit $status
