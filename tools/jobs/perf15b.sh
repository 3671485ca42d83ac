#!/usr/bin/env bash
# GPU issue, round 15B (2026-11-24): the depthwise-conv kernel with channels a compile-time constant,
# float32 (k², C) weight table, kernel rows looped or unrolled; A/B against cuDNN.   bash tools/jobs/perf15b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 400 python tools/jobs/depthwise_conv_kernel_ab.py 2>&1 | tee "$out/depthwise.txt"
