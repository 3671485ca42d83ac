#!/usr/bin/env bash
# Ninth session (2026-11-23): one device command that assembles the deblur corpus carried in earlier
# calls, starts round 10 in the background (tools/jobs/round10.jobs) and, while it trains, runs the whole
# GPU scan test suite in the foreground (correctness only: its timings would be skewed by the training).
#   bash tools/jobs/round10-start.sh "$OUT" MINUTES
set -u
out=${1:?OUT}
minutes=${2:?minutes}
mkdir -p "$out"
bash tools/jobs/assemble-corpus-m7.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
bash tools/gpu_jobs.sh start tools/jobs/round10.jobs "$minutes"
export PYTHONPATH=$PWD
timeout 330 python -m pytest -m gpu tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider > "$out/test_scan_gpu.txt" 2>&1
tail -3 "$out/test_scan_gpu.txt"
