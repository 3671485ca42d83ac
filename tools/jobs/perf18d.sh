#!/usr/bin/env bash
# GPU issue, round 18D (to run): the light models at 4K output, whole (new benchmark cases; the issue's
# official figures 378 / 884 ms whole), reference vs --compile vs --autotune.   bash tools/jobs/perf18d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py --match "light SR x4, 4K" --paths reference,bf16+compile,bf16+autotune \
  --repeats 5 2>&1 | grep "^|" | tee "$out/bench-light-4k.txt"
