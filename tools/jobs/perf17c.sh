#!/usr/bin/env bash
# GPU issue, round 17C (to run next): Inductor's freezing (parameters as constants) for MambaIRv2, GPU kernel
# time and agreement, against the aligned compile as shipped.   bash tools/jobs/perf17c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for card in mambairv2-light-x4 mambairv2-base-x4; do
  timeout 280 python tools/jobs/v2_compile_options_ab.py $card aligned aligned_freezing 2>&1 \
    | grep "^mambair" | tee -a "$out/v2-freezing.txt"
done
