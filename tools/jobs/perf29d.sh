#!/usr/bin/env bash
# Twenty-ninth session: the CAB's 3x3 convs under cuDNN's heuristic against cudnn.benchmark; colour DN
# with its scan output zeroed by the chunk-end pass against the fill kernel (alternated, compiled); the
# GPU cross-scan tests.
#   bash tools/jobs/perf29d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 120 python tools/jobs/cudnn_benchmark_probe.py 2>&1 | tail -8 | tee "$out/cudnn.txt"
for round in 1 2; do
  for flag in --fill ""; do
    timeout 120 python tools/jobs/zero_y_ab.py "MambaIR colour DN, 1280x720" $flag --repeats 5 2>&1 | tail -1 \
      | tee -a "$out/zero-ab.txt"
  done
done
timeout 200 python -m pytest -q -rf tests/ops/test_scan_gpu.py -k "cross" 2>&1 | grep -v "^SKIPPED" | tail -3 \
  | tee "$out/tests.txt"
