#!/usr/bin/env bash
# Twenty-eighth session: GPU tests of the low-rank δ kernel and of the folded networks (perf28c's were cut
# off by their time limit), colour DN with in_proj split in two GEMMs, then MambaIR classic's δ A/B.
#   bash tools/jobs/perf28d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 230 python -m pytest -q -rf -x tests/ops/test_scan_gpu.py -k "low_rank" tests/engine/test_fold.py 2>&1 \
  | grep -v "^SKIPPED" | tail -8 | tee "$out/tests.txt"
timeout 100 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta kernel --repeats 5 2>&1 | tail -1 | tee -a "$out/ab.txt"
for round in 1 2; do
  for delta in gemm kernel; do
    timeout 100 python tools/jobs/delta_ab.py "MambaIR classic SR x4, 720p out" --delta $delta 2>&1 | tail -1 | tee -a "$out/ab.txt"
  done
done
