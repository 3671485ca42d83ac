#!/usr/bin/env bash
# Twenty-third session: time chunks of the wide scans around whole waves of programs (MambaIR classic and
# colour DN: 24 programs per chunk, 16 warps per SM in the output pass; MambaIRv2 Base: 6 programs,
# 12 warps per SM at its 168-register cap), against the launcher's 256.
#   bash tools/jobs/perf23h.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1
mkdir -p "$out"
timeout 80 python tools/jobs/scan_chunks_light_ab.py "classic" 88 176 256 264 352 2>&1 | tee "$out/chunks-wide.txt"
timeout 100 python tools/jobs/scan_chunks_light_ab.py "colour DN" 176 256 264 352 528 2>&1 | tail -1 | tee -a "$out/chunks-wide.txt"
timeout 60 python tools/jobs/scan_chunks_light_ab.py "MambaIRv2 Base" 132 176 256 264 352 2>&1 | tail -1 | tee -a "$out/chunks-wide.txt"
