#!/usr/bin/env bash
# The GPU tests of the thirty-second session's kernels, then MambaIRv2 at 720p on every path.
#   bash tools/jobs/perf32f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 270 python -m pytest -q -rf tests/ops/test_gather_rows.py tests/ops/test_class_order.py tests/ops/test_residual.py \
  tests/archs/test_parity_gpu.py tests/engine/test_fold.py tests/engine/test_half_matmuls.py 2>&1 | grep -v "^SKIPPED" \
  | tail -8 | tee "$out/perf32f-tests.txt"
timeout 300 python benchmarks/bench_models.py --match "MambaIRv2 Base SR x4, 720p|MambaIRv2 light SR x4, 720p" \
  --paths reference,bf16,bf16+compile 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf32f-bench-720p.txt"
