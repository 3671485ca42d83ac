#!/usr/bin/env bash
# Twenty-sixth session, final code: the light lanes' zeroing against HEAD's fill kernel in the compiled light
# model (again, after restricting it to the lanes), GPU tests of the lanes, then the 720p benchmark rows,
# bf16 + compile against the reference pattern, each case in its own process.
#   bash tools/jobs/perf26e.sh "$OUT"      (carry tools/jobs/_scan_prev.py)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 60 python -m pytest -q tests/ops/test_scan_gpu.py -k "route_lanes or two_channels" 2>&1 | tail -1 | tee "$out/tests.txt"
timeout 80 python tools/jobs/scan_in_model_ab.py mambair-light-x4 180 320 2>&1 | grep " ms\|GPU time" | tee "$out/in-model.txt"
timeout 360 python benchmarks/bench_models.py --quick --paths reference,bf16+compile 2>&1 | grep "^|" | tee "$out/bench-720p.txt"
