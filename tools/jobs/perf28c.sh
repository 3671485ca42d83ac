#!/usr/bin/env bash
# Twenty-eighth session: the scan making δ from its low-rank projection (RANK). GPU tests of the kernel and
# of the compiled folded networks, then the A/B against the δ GEMM (wall time and peak, one process per run).
#   bash tools/jobs/perf28c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -rf tests/ops/test_scan_gpu.py -k "cross" tests/engine/test_fold.py 2>&1 \
  | grep -E "passed|failed|Error|FAILED|assert" | tail -15 | tee "$out/tests.txt"
for round in 1 2; do
  for delta in gemm kernel; do
    timeout 100 python tools/jobs/delta_ab.py "MambaIR light SR x4, 720p out" --delta $delta 2>&1 | tail -1 | tee -a "$out/ab.txt"
    timeout 150 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta $delta --repeats 5 2>&1 | tail -1 | tee -a "$out/ab.txt"
  done
done
