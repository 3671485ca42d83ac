#!/usr/bin/env bash
# GPU issue, round 21E: the softplus exponential on the FMA pipe in the four-route chunk-end pass and cuBLAS
# without a workspace, as committed: the scan's GPU tests (subset incl. gradients) and the parity tests, then
# the whole benchmark table on one machine in three calls:
#   bash tools/jobs/perf21e.sh "$OUT" 720p   |   ... dn   |   ... 4k
set -u
out=${1:?OUT}
part=${2:?720p, dn or 4k}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
bench="python benchmarks/bench_models.py --repeats 3 --paths reference,bf16+compile --match"
case $part in
  720p)
    timeout 150 python -m pytest -q -x -p no:cacheprovider tests/ops/test_scan_gpu.py tests/ops/test_scan_grad_gpu.py \
      -k "two_channels or chunk_carry or row_padded or offsets or (softplus and float32) or (cross_tokens and aligned and 33) or (grad and float32)" \
      2>&1 | tail -2 | tee "$out/tests.txt"
    timeout 150 python -m pytest -q -x -p no:cacheprovider tests/archs/test_parity_gpu.py 2>&1 | tail -2 \
      | tee -a "$out/tests.txt"
    timeout 290 $bench "SR x4, 720p" 2>&1 | grep "^|\|Device" | tee "$out/bench-720p.txt" ;;
  dn)
    timeout 330 $bench "colour DN" 2>&1 | grep "^|\|Device" | tee "$out/bench-dn.txt"
    timeout 250 $bench "4K out (whole)" 2>&1 | grep "^|\|Device" | tee "$out/bench-4k-light.txt" ;;
  4k)
    timeout 580 $bench "tiles 270" 2>&1 | grep "^|\|Device" | tee "$out/bench-4k-tiles.txt" ;;
esac
