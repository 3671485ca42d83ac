#!/usr/bin/env bash
# GPU issue, round 19M: the compiler bisector's reproducer no longer drifts (perf19-v2-drift-bisect.txt);
# the whole model, 4K in tiles, four tiles per pass against one, in three fresh processes.
#   bash tools/jobs/perf19m.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for i in 1 2 3; do
  echo "process $i" | tee -a "$out/v2-batch-drift.txt"
  timeout 170 python tools/jobs/v2_batch_drift_check.py 2>&1 | grep "rel L2" | tee -a "$out/v2-batch-drift.txt"
done
