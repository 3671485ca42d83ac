#!/usr/bin/env bash
# Twenty-fourth session: B/C as float32 (no widening in the kernel; lanes read them in 16-byte runs), the
# scan alone and inside the compiled MambaIR light and colour DN.
#   bash tools/jobs/perf24c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python tools/jobs/scan_bc_float32_ab.py 2>&1 | grep -v "^$" | tail -8 | tee "$out/kernel.txt"
timeout 90 python tools/jobs/scan_bc_float32_ab.py --model mambair-light-x4 180 320 2>&1 | tail -3 | tee "$out/in-model.txt"
timeout 150 python tools/jobs/scan_bc_float32_ab.py --model mambair-dn-color-s25 720 1280 2>&1 | tail -3 | tee -a "$out/in-model.txt"
