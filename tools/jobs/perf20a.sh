#!/usr/bin/env bash
# GPU issue, round 20A (prepared): compiled MambaIRv2 at 4K in tiles of 270, four tiles per pass against one
# (the batch drift no longer reproduces, perf19m); lift compiled_tile_batch only if four are faster.
#   bash tools/jobs/perf20a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for card in mambairv2-base-x4 mambairv2-light-x4; do
  timeout 250 python tools/jobs/v2_tile_batch_ab.py $card 2>&1 | grep "tiles of" | tee -a "$out/v2-tile-batch-ab.txt"
done
