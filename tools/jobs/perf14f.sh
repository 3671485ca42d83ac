#!/usr/bin/env bash
# GPU issue, round 14F (2026-11-24): the window attention kernel's bias read as float16 (half the L2
# traffic of the 64 x 64 bias tile each key block reads) and its software pipelining depth.
#   bash tools/jobs/perf14f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python tools/jobs/window_attention_kernel_ab.py 2>&1 | grep -v Warn | tee "$out/attention_ab.txt"
