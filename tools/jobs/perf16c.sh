#!/usr/bin/env bash
# GPU issue, round 16C (2026-11-24): MambaIR light's CAB with its depthwise convs on tokens (GPU tests,
# in-model A/B), where the light models' GPU time goes, and the 720p benchmark rows after the depthwise
# kernel by runs of pixels.   bash tools/jobs/perf16c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -x tests/archs/test_mambair.py tests/engine/test_compile.py 2>&1 | tail -1 | tee "$out/tests.txt"
timeout 150 python -m pytest -q -x tests/archs/test_parity_gpu.py -k light 2>&1 | tail -1 | tee -a "$out/tests.txt"
timeout 200 python tools/jobs/light_cab_in_model.py 2>&1 | grep "^mambair" | tee "$out/light-cab.txt"
for card in mambairv2-light-x4 mambair-light-x4; do
  timeout 120 python benchmarks/profile_model.py $card 180 320 --path bf16+compile --top 40 2>&1 \
    | grep -v Warn | tee -a "$out/profile-light.txt"
done
