#!/usr/bin/env bash
# MambaIRv2's README rows (720p, 4K whole) in the same session as perf33b/c's MambaIR rows.
#   bash tools/jobs/perf33e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py \
  --match "MambaIRv2 Base SR x4, 720p|MambaIRv2 light SR x4, 720p|MambaIRv2 Base SR x4, 4K out (whole|MambaIRv2 light SR x4, 4K" \
  --paths reference,bf16,bf16+compile 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf33e-bench-v2.txt"
