#!/usr/bin/env bash
# For the next session: where MambaIRv2's default CUDA path loses to --compile (720p: Base 88 vs 59 ms,
# light 14.5 vs 9.3 ms): the top kernels of each path.
#   bash tools/jobs/perf32b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
{
  for card in mambairv2-base-x4 mambairv2-light-x4; do
    for path in bf16 bf16+compile; do
      timeout 150 python benchmarks/profile_model.py "$card" 180 320 --path "$path" --top 30
    done
  done
} 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf32b-profiles-v2.txt"
