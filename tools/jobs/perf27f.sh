#!/usr/bin/env bash
# Twenty-seventh session, final code: GPU tests of folding, compiling (not the minutes-long autotune one),
# half-precision weights and parity, then the whole-image 4K rows of the light models.
#   bash tools/jobs/perf27f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 330 python -m pytest -q tests/engine/test_fold.py tests/engine/test_half_matmuls.py tests/archs/test_parity_gpu.py \
  tests/engine/test_compile.py -k "not autotuned" 2>&1 | grep -v "^SKIPPED" | tail -6 | tee "$out/tests.txt"
timeout 250 python benchmarks/bench_models.py --match "(whole)" --paths reference,bf16+compile 2>&1 | grep "^|" \
  | tee "$out/bench-4k-light.txt"
