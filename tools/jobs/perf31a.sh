#!/usr/bin/env bash
# Thirty-first session, first: MambaIR classic and MambaIRv2 Base at 4K whole (time and peak on both paths
# against the reference), and where the default path's GPU time goes now (colour DN, classic 720p and 4K).
#   bash tools/jobs/perf31a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 300 python benchmarks/bench_models.py --match "4K out (whole)" --paths reference,bf16,bf16+compile 2>&1 \
  | grep "^|\|Device\|memory\|failed" | tee "$out/perf31a-bench-4k-whole.txt"
{
  timeout 100 python benchmarks/profile_model.py mambair-dn-color-s25 720 1280 --path bf16 --top 30
  timeout 60 python benchmarks/profile_model.py mambair-sr-x4 180 320 --path bf16 --top 30
  timeout 100 python benchmarks/profile_model.py mambair-sr-x4 540 960 --path bf16 --top 30
} 2>&1 | tee "$out/perf31a-profiles.txt"
