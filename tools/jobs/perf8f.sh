#!/usr/bin/env bash
# GPU issue, round 8F (2026-11-23, eighth session): time chunks of the final kernel, interleaved A/B
# (MambaIR classic E=360 and light E=120 at 180x320, bf16), to check the default chunk count.
#   bash tools/jobs/perf8f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD
mkdir -p "$out"
for dim in 360 120; do
  timeout 90 python benchmarks/bench_scan.py --dtype bfloat16 --cross-dim "$dim" --ab default \
    $(for c in 64 96 192 256 384; do for p in 0 1; do echo "--ab n_chunks=$c,prefetch=$p"; done; done)
done 2>&1 | tee "$out/chunks.txt"
