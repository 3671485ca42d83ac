#!/usr/bin/env bash
# Twenty-fourth session: Nsight Compute on the one-channel-per-thread four-route scans (MambaIR light's
# route lanes, colour DN's blocks of 32): where each pass's warps stall, pipes, occupancy.
#   bash tools/jobs/perf24d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1
mkdir -p "$out"
NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
for case in "MambaIR light" "colour DN"; do
  name=$(echo "$case" | tr ' A-Z' '-a-z')
  timeout 240 "$NCU" --kernel-name regex:scan_chunk --launch-skip 2 --launch-count 2 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy \
    --section SchedulerStats --section LaunchStats --section MemoryWorkloadAnalysis \
    --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,l1tex__data_pipe_lsu_wavefronts_mem_shared.sum,l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum,l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum,l1tex__data_pipe_lsu_wavefronts.avg.pct_of_peak_sustained_elapsed,lts__t_sectors_op_red.sum" \
    python tools/jobs/scan_ncu_case.py "$case" > "$out/ncu-$name.txt" 2>&1
  echo "== $case"
  grep -E "STORE_END|STORE_Y|Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Eligible Warps|stalled_(long|mio|math|not_sel|wait|short|lg|dispatch).*ratio|pipe_xu|wavefronts|sectors|requests|Memory Throughput|L1/TEX Hit|L2 Hit|Compute \(SM\)" \
    "$out/ncu-$name.txt" | head -70
done
