#!/usr/bin/env bash
# Twenty-eighth session: colour DN with in_proj split in two GEMMs against one GEMM (δ made in the kernel
# in both, as the launcher's policy has it), alternated, then the GPU tests of the folded networks.
#   bash tools/jobs/perf28e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for round in 1 2; do
  for split in "--no-split" ""; do
    timeout 100 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta policy $split --repeats 5 2>&1 \
      | tail -1 | tee -a "$out/ab.txt"
  done
done
timeout 200 python -m pytest -q -rf tests/engine/test_fold.py tests/ops/test_scan.py -k "fold or room or low_rank" 2>&1 \
  | grep -v "^SKIPPED" | tail -6 | tee "$out/tests.txt"
