#!/usr/bin/env bash
# GPU issue, round A (2026-11-23, seventh session): does regional torch.compile (--compile) of the
# blocks pay on top of the fused scan and CUDA graphs? One device command, results under $OUT.
#   bash tools/jobs/perf7a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
python -c "import torch, triton; print(torch.__version__, triton.__version__)" | tee -a "$out/device.txt"
timeout 120 python benchmarks/profile_model.py mambair-sr-x4 180 320 --path bf16 --top 30 > "$out/prof_classic_bf16.txt" 2>&1
tail -32 "$out/prof_classic_bf16.txt"
timeout 240 python benchmarks/profile_model.py mambair-sr-x4 180 320 --path bf16+compile --top 30 \
  > "$out/prof_classic_bf16c.txt" 2>&1
tail -32 "$out/prof_classic_bf16c.txt"
timeout 420 python benchmarks/bench_models.py --quick --match "MambaIR " --paths reference,bf16,bf16+compile,fp32+compile \
  2>&1 | tee "$out/bench_v1.txt" | tail -20
