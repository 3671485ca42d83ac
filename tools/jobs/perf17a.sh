#!/usr/bin/env bash
# GPU issue, round 17A (to run next): with MambaIRv2's routing in float32, do compiled batches of four 192x256
# tiles agree with the uncompiled network in every fresh process? Then the GPU tests of the depthwise
# kernel's batch stride and the CAB, and the 720p rows (the float32 route's cost).   bash tools/jobs/perf17a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
for i in 1 2 3 4 5 6; do
  TORCHINDUCTOR_FORCE_DISABLE_CACHES=1 timeout 100 python tools/jobs/v2_layer_fusion_bisect.py whole 2>&1 \
    | grep "compiled vs eager" | sed "s/^/process $i: /" | tee -a "$out/v2-batch-repeat.txt"
done
TORCHINDUCTOR_FORCE_DISABLE_CACHES=1 timeout 200 python tools/jobs/v2_used_net_precision.py 2>&1 \
  | grep "rel" | tee "$out/v2-used-net.txt"
export TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
timeout 300 python -m pytest -q tests/ops/test_depthwise_conv.py tests/archs/test_mambair.py tests/engine/test_compile.py 2>&1 | tail -3 \
  | tee "$out/tests.txt"
