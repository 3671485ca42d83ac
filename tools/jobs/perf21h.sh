#!/usr/bin/env bash
# GPU issue, round 21H: the four-route chunk-end pass at one channel per thread (MambaIR light) back on ex2
# for its softplus (commit afe5b99: FMA_SOFTPLUS only at two channels per thread) against the round-21D
# module (the FMA exponential in every four-route chunk-end pass). The other rows run identical code in
# both modules: they show the harness's noise.
#   bash tools/jobs/perf21h.sh "$OUT" PREVIOUS_COMMIT
set -u
out=${1:?OUT}
previous=${2:?commit}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
git show "$previous:restore_cli/ops/scan/triton.py" | sed 's/^from \.\.launch import/from restore_cli.ops.launch import/' \
  > tools/jobs/_scan_prev.py
timeout 200 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/light-softplus-ab.txt"
timeout 200 python tools/jobs/scan_softplus_ab.py --swap 2>&1 | tee -a "$out/light-softplus-ab.txt"
