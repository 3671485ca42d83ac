#!/usr/bin/env bash
# MambaIRv2's smaller passes (row gathers, route argmax, folded attention bias): GPU tests, the A/B through
# the engine alternated twice (tools/jobs/v2_passes_ab.py), then the default path kernel by kernel.
#   bash tools/jobs/perf32e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -rf tests/ops/test_gather_rows.py tests/ops/test_class_order.py tests/archs/test_parity_gpu.py \
  tests/archs/test_mambair_v2.py tests/engine/test_fold.py 2>&1 | grep -v "^SKIPPED" | tail -8 | tee "$out/perf32e-tests.txt"
for round in 1 2; do
  for case in "MambaIRv2 Base SR x4, 720p out" "MambaIRv2 light SR x4, 720p out"; do
    for flag in --before ""; do
      timeout 90 python tools/jobs/v2_passes_ab.py "$case" $flag --repeats 7 2>&1 | tail -1 | tee -a "$out/perf32e-ab.txt"
    done
  done
done
{
  for card in mambairv2-base-x4 mambairv2-light-x4; do
    timeout 100 python benchmarks/profile_model.py "$card" 180 320 --path bf16 --top 30
  done
} 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf32e-profiles-v2.txt"
