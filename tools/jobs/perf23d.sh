#!/usr/bin/env bash
# Twenty-third session, fourth device command: the four routes side by side in each program's lanes
# (ROUTE_LANES, MambaIR light's 72 channels per route: 9 programs per chunk instead of 12) against HEAD
# (tools/jobs/_scan_prev.py): GPU tests, the scan alone, in the compiled MambaIR light, and its benchmark.
#   bash tools/jobs/perf23d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 120 python -m pytest -m gpu tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider -k "route_lanes or state_count or cross" 2>&1 | tail -15 | tee "$out/scan-gpu-tests.txt"
timeout 100 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/scan-ab.txt"
timeout 150 python tools/jobs/scan_in_model_ab.py mambair-light-x4 180 320 2>&1 | tail -3 | tee "$out/light-in-model.txt"
timeout 200 python benchmarks/bench_models.py --match "MambaIR light SR x4" --paths reference,bf16+compile 2>&1 | tail -6 | tee "$out/bench.txt"
