#!/usr/bin/env bash
# Thirtieth session: the GPU tests of the changed ops and model paths, then MambaIR's block with the CAB's
# biases folded (a ones column, the residual pass) and the residual pass writing the next LayerNorm's rows,
# against each one undone (tools/jobs/bias_norm_ab.py), colour DN on the default CUDA path, alternated twice.
#   bash tools/jobs/perf30b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -rf tests/ops/test_residual.py tests/ops/test_layer_norm.py \
  tests/ops/test_depthwise_conv.py tests/engine/test_fold.py tests/archs/test_parity_gpu.py 2>&1 \
  | grep -v "^SKIPPED" | tail -4 | tee "$out/perf30b-tests.txt"
for round in 1 2; do
  for flags in "--cudnn-bias --separate-norm" "" "--cudnn-bias" "--separate-norm"; do
    timeout 80 python tools/jobs/bias_norm_ab.py "MambaIR colour DN, 1280x720" $flags --repeats 5 2>&1 | tail -1 \
      | tee -a "$out/perf30b-ab.txt"
  done
done
