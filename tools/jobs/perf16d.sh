#!/usr/bin/env bash
# GPU issue, round 16D (2026-11-24): the 720p benchmark rows after the depthwise kernel by runs of pixels
# and the light CAB on tokens.   bash tools/jobs/perf16d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py --match "720p" --paths reference,bf16+compile --repeats 5 2>&1 \
  | grep "^|" | tee "$out/bench-720p.txt"
