#!/usr/bin/env bash
# GPU issue, round 21A (prepared): the whole benchmark table on one machine in one session, so README's table
# comes from one run (the twentieth session's mixes its rows with the nineteenth's light-model rows).
# Two calls (each under 10 minutes):   bash tools/jobs/perf21a.sh "$OUT" 720p   then   ... "$OUT" 4k
set -u
out=${1:?OUT}
part=${2:?720p or 4k}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
if [[ $part == 720p ]]; then
  timeout 330 python benchmarks/bench_models.py --match "SR x4, 720p" --paths reference,bf16,bf16+compile \
    --repeats 3 2>&1 | grep "^|\|Device" | tee "$out/bench-720p.txt"
  timeout 240 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16+compile --repeats 3 \
    2>&1 | grep "^|\|Device" | tee "$out/bench-dn.txt"
else
  timeout 560 python benchmarks/bench_models.py --match "4K" --paths reference,bf16+compile --repeats 3 \
    2>&1 | grep "^|\|Device" | tee "$out/bench-4k.txt"
fi
