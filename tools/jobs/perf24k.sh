#!/usr/bin/env bash
# Twenty-fourth session: route lanes on long routes in whole waves of chunks of at most 400 steps (MambaIR light
# at 4K: 1405 chunks instead of 352), in the compiled model against HEAD before it, then the 4K row.
#   bash tools/jobs/perf24k.sh "$OUT"      (carry: tools/jobs/_scan_prev.py)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python tools/jobs/scan_in_model_ab.py mambair-light-x4 540 960 tools/jobs/_scan_prev.py 2>&1 \
  | tail -3 | tee "$out/light-4k-in-model.txt"
timeout 200 python benchmarks/bench_models.py --match "MambaIR light SR x4, 4K" --paths bf16+compile 2>&1 \
  | grep "^|" | tee "$out/light-4k-bench.txt"
