#!/usr/bin/env bash
# GPU issue, round 19F: the residual stream kept tokens-major (archs.layers.image_module_on_tokens; round
# 19E found it channel-major after every residual group, and MambaIRv2 Base's compiled kernels 67.8 ->
# 62.1 ms with it contiguous): GPU tests, then every SR model at 720p, reference and bf16 + --compile.
#   bash tools/jobs/perf19f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q tests/archs/test_parity_gpu.py tests/archs/test_residual_stream_layout.py \
  tests/archs/test_mambair.py tests/archs/test_mambair_v2.py 2>&1 | tail -1 | tee "$out/tests.txt"
timeout 420 python benchmarks/bench_models.py --match "SR x4, 720p" --paths reference,bf16+compile --repeats 5 \
  2>&1 | grep "^|\|Device" | tee "$out/bench-720p.txt"
