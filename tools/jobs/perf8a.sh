#!/usr/bin/env bash
# GPU issue, round 8A (2026-11-23, eighth session): first GPU run of the reworked Triton scan (vector B/C
# loads, storage-width carry, optional prefetch=2). Timings of the four-route scan, then the GPU tests,
# then MambaIR v1 end to end. One device command, results under $OUT.
#   bash tools/jobs/perf8a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
python -c "import torch, triton; print(torch.__version__, triton.__version__)" | tee -a "$out/device.txt"
timeout 150 python benchmarks/bench_scan.py --device cuda --cross-only --dtype bfloat16 --sweep-cross \
  > "$out/scan_bf16_sweep.txt" 2>&1
cat "$out/scan_bf16_sweep.txt" | tail -45
timeout 60 python benchmarks/bench_scan.py --device cuda --cross-only --dtype float32 > "$out/scan_fp32.txt" 2>&1
timeout 60 python benchmarks/bench_scan.py --device cuda --cross-only --dtype bfloat16 --cross-dim 120 \
  > "$out/scan_bf16_light.txt" 2>&1
tail -4 "$out/scan_fp32.txt" "$out/scan_bf16_light.txt"
timeout 200 python -m pytest -m gpu tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider > "$out/test_scan_gpu.txt" 2>&1
tail -15 "$out/test_scan_gpu.txt"
timeout 150 python benchmarks/bench_models.py --quick --match "MambaIR classic" --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_classic.txt" | tail -8
