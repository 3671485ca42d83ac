#!/usr/bin/env bash
# GPU issue, round 21B (prepared): the chunk-end pass's softplus exponential on the FMA pipe
# (tools/jobs/scan-softplus-fma-exp.patch: a Cody-Waite exp2 with a degree-5 polynomial, 2.4e-7 relative;
# that pass is bound by the exponential unit, perf20c/f), against the current scan. Adopt the patch only
# if the wide cases (classic, DN, MambaIRv2 Base) gain; then run the scan GPU tests on it.
#   bash tools/jobs/perf21b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
sed 's/^from \.\.launch import/from restore_cli.ops.launch import/' restore_cli/ops/scan/triton.py \
  > tools/jobs/_scan_prev.py
cp tools/jobs/_scan_prev.py tools/jobs/_scan_candidate.py
patch -s tools/jobs/_scan_candidate.py tools/jobs/scan-softplus-fma-exp.patch
timeout 150 python tools/jobs/scan_softplus_ab.py --candidate=tools/jobs/_scan_candidate.py 2>&1 \
  | tee "$out/softplus-fma-exp-ab.txt"
