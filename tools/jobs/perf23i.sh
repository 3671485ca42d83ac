#!/usr/bin/env bash
# Twenty-third session: time chunks rounded to whole waves of the output pass at two channels per thread
# (default_n_chunks' wave_warps) against HEAD, the scan alone.
#   bash tools/jobs/perf23i.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1
mkdir -p "$out"
timeout 150 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/scan-ab.txt"
