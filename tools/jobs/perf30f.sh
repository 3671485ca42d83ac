#!/usr/bin/env bash
# Thirtieth session: GPU tests of the model paths with the blocks of a group chained through their
# LayerNorms, then the chain against each block normalising its own input (tools/jobs/bias_norm_ab.py
# --unchained) on the default CUDA path, colour DN and MambaIR classic, alternated twice.
#   bash tools/jobs/perf30f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 260 python -m pytest -q -rf tests/ops/test_residual.py tests/engine/test_fold.py tests/archs/test_parity_gpu.py \
  2>&1 | grep -v "^SKIPPED" | tail -3 | tee "$out/perf30f-tests.txt"
for flag in --unchained "" --unchained ""; do
  timeout 60 python tools/jobs/bias_norm_ab.py "MambaIR colour DN, 1280x720" $flag --repeats 5 2>&1 | tail -1 \
    | tee -a "$out/perf30f-ab.txt"
done
for flag in --unchained "" --unchained ""; do
  timeout 60 python tools/jobs/bias_norm_ab.py "MambaIR classic SR x4, 720p out" $flag 2>&1 | tail -1 \
    | tee -a "$out/perf30f-ab.txt"
done
