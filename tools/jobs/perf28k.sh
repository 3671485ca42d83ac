#!/usr/bin/env bash
# Twenty-eighth session, last: colour DN on the default CUDA path after the residual updates became
# addcmul after their branch (peak and what is live then, time), a compiled light check, the fold tests.
# (perf28j: the same two DN lines after `del x` in SS2D's split in_proj, before the addcmul.)
#   bash tools/jobs/perf28k.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 90 python tools/jobs/peak_breakdown.py --path bf16 2>&1 | tail -12 | tee "$out/peak-eager.txt"
timeout 80 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta policy --path bf16 --repeats 5 2>&1 \
  | tail -1 | tee "$out/dn-eager.txt"
timeout 60 python tools/jobs/delta_ab.py "MambaIR light SR x4, 720p out" --delta policy 2>&1 | tail -1 \
  | tee -a "$out/dn-eager.txt"
timeout 220 python -m pytest -q -rf tests/engine/test_fold.py 2>&1 | grep -v "^SKIPPED" | tail -4 | tee "$out/tests.txt"
