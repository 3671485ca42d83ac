#!/usr/bin/env bash
# Twenty-seventh session, final code: the 720p benchmark rows, bf16 + compile against the reference pattern,
# each case in its own process.
#   bash tools/jobs/perf27e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
timeout 560 python benchmarks/bench_models.py --quick --paths reference,bf16+compile 2>&1 | grep "^|" \
  | tee "$out/bench-720p.txt"
