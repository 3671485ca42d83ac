#!/usr/bin/env bash
# GPU issue, round 20G: the scan with the one-exponential softplus and prefetch 1 at two channels per thread
# (default_prefetch): the scan A/B against the previous module (tools/jobs/_scan_prev.py, local), a GPU
# test subset (softplus, two channels, chunk carry, padding, offsets, gradients), then the 720p and DN
# benchmark rows.   bash tools/jobs/perf20g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 100 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/softplus-ab.txt"
timeout 200 python -m pytest -q -x -p no:cacheprovider tests/ops/test_scan_gpu.py tests/ops/test_scan_grad_gpu.py \
  -k "two_channels or chunk_carry or row_padded or offsets or (softplus and float32) or (cross_tokens and aligned and 33) or (grad and float32)" \
  2>&1 | tail -3 | tee "$out/tests.txt"
timeout 280 python benchmarks/bench_models.py --match "Base SR x4, 720p|classic SR x4, 720p|DN, 1280x720" --paths reference,bf16+compile \
  --repeats 3 2>&1 | grep "^|\|Device" | tee "$out/bench.txt"
