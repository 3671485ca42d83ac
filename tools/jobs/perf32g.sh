#!/usr/bin/env bash
# MambaIRv2 Base and light at 4K, whole, on every path.
#   bash tools/jobs/perf32g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py \
  --match "MambaIRv2 Base SR x4, 4K out (whole)|MambaIRv2 light SR x4, 4K out (whole)" \
  --paths reference,bf16,bf16+compile 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf32g-bench-4k.txt"
