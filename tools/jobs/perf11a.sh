#!/usr/bin/env bash
# GPU issue, eleventh session (2026-11-23): where MambaIRv2's time goes, what window attention costs
# against PyTorch's fused attention, and what the unexplained 32.8 GiB benchmark cell allocates.
#   bash tools/jobs/perf11a.sh "$OUT" [profile|attn|memory|all]
set -u
out=${1:?OUT}
part=${2:-all}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
python -c "import torch, triton; print(torch.__version__, triton.__version__)" | tee -a "$out/device.txt"
if [[ $part == all || $part == profile ]]; then
  for spec in "mambairv2-base-x4 bf16" "mambairv2-base-x4 bf16+compile" "mambairv2-light-x4 bf16+compile" \
              "mambair-light-x4 bf16+compile" "mambair-sr-x4 bf16+compile"; do
    set -- $spec
    timeout 240 python benchmarks/profile_model.py "$1" 180 320 --path "$2" --top 22 2>&1 \
      | grep -v Warning | tee -a "$out/profile.txt"
  done
fi
if [[ $part == all || $part == attn ]]; then
  timeout 200 python tools/jobs/window_attention_ab.py 2>&1 | tee "$out/attn.txt"
fi
if [[ $part == all || $part == memory ]]; then
  timeout 300 python tools/jobs/bench_memory_trace.py "$out" 2>&1 | tail -60 | tee "$out/memory.txt"
fi
