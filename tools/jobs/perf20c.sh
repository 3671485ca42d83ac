#!/usr/bin/env bash
# GPU issue, round 20C. (1) Nsight Compute on MambaIR classic's cross scan (two channels per thread): where
# each pass's warps stall, per issued instruction. (2) The compiled MambaIRv2 batch drift in fresh processes
# with fresh Inductor caches (perf19m's three shared one cache, so they were not independent): four tiles
# per pass against one, whole model at 4K. perf20a measured four per pass 8% faster (687 -> 631 ms).
#   bash tools/jobs/perf20c.sh "$OUT" [ncu] [processes]
set -u
out=${1:?OUT}
what=${2:-ncu}
processes=${3:-2}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
if [[ $what == ncu ]]; then
  NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
  timeout 200 "$NCU" --kernel-name regex:scan_chunk --launch-skip 6 --launch-count 2 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy \
    --section SchedulerStats --section LaunchStats \
    --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
    python benchmarks/bench_scan.py --device cuda --dtype bfloat16 --profile-cross > "$out/ncu-scan.txt" 2>&1
  grep -E "STORE_END|STORE_Y|Duration|Registers|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Eligible Warps|stalled_.*ratio|Pipe|Block Limit" \
    "$out/ncu-scan.txt" | head -120
fi
for i in $(seq 1 "$processes"); do
  cache=$(mktemp -d)
  echo "fresh process $i" | tee -a "$out/v2-batch-drift.txt"
  TORCHINDUCTOR_CACHE_DIR=$cache timeout 200 python tools/jobs/v2_batch_drift_check.py 2>&1 | grep "rel L2" \
    | tee -a "$out/v2-batch-drift.txt"
done
