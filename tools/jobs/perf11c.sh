#!/usr/bin/env bash
# GPU issue, eleventh session: MambaIRv2's channel-last path with cuDNN channel-last convs (the Triton
# depthwise kernel of perf11b was dropped: slower than cuDNN), checked, profiled and timed.
#   bash tools/jobs/perf11c.sh "$OUT" [tests|v2|dn|all]
set -u
out=${1:?OUT}
part=${2:-all}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
if [[ $part == all || $part == tests ]]; then
  timeout 200 python -m pytest -m gpu -q -x -p no:cacheprovider tests/ops/test_scan_gpu.py -k tokens \
    tests/archs/test_parity_gpu.py 2>&1 | tail -3 | tee "$out/tests.txt"
fi
if [[ $part == all || $part == v2 ]]; then
  timeout 80 python benchmarks/profile_model.py mambairv2-base-x4 180 320 --path bf16+compile --top 14 2>&1 \
    | grep -v -i warn | tee "$out/profile_v2.txt" | cut -c1-140
  timeout 330 python benchmarks/bench_models.py --match MambaIRv2 --paths reference,fused-fp32,bf16,bf16+compile \
    2>&1 | grep -v -i warn | tee "$out/bench_v2.txt" | tail -16
fi
if [[ $part == all || $part == dn ]]; then
  timeout 300 python benchmarks/bench_models.py --match "DN, 1280x720" --paths reference,bf16,bf16+compile \
    2>&1 | grep -v -i warn | tee "$out/bench_dn.txt" | tail -9
fi
