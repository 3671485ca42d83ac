#!/usr/bin/env bash
# Twenty-fourth session, final code: the 720p benchmark rows (all four SR architectures and colour DN), bf16 +
# compile against the reference pattern, each case in its own process.
#   bash tools/jobs/perf24j.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py --quick --paths reference,bf16+compile 2>&1 | grep -v "Warning\|warn\|^$\|originates\|File \|has_mamba" | tee "$out/bench-720p.txt"
