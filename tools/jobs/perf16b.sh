#!/usr/bin/env bash
# GPU issue, round 16B (2026-11-24): the depthwise kernel by runs of pixels in the compiled models (GPU
# kernel time, previous kernel vs runs, interleaved) and the GPU parity tests.   bash tools/jobs/perf16b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for card in mambairv2-base-x4 mambair-sr-x4 mambairv2-light-x4 mambair-light-x4; do
  timeout 150 python tools/jobs/depthwise_in_model.py $card previous runs runs-c32 runs-c64 2>&1 | grep -v Warn \
    | tee -a "$out/in-model.txt"
done
timeout 200 python -m pytest -q -x tests/archs/test_parity_gpu.py 2>&1 | tail -3 | tee "$out/parity.txt"
timeout 200 python -m pytest -q -x tests/ops/test_depthwise_conv.py 2>&1 | tail -1 | tee "$out/tests.txt"
