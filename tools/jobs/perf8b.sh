#!/usr/bin/env bash
# GPU issue, round 8B (2026-11-23, eighth session): the scan step on an instruction diet (fast softplus,
# unmasked clamped loads, B/C staged as float32, prefetch 0/1/2). Scan timings and sweep, GPU tests, then
# MambaIR v1 classic and light end to end. One device command, results under $OUT.
#   bash tools/jobs/perf8b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
timeout 150 python benchmarks/bench_scan.py --device cuda --cross-only --dtype bfloat16 --sweep-cross \
  > "$out/scan_bf16_sweep.txt" 2>&1
tail -40 "$out/scan_bf16_sweep.txt"
for args in "--dtype float32" "--dtype bfloat16 --cross-dim 120"; do
  timeout 60 python benchmarks/bench_scan.py --device cuda --cross-only $args 2>&1 | tail -6
done | tee "$out/scan_other.txt"
timeout 230 python -m pytest -m "gpu and not slow" tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider \
  > "$out/test_scan_gpu.txt" 2>&1
tail -6 "$out/test_scan_gpu.txt"
timeout 170 python benchmarks/bench_models.py --quick --match "MambaIR " --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_v1.txt" | tail -9
