#!/usr/bin/env bash
# GPU issue, round 19B: the one-walk, lanes-across-states scan (state_lanes.cu) checked against the float32
# reference and timed against the Triton kernel (round 2: reduction overlapped with the walk, dynamic shared memory, tile and warp variants).
#   bash tools/jobs/perf19b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 360 python tools/jobs/state_lanes_ab.py 2>&1 | tee "$out/state-lanes-ab.txt"

