#!/usr/bin/env bash
# GPU issue, round 20B: the cross scan's output zeroed by its chunk-end pass (no fill kernel; commit f09c283, reverted:
# slower) : GPU tests and
# the scan A/B; then where MambaIR classic's and light's remaining copies, fills and eager adds come from
# (kernel_origins.py), with Inductor's generated code for classic's block.   bash tools/jobs/perf20b.sh "$OUT"
set -u
out=${1:?OUT}
cache=$(mktemp -d)
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
timeout 200 python -m pytest -q -x tests/ops/test_scan_gpu.py 2>&1 | tail -3 | tee "$out/tests.txt"
timeout 120 python tools/jobs/scan_zero_fill_ab.py 2>&1 | tee "$out/zero-fill-ab.txt"
TORCHINDUCTOR_CACHE_DIR=$cache timeout 150 python tools/jobs/kernel_origins.py mambair-sr-x4 180 320 2>&1 \
  | grep -v -i warn | tee "$out/origins-classic.txt" | head -60
n=0
for f in $(grep -rl "async_compile.triton(" "$cache" --include=*.py); do
  n=$((n + 1)); cp "$f" "$out/classic-output-code-$n.py"
done
TORCHINDUCTOR_CACHE_DIR=$cache timeout 120 python tools/jobs/kernel_origins.py mambair-light-x4 180 320 2>&1 \
  | grep -v -i warn | tee "$out/origins-light.txt" | head -40
ls "$out"
