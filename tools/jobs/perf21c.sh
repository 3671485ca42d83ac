#!/usr/bin/env bash
# GPU issue, round 21C: the light models' memsets (one per cuBLAS GEMM) under cuBLAS workspace settings,
# each setting in a fresh process, alternated twice; then the wide models under the best-looking one.
#   bash tools/jobs/perf21c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
light="mambairv2-light-x4 mambair-light-x4"
for round in 1 2; do
  timeout 150 python tools/jobs/gemm_workspace_ab.py $light 2>&1 | grep "wall" | tee -a "$out/gemm-workspace.txt"
  CUBLASLT_WORKSPACE_SIZE=0 CUBLAS_WORKSPACE_CONFIG=:0:0 timeout 100 python tools/jobs/gemm_workspace_ab.py $light \
    2>&1 | grep "wall" | tee -a "$out/gemm-workspace.txt"
  CUBLASLT_WORKSPACE_SIZE=0 timeout 100 python tools/jobs/gemm_workspace_ab.py $light 2>&1 | grep "wall" \
    | tee -a "$out/gemm-workspace.txt"
done
wide="mambairv2-base-x4 mambair-sr-x4"
timeout 120 python tools/jobs/gemm_workspace_ab.py $wide 2>&1 | grep "wall" | tee -a "$out/gemm-workspace.txt"
CUBLASLT_WORKSPACE_SIZE=0 CUBLAS_WORKSPACE_CONFIG=:0:0 timeout 100 python tools/jobs/gemm_workspace_ab.py $wide \
  2>&1 | grep "wall" | tee -a "$out/gemm-workspace.txt"
