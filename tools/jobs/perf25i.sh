#!/usr/bin/env bash
# Twenty-fifth session, final code: the 4K benchmark rows, bf16 + compile against the reference pattern.
#   bash tools/jobs/perf25i.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 540 python benchmarks/bench_models.py --match "4K" --paths reference,bf16+compile 2>&1 | grep "^|" | tee "$out/bench-4k.txt"
