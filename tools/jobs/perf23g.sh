#!/usr/bin/env bash
# Twenty-third session, last device command: the GPU tests on the final code (the scan's forward and
# gradient tests, the parity tests of every architecture through the fast path, the CUDA-graph engine).
#   bash tools/jobs/perf23g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 540 python -m pytest -m gpu tests/ops/test_scan_gpu.py tests/archs/test_parity_gpu.py tests/engine/test_graphs.py tests/ops/test_scan_grad_gpu.py -q -p no:cacheprovider > "$out/gpu-tests.txt" 2>&1
tail -5 "$out/gpu-tests.txt"
