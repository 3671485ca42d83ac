#!/usr/bin/env bash
# GPU issue, round 19D: the classic head's channels-last pixel shuffle in the models (round 19A measured the
# head alone: 1697 -> 1249 us): GPU tests of the SR architectures, then the pixelshuffle-head models at 720p.
#   bash tools/jobs/perf19d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q tests/archs/test_mambair.py tests/archs/test_mambair_v2.py tests/archs/test_parity_gpu.py \
  tests/engine 2>&1 | tail -2 | tee "$out/tests.txt"
timeout 360 python benchmarks/bench_models.py --match "classic SR x4, 720p" --paths reference,bf16+compile --repeats 5 \
  2>&1 | grep "^|\|Device" | tee "$out/bench-classic-720p.txt"
timeout 300 python benchmarks/bench_models.py --match "MambaIRv2 Base SR x4, 720p" --paths reference,bf16+compile \
  --repeats 5 2>&1 | grep "^|\|Device" | tee "$out/bench-v2-base-720p.txt"
