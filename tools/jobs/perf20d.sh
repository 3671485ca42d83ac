#!/usr/bin/env bash
# GPU issue, round 20D: MambaIRv2 at 4K in tiles of 270 with the compiled one-tile cap lifted (four tiles per
# pass, the CUDA default for a given --tile), through the benchmark.   bash tools/jobs/perf20d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py --match "MambaIRv2 Base SR x4, 4K" --paths reference,bf16+compile \
  --repeats 3 2>&1 | grep "^|\|Device" | tee "$out/bench-v2-4k.txt"
