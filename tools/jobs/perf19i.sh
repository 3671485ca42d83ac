#!/usr/bin/env bash
# GPU issue, round 19I: tokens_to_image as a true channels-last view for a batch of one (the residual
# groups' convs return channels-last, no copy back to tokens): GPU tests, then the 720p SR cases and colour DN.
#   bash tools/jobs/perf19i.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q tests/archs/test_parity_gpu.py tests/archs/test_residual_stream_layout.py \
  tests/archs/test_mambair.py tests/archs/test_mambair_v2.py 2>&1 | tail -1 | tee "$out/tests.txt"
timeout 420 python benchmarks/bench_models.py --match "SR x4, 720p" --paths reference,bf16+compile --repeats 3 \
  2>&1 | grep "^|\|Device" | tee "$out/bench-720p.txt"
timeout 300 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16+compile --repeats 3 \
  2>&1 | grep "^|\|Device" | tee "$out/bench-dn.txt"
