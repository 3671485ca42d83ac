#!/usr/bin/env bash
# GPU issue, round 19C: where the state-lanes scan waits (Nsight Compute: stall reasons per issued
# instruction, pipe use, the hottest SASS lines), MambaIR classic's four routes, 4 warps x 64 steps.
#   bash tools/jobs/perf19c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
echo "ncu: ${NCU:-none}"
timeout 240 "$NCU" --kernel-name regex:scan_state_lanes --launch-skip 1 --launch-count 1 \
  --section SpeedOfLight --section ComputeWorkloadAnalysis --section Occupancy --section SchedulerStats \
  --section WarpStateStats --section SourceCounters --section LaunchStats --print-details all \
  --metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio \
  python tools/jobs/state_lanes_ncu.py 4 64 > "$out/ncu-state-lanes.txt" 2>&1
grep -v "^==PROF==" "$out/ncu-state-lanes.txt" | grep -E "stalled|Duration|Pipe|Issue|Eligible|Active Warps|Occupancy|Registers|Throughput|Block|Grid|Waves|Shared|Stall|Warp Cycles|No Eligible|smsp__" | head -120
