#!/usr/bin/env bash
# Twenty-sixth session: the failing GPU test in full, the rest of the GPU tests, then fold_ab.py (the session's
# changes against the code before them: wall time through the engine, bf16 + compile, alternated).
#   bash tools/jobs/perf26c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 60 python tools/jobs/half_matmuls_check.py 2>&1 | tail -6 | tee -a "$out/tests.txt"
timeout 100 python -m pytest -q -x tests/engine/test_half_matmuls.py -k cuda 2>&1 | grep -v "^  \|^$" | tail -40 | tee -a "$out/tests.txt"
timeout 200 python -m pytest -q tests/engine/test_fold.py tests/archs/test_parity_gpu.py tests/engine/test_graphs.py \
  2>&1 | tail -3 | tee -a "$out/tests.txt"
for round in 1 2; do
  for label in "MambaIR light SR x4, 720p out" "MambaIR classic SR x4, 720p out"; do
    timeout 150 python tools/jobs/fold_ab.py "$label" --as-before 2>&1 | tail -1 | tee -a "$out/fold-ab.txt"
    timeout 150 python tools/jobs/fold_ab.py "$label" 2>&1 | tail -1 | tee -a "$out/fold-ab.txt"
  done
done
