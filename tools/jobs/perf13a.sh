#!/usr/bin/env bash
# GPU issue, round 13A (2026-11-24, thirteenth session): now that the chunk carry is a log-depth scan,
# sweep the scan's time chunks again (the cap of 160 was set for the old walk carry) and try two threads
# per channel (block_d 16: half the states per thread, twice the warps), for MambaIR classic (E 360) and
# light (E 120); then where the compiled models' time goes now (top kernels).
#   bash tools/jobs/perf13a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for dim in 360 120; do
  timeout 90 python benchmarks/bench_scan.py --dtype bfloat16 --cross-dim "$dim" --rounds 15 --ab default \
    --ab n_chunks=256 --ab n_chunks=384 --ab n_chunks=512 --ab n_chunks=96 \
    --ab block_d=16,n_chunks=96 --ab block_d=16,n_chunks=160 --ab block_d=16,n_chunks=256 \
    --ab num_warps=2,n_chunks=256 --ab num_warps=2,n_chunks=512
done 2>&1 | tee "$out/ab-chunks.txt"
for card in mambair-sr-x4 mambair-light-x4; do
  timeout 200 python benchmarks/profile_model.py "$card" 180 320 --path bf16+compile --top 40
done 2>&1 | tee "$out/profile-compiled.txt" | tail -100
