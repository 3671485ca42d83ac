#!/usr/bin/env bash
# GPU issue, round 8D (2026-11-23, eighth session): 8C's Nsight Compute run showed the output pass at 16
# warps/SM (registers) with float32 B/C staged, against 28 for the chunk-end pass. A/B of staging and
# prefetch, interleaved (single timings here move by ~10% from run to run), then MambaIR classic 4K.
#   bash tools/jobs/perf8d.sh "$OUT"
# (Its float32-staging rows used `stage_bc_float32`, an option removed after this run; they are in the
# CHANGELOG. The A/B below is now `bench_scan.py --ab`, same procedure as the inline script it replaced.)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for case in "bfloat16 360" "bfloat16 120" "float32 360"; do
  set -- $case
  timeout 60 python benchmarks/bench_scan.py --dtype "$1" --cross-dim "$2" --rounds 7 --ab default \
    --ab prefetch=0 --ab prefetch=0,num_warps=2 --ab prefetch=1 --ab prefetch=1,num_warps=2 --ab prefetch=2 \
    --ab prefetch=2,num_warps=2
done 2>&1 | tee "$out/ab.txt"
timeout 300 python benchmarks/bench_models.py --match "MambaIR classic SR x4, 4K" --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_4k.txt" | tail -5
