#!/usr/bin/env bash
# GPU issue, round 14A (2026-11-24, fourteenth session): (1) two channels per thread in the scan
# (block_d 64 with one warp: the per-step work shared by a thread's channels, B_t/C_t conversions, route
# arithmetic, loads of B/C, is done once for two), four-route and one-route scans, interleaved medians;
# (2) MambaIRv2's unaligned widths and depthwise convs (tools/jobs/v2_alignment_ab.py).
#   bash tools/jobs/perf14a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
{
for dim in 360 120; do
  timeout 100 python benchmarks/bench_scan.py --dtype bfloat16 --cross-dim "$dim" --rounds 15 --ab default \
    --ab block_d=64 --ab block_d=64,n_chunks=256 --ab block_d=64,n_chunks=384 --ab block_d=64,n_chunks=96 \
    --ab block_d=128,num_warps=2
done
for dim in 348 96; do
  timeout 100 python benchmarks/bench_scan.py --dtype bfloat16 --tokens-dim "$dim" --rounds 15 --ab default \
    --ab block_d=64 --ab block_d=64,n_chunks=256 --ab block_d=64,n_chunks=384 --ab n_chunks=256
done
timeout 60 python benchmarks/bench_scan.py --dtype float32 --cross-dim 360 --rounds 9 --ab default --ab block_d=64
} 2>&1 | grep -v Warn | tee "$out/scan-two-channels.txt"
timeout 300 python tools/jobs/v2_alignment_ab.py 2>&1 | grep -v Warn | tee "$out/v2-alignment.txt"
