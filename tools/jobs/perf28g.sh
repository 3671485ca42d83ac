#!/usr/bin/env bash
# Twenty-eighth session, final code: colour DN on the default CUDA path without --compile (its peak and what
# is live then, its time), then test_parity_gpu.py.
#   bash tools/jobs/perf28g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 100 python tools/jobs/peak_breakdown.py --path bf16 2>&1 | tail -16 | tee "$out/peak-eager.txt"
timeout 100 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta policy --path bf16 --repeats 5 2>&1 \
  | tail -1 | tee "$out/dn-eager.txt"
timeout 380 python -m pytest -q -rf tests/test_parity_gpu.py 2>&1 | grep -v "^SKIPPED" | tail -6 | tee "$out/parity.txt"
