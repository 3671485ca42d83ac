#!/usr/bin/env bash
# Twenty-eighth session: SS2D's out_norm and silu gate as one Triton kernel on the default CUDA path (no
# --compile): its GPU tests and the eager fold test, then A/B (one process per run, alternated) on MambaIR
# light at 720p and colour DN at 1280x720 (wall time and peak).
#   bash tools/jobs/perf28h.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -rf tests/ops/test_layer_norm.py tests/engine/test_fold.py -k "gate or bf16_output" 2>&1 \
  | grep -v "^SKIPPED" | tail -5 | tee "$out/tests.txt"
for round in 1 2; do
  for gate in "--no-gate" ""; do
    timeout 60 python tools/jobs/delta_ab.py "MambaIR light SR x4, 720p out" --delta policy --path bf16 $gate 2>&1 \
      | tail -1 | tee -a "$out/ab.txt"
    timeout 80 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta policy --path bf16 --repeats 5 $gate \
      2>&1 | tail -1 | tee -a "$out/ab.txt"
  done
done
