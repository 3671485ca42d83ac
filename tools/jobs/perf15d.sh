#!/usr/bin/env bash
# GPU issue, round 15D (2026-11-24): the depthwise-conv kernel on 2D pixel blocks (rows x pixels), A/B
# against cuDNN without bias (as the compiled models call it); the two GPU tests that failed in 15C.
#   bash tools/jobs/perf15d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 120 python -m pytest -q -x -p no:cacheprovider tests/ops/test_depthwise_conv.py -k "chunk or cached" 2>&1 \
  | tail -40 > "$out/tests.txt"
timeout 400 python tools/jobs/depthwise_conv_kernel_ab.py 2>&1 | tee "$out/depthwise.txt"
