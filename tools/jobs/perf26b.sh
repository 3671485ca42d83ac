#!/usr/bin/env bash
# Twenty-sixth session: graph breaks in the compiled blocks (the traced mamba-ssm probe as before, then now),
# GPU tests of the folded / half-precision-conv paths, then the changes against the code before them
# (fold_ab.py: wall time through the engine, bf16 + compile, alternated, one process each).
#   bash tools/jobs/perf26b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 60 python tools/jobs/graph_breaks.py --cached-mamba-probe mambair-light-x4 2>&1 | grep -v Warning | tee "$out/graph-breaks.txt"
timeout 150 python tools/jobs/graph_breaks.py mambair-light-x4 mambair-sr-x4 mambairv2-light-x4 mambair-realdn \
  restore-sr-x4 restore-deblur-laformer 2>&1 | grep -v Warning | tee -a "$out/graph-breaks.txt"
timeout 200 python -m pytest -q -x tests/engine/test_half_matmuls.py tests/engine/test_fold.py tests/archs/test_parity_gpu.py \
  tests/engine/test_graphs.py 2>&1 | tail -3 | tee "$out/tests.txt"
for round in 1 2; do
  for label in "MambaIR light SR x4, 720p out" "MambaIR classic SR x4, 720p out"; do
    timeout 150 python tools/jobs/fold_ab.py "$label" --as-before 2>&1 | tail -1 | tee -a "$out/fold-ab.txt"
    timeout 150 python tools/jobs/fold_ab.py "$label" 2>&1 | tail -1 | tee -a "$out/fold-ab.txt"
  done
done
