#!/usr/bin/env bash
# GPU issue, round 17G: the light models' 720p rows with --autotune (wall time through the engine: CUDA graphs,
# pinned outputs) against --compile, and the autotune GPU test.   bash tools/jobs/perf17g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 420 python benchmarks/bench_models.py --match "light" --paths reference,bf16+compile,bf16+autotune \
  --repeats 9 2>&1 | grep "^|" | tee "$out/bench-light-autotune.txt"
timeout 150 python -m pytest -q tests/engine/test_compile.py -k autotuned 2>&1 | tail -2 | tee "$out/tests.txt"
