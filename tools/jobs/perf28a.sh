#!/usr/bin/env bash
# Twenty-eighth session: what is live at colour DN's whole-image peak (bf16 + compile, then eager bf16),
# then the GPU checks the twenty-seventh session left open (the eager bf16 fold test at its 2e-3 bound,
# test_parity_gpu.py).
#   bash tools/jobs/perf28a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
timeout 200 python tools/jobs/peak_breakdown.py --path bf16+compile 2>&1 | tail -30 | tee "$out/peak-compile.txt"
timeout 120 python tools/jobs/peak_breakdown.py --path bf16 2>&1 | tail -30 | tee "$out/peak-eager.txt"
timeout 150 python -m pytest -q -rf tests/engine/test_fold.py -k "bf16_output" -s 2>&1 \
  | grep -E "bf16 against|passed|failed|Error" | tee "$out/fold-tests.txt"
