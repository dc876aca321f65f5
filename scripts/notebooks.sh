#!/usr/bin/env bash
# Execute every notebook under notebooks/ headless with the TypeScript kernel (tslab) and fail if
# any cell errors (a thrown error or a type error). Run from anywhere after `npm ci` (its prepare
# step builds dist/, which the notebooks import). Needs Jupyter: on Debian
#   apt-get install jupyter-nbconvert jupyter-client python3-ipykernel jupyter-core fonts-dejavu-core
# The kernel is registered in a throwaway Jupyter prefix (JUPYTER_PATH), so nothing is installed
# for the user or system-wide. Executed copies go to $NOTEBOOKS_OUT (default: a temp folder that
# is removed); the committed notebooks are never rewritten.
# Environment: PYTHON (default /usr/bin/python3, Debian's, which has ipykernel and nbconvert),
# CELL_TIMEOUT (seconds per cell, default 120).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/usr/bin/python3}
CELL_TIMEOUT=${CELL_TIMEOUT:-120}
TSLAB="$PWD/node_modules/.bin/tslab"

fail() { echo "notebooks: $*" >&2; exit 1; }
[ -x "$TSLAB" ] || fail "$TSLAB missing: run \`npm ci\` first"
[ -f dist/src/index.js ] || fail "dist/src/index.js missing: run \`npm run build\` first"
command -v jupyter-nbconvert >/dev/null 2>&1 || fail "jupyter-nbconvert not found: apt-get install jupyter-nbconvert jupyter-client python3-ipykernel jupyter-core"
"$PYTHON" -c 'import ipykernel, nbconvert, nbclient' 2>/dev/null || fail "$PYTHON lacks ipykernel/nbconvert: apt-get install python3-ipykernel jupyter-nbconvert"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${NOTEBOOKS_OUT:-$work/executed}
mkdir -p "$out"

# Register the kernels ("tslab" = TypeScript, "jslab" = JavaScript) in a private prefix.
"$TSLAB" install --python "$PYTHON" --binary "$TSLAB" --prefix "$work/jupyter" >/dev/null
export JUPYTER_PATH="$work/jupyter/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export JUPYTER_CONFIG_DIR="$work/config" JUPYTER_DATA_DIR="$work/data" JUPYTER_RUNTIME_DIR="$work/runtime"
export PYDEVD_DISABLE_FILE_VALIDATION=1

shopt -s nullglob
books=(notebooks/*.ipynb)
[ ${#books[@]} -gt 0 ] || fail "no notebooks under notebooks/"

# nbconvert's executor (nbclient) driven directly, so that a failing cell is reported with what
# the kernel printed (tslab reports type errors and exceptions on stderr, not in the error reply).
status=0
"$PYTHON" -Xfrozen_modules=off - "$out" "$CELL_TIMEOUT" "${books[@]}" <<'PY' || status=$?
import os, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

out, timeout, books = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
failed = 0
for path in books:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name='tslab', resources={'metadata': {'path': os.path.dirname(path)}})
    t0 = time.monotonic()
    try:
        client.execute()
        print(f'ok    {path} ({time.monotonic() - t0:.1f} s)', flush=True)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        failed += 1
        print(f'FAIL  {path} ({time.monotonic() - t0:.1f} s)', flush=True)
        ran = [c for c in nb.cells if c.cell_type == 'code' and (c.get('execution_count') or c.get('outputs'))]
        cell = ran[-1] if ran else None
        if cell is not None:
            print(f'      cell {cell.get("id", "?")}:')
            print(''.join('      > ' + l + '\n' for l in cell.source.splitlines()[:12]), end='')
            for o in cell.get('outputs', []):
                if o.get('output_type') == 'stream' and o.get('name') == 'stderr':
                    print(''.join('      ' + l + '\n' for l in o.get('text', '').splitlines()[:15]), end='')
                elif o.get('output_type') == 'error':
                    print(f"      {o.get('ename')}: {o.get('evalue')}")
        print('      ' + (str(e).strip().splitlines() or [''])[-1])
    nbformat.write(nb, os.path.join(out, os.path.basename(path)))
sys.exit(1 if failed else 0)
PY
[ $status -eq 0 ] && echo "notebooks: all ${#books[@]} executed without errors${NOTEBOOKS_OUT:+ (executed copies in $out)}"
exit $status
