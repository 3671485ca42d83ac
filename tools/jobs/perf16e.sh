#!/usr/bin/env bash
# GPU issue, round 16E (2026-11-24): the compiled MambaIRv2 layer's batch-of-4 drift in fresh processes with
# Inductor's caches off, with and without its pointwise autotuning.   bash tools/jobs/perf16e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_FORCE_DISABLE_CACHES=1
mkdir -p "$out"
for i in 1 2 3 4; do
  for variant in whole "no pointwise autotuning"; do
    timeout 100 python tools/jobs/v2_layer_fusion_bisect.py "$variant" 2>&1 | grep "compiled vs eager" \
      | sed "s/^/process $i: /" | tee -a "$out/autotune-repeat.txt"
  done
done
