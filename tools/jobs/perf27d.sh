#!/usr/bin/env bash
# Twenty-seventh session: aligned blocks and aligned residual-group convs, each left out in turn
# (tools/jobs/aligned_ab.py), light alternated twice and classic once, after the GPU tests of folding,
# compiling, half-precision weights and parity.
#   bash tools/jobs/perf27d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q tests/engine/test_fold.py tests/engine/test_half_matmuls.py \
  tests/archs/test_parity_gpu.py 2>&1 | grep -v "^SKIPPED" | tail -6 | tee "$out/tests.txt"
light="MambaIR light SR x4, 720p out"
classic="MambaIR classic SR x4, 720p out"
for round in 1 2; do
  for variant in "--without blocks --without group-conv" "--without group-conv" ""; do
    timeout 90 python tools/jobs/aligned_ab.py "$light" $variant 2>&1 | tail -1 | tee -a "$out/ab.txt"
  done
done
for variant in "--without blocks --without group-conv" "--without group-conv" ""; do
  timeout 120 python tools/jobs/aligned_ab.py "$classic" $variant 2>&1 | tail -1 | tee -a "$out/ab.txt"
done
