#!/usr/bin/env bash
# Twenty-ninth session: the CAB's first 3x3 conv reading rows of 192 channels instead of 184 (colour DN
# and classic, compiled, alternated), then the GPU parity tests.
#   bash tools/jobs/perf29e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for round in 1 2; do
  for flag in --aligned-only ""; do
    timeout 110 python tools/jobs/conv_width_ab.py "MambaIR colour DN, 1280x720" $flag --repeats 5 2>&1 | tail -1 \
      | tee -a "$out/ab.txt"
  done
done
for flag in --aligned-only ""; do
  timeout 110 python tools/jobs/conv_width_ab.py "MambaIR classic SR x4, 720p out" $flag 2>&1 | tail -1 \
    | tee -a "$out/ab.txt"
done
timeout 170 python -m pytest -q -rf tests/archs/test_parity_gpu.py 2>&1 | grep -v "^SKIPPED" | tail -3 \
  | tee "$out/tests.txt"
