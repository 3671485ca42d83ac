#!/usr/bin/env bash
# MambaIRv2 light's gate product in the depthwise kernel (combine with another tensor): the depthwise
# GPU tests and MambaIRv2's GPU parity tests, then the A/B through the engine, alternated twice.
#   bash tools/jobs/perf33f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 300 python -m pytest -q -rf tests/ops/test_depthwise_conv.py tests/archs/test_parity_gpu.py -k "not interpreter" \
  2>&1 | grep -v "^SKIPPED" | tail -4 | tee "$out/perf33f-tests.txt"
for round in 1 2; do
  for case in "MambaIRv2 light SR x4, 720p out" "MambaIRv2 light SR x4, 4K out (whole)"; do
    for flag in --separate ""; do
      timeout 90 python tools/jobs/gate_fusion_ab.py "$case" $flag --repeats 9 2>&1 | tail -1 \
        | tee -a "$out/perf33f-ab.txt"
    done
  done
done
