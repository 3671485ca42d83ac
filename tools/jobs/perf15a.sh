#!/usr/bin/env bash
# GPU issue, round 15A (2026-11-24): the Triton depthwise-conv kernel against cuDNN's channel-last kernel
# at the catalog's shapes, then MambaIRv2 Base's eager bf16 forward with and without aligned widths.
#   bash tools/jobs/perf15a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 300 python tools/jobs/depthwise_conv_kernel_ab.py 2>&1 | tee "$out/depthwise.txt"
for flag in "" --aligned; do
  timeout 120 python benchmarks/profile_model.py mambairv2-base-x4 180 320 --path bf16 --top 12 $flag 2>&1 \
    | grep -v Warn | tee -a "$out/v2-eager-aligned.txt"
done
