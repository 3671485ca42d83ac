#!/usr/bin/env bash
# Twenty-third session, first device command: bf16 B/C widened from int32 pairs (one instruction per value).
# The scan's GPU tests for bf16 and the half types, then the scan alone against the previous module
# (tools/jobs/_scan_prev.py, made from HEAD as the module docstring of scan_softplus_ab.py says).
#   bash tools/jobs/perf23a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
timeout 280 python -m pytest -m gpu tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider -k "bfloat16 or float16 or state_count or two_channels" > "$out/scan-gpu-tests.txt" 2>&1
tail -3 "$out/scan-gpu-tests.txt"
timeout 250 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/scan-ab.txt"
