#!/usr/bin/env bash
# GPU issue, round 13B (2026-11-24): the blocks' convolutions alone (tools/jobs/conv_ab.py), then the 720p
# models with bf16 + --compile on the tree as it is and with tools/jobs/ab13.patch reversed (the change
# under test), in one run.
#   bash tools/jobs/perf13b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
[[ -n "${CONV_AB:-}" ]] && timeout 200 python tools/jobs/conv_ab.py 2>&1 | grep -v Warn | tee "$out/conv_ab.txt"
timeout 200 python -m pytest -q -p no:cacheprovider tests/engine/test_compile.py tests/archs/test_mambair.py 2>&1 | tail -3 | tee "$out/tests.txt"
timeout 330 python benchmarks/bench_models.py --quick --paths reference,bf16+compile --repeats 5 2>&1 \
  | grep -v Warn | tee "$out/bench-new.txt" | grep "ms "
patch -s -R -p1 < tools/jobs/ab13.patch
timeout 250 python benchmarks/bench_models.py --quick --paths bf16+compile --repeats 5 2>&1 \
  | grep -v Warn | tee "$out/bench-old.txt" | grep "ms "
patch -s -p1 < tools/jobs/ab13.patch
