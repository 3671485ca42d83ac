#!/usr/bin/env bash
# GPU issue, round 17D (to run): where the light models' small launches and memsets come from, per operator.
#   bash tools/jobs/perf17d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for card in mambairv2-light-x4 mambair-light-x4; do
  timeout 200 python tools/jobs/launch_tail.py $card --top 30 2>&1 | grep -v "Warn\|warn" | tee -a "$out/launch-tail.txt"
done
