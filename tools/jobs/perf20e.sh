#!/usr/bin/env bash
# GPU issue, round 20E: the scan's softplus with one exponential and a polynomial (no lg2): GPU tests of the
# scan kernels and their gradients, then the A/B against the previous kernel (tools/jobs/_scan_prev.py, a
# local copy of the previous module, not committed).   bash tools/jobs/perf20e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
for flags in "" --swap --same; do
  timeout 100 python tools/jobs/scan_softplus_ab.py $flags 2>&1 | tee -a "$out/softplus-ab.txt"
done
[[ ${2:-} == tests ]] && timeout 300 python -m pytest -q -x -p no:cacheprovider tests/ops/test_scan_gpu.py tests/ops/test_scan_grad_gpu.py 2>&1 \
  | tail -4 | tee "$out/tests.txt"
