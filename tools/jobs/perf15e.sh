#!/usr/bin/env bash
# GPU issue, round 15E (2026-11-24): GPU tests of the depthwise-conv kernel and of compiled models, then
# the benchmark rows of the four SR models at 720p.   bash tools/jobs/perf15e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -p no:cacheprovider --tb=short tests/ops/test_depthwise_conv.py \
  tests/engine/test_compile.py 2>&1 | grep -v "DEBUG\|^$" | tail -60 > "$out/tests.txt"
tail -3 "$out/tests.txt"
timeout 330 python benchmarks/bench_models.py --match "720p" --paths reference,bf16,bf16+compile --repeats 3 \
  2>&1 | grep -v Warn | grep "^|" | tee "$out/bench.txt"
