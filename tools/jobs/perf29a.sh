#!/usr/bin/env bash
# Twenty-ninth session, first: colour DN after the CAB's channel-attention product went straight into the
# residual sum and later blocks of a group update their input in place (eager peak and what is live then,
# eager and compiled time and peak), then the fold and GPU parity tests.
#   bash tools/jobs/perf29a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 90 python tools/jobs/peak_breakdown.py --path bf16 2>&1 | tail -14 | tee "$out/peak-eager.txt"
timeout 80 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta policy --path bf16 --repeats 5 2>&1 \
  | tail -1 | tee "$out/dn.txt"
timeout 120 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta policy --repeats 5 2>&1 \
  | tail -1 | tee -a "$out/dn.txt"
timeout 120 python tools/jobs/peak_breakdown.py 2>&1 | tail -14 | tee "$out/peak-compile.txt"
timeout 230 python -m pytest -q -rf tests/engine/test_fold.py 2>&1 | grep -v "^SKIPPED" | tail -3 | tee "$out/tests.txt"
