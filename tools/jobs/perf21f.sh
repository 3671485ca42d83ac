#!/usr/bin/env bash
# GPU issue, round 21F: MambaIRv2 Base at 4K in tiles of 270 came out at 678 ms in perf21e (640 in the twentieth
# session). cuBLAS without a workspace (the library's inference setting since round 21C) against cuBLAS's own
# defaults given explicitly (PyTorch's on Hopper: 32 MiB, and 1 MiB for cuBLASLt), fresh processes, alternated.
#   bash tools/jobs/perf21f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
run() { timeout 140 python benchmarks/bench_models.py --repeats 5 --paths bf16+compile --match "tiles 270" 2>&1 \
  | grep "^| M" | sed "s/^/$1 /" | tee -a "$out/workspace-4k.txt"; }
for round in 1 2; do
  run library-none
  CUBLAS_WORKSPACE_CONFIG=:4096:8 CUBLASLT_WORKSPACE_SIZE=1024 run cublas-defaults
done
