#!/usr/bin/env bash
# Twenty-seventh session: the aligned blocks on the default (eager) CUDA path too, the Triton LayerNorm writing
# the padded rows in the autocast dtype. GPU tests of the LayerNorm and of folding, then eager wall time against
# the unaligned blocks (tools/jobs/aligned_ab.py --path bf16), light alternated twice, classic once, and one
# compiled light run as a check that the compiled path is unchanged.
#   bash tools/jobs/perf27j.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -rf tests/ops/test_layer_norm.py tests/engine/test_fold.py 2>&1 \
  | grep -v "^SKIPPED" | tail -6 | tee "$out/tests.txt"
light="MambaIR light SR x4, 720p out"
classic="MambaIR classic SR x4, 720p out"
for round in 1 2; do
  timeout 60 python tools/jobs/aligned_ab.py "$light" --path bf16 --without blocks 2>&1 | tail -1 | tee -a "$out/ab.txt"
  timeout 60 python tools/jobs/aligned_ab.py "$light" --path bf16 2>&1 | tail -1 | tee -a "$out/ab.txt"
done
timeout 60 python tools/jobs/aligned_ab.py "$classic" --path bf16 --without blocks 2>&1 | tail -1 | tee -a "$out/ab.txt"
timeout 60 python tools/jobs/aligned_ab.py "$classic" --path bf16 2>&1 | tail -1 | tee -a "$out/ab.txt"
timeout 90 python tools/jobs/aligned_ab.py "$light" 2>&1 | tail -1 | tee -a "$out/ab.txt"
