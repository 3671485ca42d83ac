#!/usr/bin/env bash
# GPU issue, round 19J: the 4K cases on this session's final code (tokens-major stream, channels-last views).
#   bash tools/jobs/perf19j.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py --match "4K" --paths reference,bf16+compile --repeats 3 \
  2>&1 | grep "^|\|Device" | tee "$out/bench-4k.txt"
