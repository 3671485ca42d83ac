#!/usr/bin/env bash
# Twenty-ninth session: MambaIR's residual updates by one Triton pass each against PyTorch's addcmul/mul_
# on the default CUDA path (colour DN alternated twice, classic and light once), then the new kernel's GPU
# tests.
#   bash tools/jobs/perf29i.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for round in 1 2; do
  for flag in --torch ""; do
    timeout 80 python tools/jobs/residual_ab.py "MambaIR colour DN, 1280x720" $flag --repeats 5 2>&1 | tail -1 \
      | tee -a "$out/ab.txt"
  done
done
for case in "MambaIR classic SR x4, 720p out" "MambaIR light SR x4, 720p out"; do
  for flag in --torch "" --torch ""; do
    timeout 60 python tools/jobs/residual_ab.py "$case" $flag 2>&1 | tail -1 | tee -a "$out/ab.txt"
  done
done
timeout 100 python -m pytest -q -rf tests/ops/test_residual.py 2>&1 | grep -v "^SKIPPED" | tail -3 | tee "$out/tests.txt"
