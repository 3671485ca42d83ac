#!/usr/bin/env bash
# Thirty-first session: GPU tests of the changed paths (the tail in bands, compile_pays, the compiled-form
# tests now asking every block), then MambaIR classic 720p and colour DN default vs --compile (which now
# leaves their blocks uncompiled) and MambaIR light (still compiled).
#   bash tools/jobs/perf31d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 330 python -m pytest -q -x tests/archs/test_head_bands.py tests/engine/test_compile.py tests/engine/test_fold.py \
  tests/engine/test_run.py tests/archs/test_parity_gpu.py 2>&1 | tail -5 | tee "$out/perf31d-tests.txt"
timeout 220 python benchmarks/bench_models.py --match "MambaIR classic SR x4, 720p|MambaIR light SR x4, 720p|colour DN, 1280x720" \
  --paths bf16,bf16+compile 2>&1 | grep "^|\|Device" | tee "$out/perf31d-bench.txt"
