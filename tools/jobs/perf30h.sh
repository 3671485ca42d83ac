#!/usr/bin/env bash
# Thirtieth session, last: the benchmark rows on the final code against the reference in the same run, the
# default CUDA path and --compile: "dn" colour DN whole and in tiles, "720p" the four SR models at 720p.
#   bash tools/jobs/perf30h.sh "$OUT" dn|720p
set -u
out=${1:?OUT}
which=${2:?dn or 720p}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
if [ "$which" = dn ]; then match="colour DN, 1280x720"; else match="SR x4, 720p"; fi
timeout 560 python benchmarks/bench_models.py --match "$match" --paths reference,bf16,bf16+compile 2>&1 \
  | grep "^|\|Device" | tee "$out/perf30h-bench-$which.txt"
