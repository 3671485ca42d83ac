#!/usr/bin/env bash
# GPU issue, round 19G: where MambaIRv2 Base's compiled time goes with the tokens-major stream, then colour
# DN at 1280x720 (whole image, and 512 px tiles one at a time), reference and bf16 + --compile.
#   bash tools/jobs/perf19g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python benchmarks/profile_model.py mambairv2-base-x4 180 320 --path bf16+compile --top 30 2>&1 \
  | grep -v -i warn | tee "$out/profile-v2-base.txt" | head -16
timeout 380 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16+compile --repeats 3 \
  2>&1 | grep "^|\|Device" | tee "$out/bench-dn.txt"
