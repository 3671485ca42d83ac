#!/usr/bin/env bash
# GPU issue, round 15G (2026-11-24): the 4K benchmark rows of MambaIR classic and MambaIRv2 Base with
# the depthwise kernel.   bash tools/jobs/perf15g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for model in "MambaIR classic SR x4, 4K" "MambaIRv2 Base SR x4, 4K"; do
  timeout 280 python benchmarks/bench_models.py --match "$model" --paths reference,bf16+compile --repeats 3 \
    2>&1 | grep -v Warn | grep "^|" | tee -a "$out/bench-4k.txt"
done
