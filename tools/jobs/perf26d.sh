#!/usr/bin/env bash
# Twenty-sixth session: GPU tests of the folded paths (MambaIRv2's too) and of the four-route token scan whose
# chunk-end pass now zeroes the output (ZERO_Y), then that scan against HEAD's (_scan_prev.py: a fill kernel
# before the scan) inside the compiled light and classic models.
#   bash tools/jobs/perf26d.sh "$OUT"      (carry tools/jobs/_scan_prev.py)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q tests/engine/test_fold.py tests/engine/test_half_matmuls.py tests/ops/test_scan_gpu.py \
  -k "fold or cuda or route_lanes or carry or two_channels or state_count_below or cross_triton_matches" 2>&1 | tail -4 | tee "$out/tests.txt"
for card in mambair-light-x4 mambair-sr-x4; do
  timeout 150 python tools/jobs/scan_in_model_ab.py $card 180 320 2>&1 | grep " ms\|GPU time" | tee -a "$out/in-model.txt"
done
