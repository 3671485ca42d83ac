#!/usr/bin/env bash
# For the next session, after perf33a: the README's GPU table in one session. MambaIR at 720p and colour DN
# (whole and in 512 px tiles) on every path; perf33c.sh has the 4K rows.
#   bash tools/jobs/perf33b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 560 python benchmarks/bench_models.py \
  --match "MambaIR classic SR x4, 720p|MambaIR light SR x4, 720p|MambaIR colour DN" \
  --paths reference,bf16,bf16+compile 2>&1 | grep -v "Warning\|_warn_once" | tee "$out/perf33b-bench.txt"
