#!/usr/bin/env bash
# Twenty-sixth session: a candidate layout of SS2D's projection (four [B, C] pairs, then the routes' ranks, which
# the delta GEMM reads in place), run as the model code at the time: GPU tests of the scan on that layout and
# of the folded/compiled paths, then the layout against the per-route one through the engine (bf16 + compile,
# alternated, one process each). Measured as noise and not adopted; tools/jobs/proj_layout_ab.py now patches
# the candidate in with --candidate (the "before" runs below were the per-route layout the model keeps).
#   bash tools/jobs/perf26f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q tests/ops/test_scan_gpu.py tests/engine/test_fold.py tests/archs/test_mambair.py \
  -k "route_lanes or state_count_below or fold or cuda" 2>&1 | tail -2 | tee "$out/tests.txt"
for round in 1 2; do
  for label in "MambaIR light SR x4, 720p out" "MambaIR classic SR x4, 720p out"; do
    timeout 100 python tools/jobs/proj_layout_ab.py "$label" 2>&1 | tail -1 | tee -a "$out/layout-ab.txt"
    timeout 100 python tools/jobs/proj_layout_ab.py "$label" --candidate 2>&1 | tail -1 | tee -a "$out/layout-ab.txt"
  done
done
