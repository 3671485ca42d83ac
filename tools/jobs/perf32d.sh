#!/usr/bin/env bash
# After perf32c: MambaIRv2's default path kernel by kernel, and the benchmark rows against the reference.
#   bash tools/jobs/perf32d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
{
  for card in mambairv2-base-x4 mambairv2-light-x4; do
    timeout 100 python benchmarks/profile_model.py "$card" 180 320 --path bf16 --top 30
  done
} 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf32d-profiles-v2.txt"
timeout 300 python benchmarks/bench_models.py --match "MambaIRv2 Base SR x4, 720p|MambaIRv2 light SR x4, 720p|MambaIRv2 Base SR x4, 4K out (whole)|MambaIRv2 Base SR x4, 4K out (tiles" \
  --paths reference,bf16 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf32d-bench.txt"
