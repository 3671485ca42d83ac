#!/usr/bin/env bash
# GPU issue, round 20F: why the round-20 softplus made the four-route scan 14% slower (and MambaIRv2's
# one-route scan 6% faster): Nsight Compute on the previous and the current kernels, both passes.
#   bash tools/jobs/perf20f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1
mkdir -p "$out"
NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
timeout 300 "$NCU" --kernel-name regex:scan_chunk --launch-count 4 \
  --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy \
  --section SchedulerStats --section InstructionStats \
  --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,regex:sm__inst_executed_pipe_.*\.avg\.pct_of_peak_sustained_active,regex:sm__pipe_.*_cycles_active\.avg\.pct_of_peak_sustained_active" \
  python tools/jobs/scan_ncu_pair.py > "$out/ncu-pair.txt" 2>&1
grep -E "_scan_chunk_kernel \(|Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Eligible Warps|Executed Instructions  |stalled_(long|mio|wait|math|short|not_sel|dispatch|branch).*ratio|pipe_(xu|fma|alu|fmaheavy|lsu).*(pct|active)" \
  "$out/ncu-pair.txt" | head -150
