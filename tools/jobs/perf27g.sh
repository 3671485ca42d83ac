#!/usr/bin/env bash
# Twenty-seventh session, final code: the fold tests (perf27f's test run was cut off by its time limit before
# its summary), then MambaIR classic's tiled 4K row.
#   bash tools/jobs/perf27g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -rf tests/engine/test_fold.py tests/engine/test_half_matmuls.py 2>&1 \
  | grep -v "^SKIPPED" | tail -6 | tee "$out/tests.txt"
timeout 380 python benchmarks/bench_models.py --match "MambaIR classic SR x4, 4K" --paths reference,bf16+compile 2>&1 \
  | grep "^|" | tee "$out/bench-4k-classic.txt"
