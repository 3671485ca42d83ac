#!/usr/bin/env bash
# Twenty-eighth session: colour DN's whole-image peak (tile 0, as the benchmark's case), without CUDA
# graphs (compiled and eager bf16), then compiled with graphs traced from the first call.
#   bash tools/jobs/perf28b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python tools/jobs/peak_breakdown.py --path bf16+compile 2>&1 | tail -30 | tee "$out/peak-compile.txt"
timeout 120 python tools/jobs/peak_breakdown.py --path bf16 2>&1 | tail -30 | tee "$out/peak-eager.txt"
timeout 200 python tools/jobs/peak_breakdown.py --path bf16+compile --graphs 2>&1 | tail -30 | tee "$out/peak-compile-graphs.txt"
