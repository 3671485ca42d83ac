#!/usr/bin/env bash
# The GPU tests the last sessions' time limits cut (test_compile without the autotune case, CUDA graphs, the
# engine's runs), then MambaIR light's default path against --compile kernel by kernel (for the next session).
#   bash tools/jobs/perf32i.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 330 python -m pytest -q -rf tests/engine/test_compile.py -k "not autotune" tests/engine/test_graphs.py \
  tests/engine/test_run.py 2>&1 | grep -v "^SKIPPED" | tail -6 | tee "$out/perf32i-tests.txt"
{
  for path in bf16 bf16+compile; do
    timeout 90 python benchmarks/profile_model.py mambair-light-x4 180 320 --path "$path" --top 25
  done
} 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf32i-profiles-light.txt"
