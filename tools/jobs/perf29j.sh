#!/usr/bin/env bash
# Twenty-ninth session, last: the default CUDA path (bf16, not compiled) against the reference in the same
# run for colour DN whole, MambaIR classic and light at 720p (time, peak, agreement), then the GPU parity
# and fold tests with the residual kernel in place.
#   bash tools/jobs/perf29j.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python benchmarks/bench_models.py --match "colour DN, 1280x720|MambaIR classic SR x4, 720p|MambaIR light SR x4, 720p" \
  --paths reference,bf16 2>&1 | grep "^|\|Device" | tee "$out/bench-eager.txt"
timeout 330 python -m pytest -q -rf tests/archs/test_parity_gpu.py tests/engine/test_fold.py 2>&1 | grep -v "^SKIPPED" \
  | tail -3 | tee "$out/tests.txt"
