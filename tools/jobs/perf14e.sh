#!/usr/bin/env bash
# GPU issue, round 14E (2026-11-24): MambaIRv2's benchmark rows after the attention kernel's key blocks
# and the scan's two channels per thread; the float32 path too (not re-timed since the attention kernel).
#   bash tools/jobs/perf14e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py --match MambaIRv2 --paths reference,fused-fp32,bf16,bf16+compile \
  --repeats 3 2>&1 | grep -v Warn | grep "^|" | tee "$out/bench-v2.txt"
