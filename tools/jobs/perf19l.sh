#!/usr/bin/env bash
# GPU issue, round 19L: the default CUDA path (bf16, no --compile) on this session's final code, 720p SR.
#   bash tools/jobs/perf19l.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 400 python benchmarks/bench_models.py --match "SR x4, 720p" --paths reference,bf16 --repeats 5 \
  2>&1 | grep "^|\|Device" | tee "$out/bench-720p-eager.txt"
