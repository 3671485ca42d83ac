#!/usr/bin/env bash
# GPU issue, round 21D: the cuBLAS inference settings as the library sets them (no environment given):
# the GPU test, MambaIRv2 light's benchmark row; then round 21B (the softplus exponential on the FMA pipe).
#   bash tools/jobs/perf21d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q tests/engine/test_cublas_settings.py tests/engine/test_graphs.py 2>&1 | tail -3 \
  | tee "$out/tests.txt"
timeout 200 python benchmarks/bench_models.py --match "MambaIRv2 light SR x4, 720p" --paths bf16,bf16+compile \
  --repeats 7 2>&1 | grep "^|\|Device" | tee "$out/bench-v2-light.txt"
bash tools/jobs/perf21b.sh "$out"
