#!/usr/bin/env bash
# Twenty-fifth session: Inductor's freezing (parameters as constants, weight-only work folded at compile time:
# MambaIR's padded x-projection rows, the block-diagonal delta weight, -exp(A_log), autocast's weight casts)
# on MambaIR light and classic at 720p, TORCHINDUCTOR_FREEZING=0/1 alternated, each case in its own process.
#   bash tools/jobs/perf25g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for round in 1 2; do
  for freezing in 0 1; do
    echo "== round $round, TORCHINDUCTOR_FREEZING=$freezing" | tee -a "$out/freezing.txt"
    TORCHINDUCTOR_FREEZING=$freezing timeout 280 python benchmarks/bench_models.py --quick --repeats 7 \
      --match "MambaIR light|MambaIR classic" --paths bf16+compile 2>&1 | grep "^| Mamba" | tee -a "$out/freezing.txt"
  done
done
