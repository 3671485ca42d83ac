#!/usr/bin/env bash
# GPU issue, round 18C (to run): MambaIRv2 with its Linear layers stored in bf16 (no per-forward weight
# casts), compiled and autotuned, GPU kernel time and agreement.   bash tools/jobs/perf18c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 300 python tools/jobs/v2_compile_options_ab.py mambairv2-light-x4 aligned aligned_bf16_linears \
  aligned_max_autotune aligned_max_autotune_bf16_linears 2>&1 | grep "^mambair\|to_copy" | tee "$out/v2-light-bf16-linears.txt"
timeout 200 python tools/jobs/v2_compile_options_ab.py mambairv2-base-x4 aligned aligned_bf16_linears 2>&1 \
  | grep "^mambair" | tee "$out/v2-base-bf16-linears.txt"
