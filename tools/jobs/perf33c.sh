#!/usr/bin/env bash
# For the next session: the README's 4K rows in one session (MambaIR classic whole and in tiles of 270,
# MambaIR light whole, MambaIRv2 Base in tiles of 270) on every path.
#   bash tools/jobs/perf33c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py \
  --match "MambaIR classic SR x4, 4K|MambaIR light SR x4, 4K|MambaIRv2 Base SR x4, 4K out (tiles" \
  --paths reference,bf16,bf16+compile 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf33c-bench-4k.txt"
