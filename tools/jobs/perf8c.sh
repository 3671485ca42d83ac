#!/usr/bin/env bash
# GPU issue, round 8C (2026-11-23, eighth session): 8B cut the scan step's instructions by a third and
# the time did not move, so the step is not issue-bound. Where does it wait? Per-kernel times, then
# Nsight Compute (if the machine has it), then the remaining 720p/4K models end to end.
#   bash tools/jobs/perf8c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 60 python benchmarks/bench_scan.py --device cuda --dtype bfloat16 --profile-cross 2>&1 | tee "$out/prof.txt" | tail -14
NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
echo "ncu: ${NCU:-none}"
if [[ -n "$NCU" ]]; then
  timeout 150 "$NCU" --kernel-name regex:scan_chunk --launch-skip 6 --launch-count 2 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy \
    --section InstructionStats --section MemoryWorkloadAnalysis \
    python benchmarks/bench_scan.py --device cuda --dtype bfloat16 --profile-cross > "$out/ncu.txt" 2>&1
  grep -E "Duration|Throughput|Pipe|Stall|stall|Warp Cycles|Issued|Occupancy|Registers|Eligible|L1|L2|DRAM|Hit" "$out/ncu.txt" | head -90
fi
timeout 330 python benchmarks/bench_models.py --match "v2" --paths reference,bf16,bf16+compile 2>&1 \
  | tee "$out/bench_v2.txt" | tail -8
