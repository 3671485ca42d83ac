#!/usr/bin/env bash
# GPU issue, round 17B (to run next): MambaIRv2's benchmark rows with the float32 routing (720p) and with one
# tile per pass when compiled (4K).   bash tools/jobs/perf17b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 300 python benchmarks/bench_models.py --match "MambaIRv2" --paths reference,bf16+compile --repeats 5 \
  2>&1 | grep "^|" | tee "$out/bench-v2.txt"
