#!/usr/bin/env bash
# GPU issue, round 21H: the four-route chunk-end pass at one channel per thread (MambaIR light) back on ex2
# for its softplus (commit afe5b99: FMA_SOFTPLUS only at two channels per thread) against the round-21D
# module (the FMA exponential in every four-route chunk-end pass). The other rows run identical code in
# both modules: they show the harness's noise.
# The device's copy has no git history: make the previous module here and carry it (it is git-ignored):
#   git show 0d83503:restore_cli/ops/scan/triton.py \
#     | sed 's/^from \.\.launch import/from restore_cli.ops.launch import/' > tools/jobs/_scan_prev.py
#   bash tools/jobs/perf21h.sh "$OUT"            (run with carry tools/jobs/_scan_prev.py)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
timeout 200 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/light-softplus-ab.txt"
timeout 200 python tools/jobs/scan_softplus_ab.py --swap 2>&1 | tee -a "$out/light-softplus-ab.txt"
