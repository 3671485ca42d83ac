#!/usr/bin/env bash
# The channel attention's partial sums capped at _MAX_BLOCKS per image (colour DN was slower fused in
# perf33a): its GPU tests, then the A/B again on the cases with large images and on light, alternated twice.
#   bash tools/jobs/perf33d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -rf tests/ops/test_channel_mean.py 2>&1 | grep -v "^SKIPPED" | tail -3 \
  | tee "$out/perf33d-tests.txt"
for round in 1 2; do
  for case in "MambaIR colour DN, 1280x720" "MambaIR light SR x4, 720p out" "MambaIR light SR x4, 4K out (whole)" \
      "MambaIR classic SR x4, 4K out (whole)"; do
    for flag in "" --fused; do
      timeout 90 python tools/jobs/channel_attention_ab.py "$case" $flag --repeats 7 2>&1 | tail -1 \
        | tee -a "$out/perf33d-ab.txt"
    done
  done
done
