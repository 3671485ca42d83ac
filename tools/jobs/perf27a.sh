#!/usr/bin/env bash
# Twenty-seventh session, survey after one-graph blocks and folding: where MambaIR light's compiled 720p
# forward spends its kernels (top 70) with Inductor's output code, where its default (eager) CUDA path
# spends them, and the eager 720p rows of the light networks.
#   bash tools/jobs/perf27a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
TORCH_LOGS=output_code timeout 200 python benchmarks/profile_model.py mambair-light-x4 180 320 --path bf16+compile \
  --top 70 > "$out/light-log.txt" 2>&1
grep -A80 "^mambair-light" "$out/light-log.txt" | tee "$out/profile-light.txt"
gzip -9 "$out/light-log.txt"
timeout 120 python benchmarks/profile_model.py mambair-light-x4 180 320 --path bf16 --top 40 2>&1 \
  | grep -A50 "^mambair-light" | tee "$out/profile-light-eager.txt"
timeout 200 python benchmarks/bench_models.py --quick --match light --paths bf16,bf16+compile 2>&1 | grep "^|" \
  | tee "$out/bench-light-eager.txt"
