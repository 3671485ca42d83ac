#!/usr/bin/env bash
# GPU issue, round 19K: where the light models' compiled time goes with the tokens-major stream (MambaIRv2
# light is at 10.3 ms against the 10 ms target).   bash tools/jobs/perf19k.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for card in mambairv2-light-x4 mambair-light-x4; do
  timeout 200 python benchmarks/profile_model.py $card 180 320 --path bf16+compile --top 40 2>&1 \
    | grep -v -i "warn\|originates\|File \|has_mamba" | tee "$out/profile-$card.txt"
done
