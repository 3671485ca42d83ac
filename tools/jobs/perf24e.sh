#!/usr/bin/env bash
# Twenty-fourth session: PREFETCH = 3 (each step's operands loaded two steps ahead, three register sets)
# against the launcher's defaults, the scan alone.
#   bash tools/jobs/perf24e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1
mkdir -p "$out"
{
timeout 60 python tools/jobs/scan_variants_ab.py "MambaIR light" "default:" "pf3:prefetch=3" "pf3-308:prefetch=3,n_chunks=308" "pf3-264:prefetch=3,n_chunks=264"
timeout 90 python tools/jobs/scan_variants_ab.py "colour DN" "default:" "pf3:prefetch=3"
timeout 60 python tools/jobs/scan_variants_ab.py "MambaIR classic" "default:" "pf2:prefetch=2" "pf3:prefetch=3"
timeout 60 python tools/jobs/scan_variants_ab.py "MambaIRv2 light" "default:" "pf3:prefetch=3"
timeout 60 python tools/jobs/scan_variants_ab.py "MambaIRv2 Base" "default:" "pf2:prefetch=2" "pf3:prefetch=3"
} 2>&1 | grep " us " | tee "$out/prefetch3.txt"
