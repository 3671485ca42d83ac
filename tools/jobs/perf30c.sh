#!/usr/bin/env bash
# Thirtieth session: the GPU tests of the changed ops and model paths (perf30b's run timed out in them), then
# tools/jobs/bias_norm_ab.py's before (both changes undone) and after for MambaIR classic and light at 720p
# on the default CUDA path, and for colour DN and classic compiled.
#   bash tools/jobs/perf30c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 300 python -m pytest -q -rf -x tests/ops/test_residual.py tests/ops/test_layer_norm.py \
  tests/ops/test_depthwise_conv.py tests/engine/test_fold.py tests/archs/test_parity_gpu.py 2>&1 \
  | grep -v "^SKIPPED" | tail -6 | tee "$out/perf30c-tests.txt"
for case in "MambaIR classic SR x4, 720p out" "MambaIR light SR x4, 720p out"; do
  for flags in "--cudnn-bias --separate-norm" "" "--cudnn-bias --separate-norm" ""; do
    timeout 60 python tools/jobs/bias_norm_ab.py "$case" $flags 2>&1 | tail -1 | tee -a "$out/perf30c-ab.txt"
  done
done
for flags in "--cudnn-bias" ""; do
  timeout 100 python tools/jobs/bias_norm_ab.py "MambaIR colour DN, 1280x720" $flags --path bf16+compile --repeats 5 \
    2>&1 | tail -1 | tee -a "$out/perf30c-ab.txt"
done
