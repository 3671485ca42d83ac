#!/usr/bin/env bash
# GPU issue, round 21G: cuBLAS without a workspace for the light networks only, benchmarks one process per
# case: the engine's GPU tests, then the 720p rows (the 4K and DN rows: perf21e.sh 4k | dn, same code).
#   bash tools/jobs/perf21g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -p no:cacheprovider tests/engine/test_cublas_settings.py tests/test_bench.py 2>&1 \
  | tail -2 | tee "$out/tests.txt"
timeout 420 python benchmarks/bench_models.py --repeats 3 --paths reference,bf16+compile --match "SR x4, 720p" 2>&1 \
  | grep "^|\|Device\|failed" | tee "$out/bench-720p.txt"
