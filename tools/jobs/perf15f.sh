#!/usr/bin/env bash
# GPU issue, round 15F (2026-11-24): parity of the catalog's models on the GPU with the depthwise kernel,
# then the benchmark rows of colour denoising and of the 4K cases.   bash tools/jobs/perf15f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -p no:cacheprovider tests/archs/test_parity_gpu.py 2>&1 | tail -2 | tee "$out/tests.txt"
timeout 420 python benchmarks/bench_models.py --match "DN" --paths reference,bf16,bf16+compile --repeats 3 \
  2>&1 | grep -v Warn | grep "^|" | tee "$out/bench-dn.txt"
