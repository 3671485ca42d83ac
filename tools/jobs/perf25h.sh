#!/usr/bin/env bash
# Twenty-fifth session, final code: GPU tests of the compiled paths (freezing), parity and CUDA graphs; then
# the 720p benchmark rows, bf16 + compile against the reference pattern, each case in its own process.
#   bash tools/jobs/perf25h.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 240 python -m pytest -q tests/engine/test_compile.py tests/archs/test_parity_gpu.py tests/engine/test_graphs.py 2>&1 | tail -3 | tee "$out/tests.txt"
timeout 330 python benchmarks/bench_models.py --quick --paths reference,bf16+compile 2>&1 | grep "^|" | tee "$out/bench-720p.txt"
