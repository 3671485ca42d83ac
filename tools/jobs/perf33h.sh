#!/usr/bin/env bash
# Where MambaIR light's default path (bf16) spends its GPU time after the fused channel attention, against
# --compile; and the engine/CLI GPU tests after the command's fixes (test_run, test_graphs).
#   bash tools/jobs/perf33h.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
{
  for path in bf16 bf16+compile; do
    timeout 120 python benchmarks/profile_model.py mambair-light-x4 180 320 --path "$path" --top 25
  done
} 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf33h-profiles-light.txt"
timeout 200 python -m pytest -q -rf tests/engine/test_graphs.py tests/engine/test_run.py tests/cli 2>&1 \
  | grep -v "^SKIPPED" | tail -4 | tee "$out/perf33h-tests.txt"
