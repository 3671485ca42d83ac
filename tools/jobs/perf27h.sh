#!/usr/bin/env bash
# Twenty-seventh session, final code: the compile tests in full (the autotuned one included) and the CUDA-graph
# tests, which perf27d/f cut short.
#   bash tools/jobs/perf27h.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python -m pytest -q -rf tests/engine/test_compile.py tests/engine/test_graphs.py 2>&1 \
  | grep -v "^SKIPPED\|warn\|^$\|Docs:" | tail -8 | tee "$out/tests.txt"
