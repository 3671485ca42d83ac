#!/usr/bin/env bash
# GPU issue, round 18E (to run): the light models' fp32 image-space convs NCHW vs channels-last; MambaIRv2
# Base without --compile (the default CUDA path) at aligned widths vs its own.   bash tools/jobs/perf18e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 60 python tools/jobs/image_conv_layout_ab.py 2>&1 | grep "^|\|torch" | tee "$out/image-conv-layout.txt"
timeout 300 python tools/jobs/v2_uncompiled_aligned_ab.py 2>&1 | grep "^|\|torch" | tee "$out/v2-uncompiled-aligned.txt"
