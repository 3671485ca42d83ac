#!/usr/bin/env bash
# GPU issue, round 18A (to run): bisect the compiled MambaIRv2 batch drift with PyTorch's compiler bisector
# (the float32-route reproducer).   bash tools/jobs/perf18a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_FORCE_DISABLE_CACHES=1
mkdir -p "$out"
timeout 560 python tools/jobs/v2_drift_bisect.py 2>&1 | grep -v "Warn\|warn" | grep -i "rel per image\|reproduces\|bisect\|subsystem\|backend" \
  | tee "$out/v2-drift-bisect.txt"
