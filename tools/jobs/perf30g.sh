#!/usr/bin/env bash
# Thirtieth session: perf30f again after the chain hands the LayerNorm rows over in a list that the next
# block empties (perf30f's peak had grown by the rows held through a block's scan): colour DN and classic
# chained against unchained, default CUDA path, then the GPU fold tests.
#   bash tools/jobs/perf30g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for flag in --unchained "" --unchained ""; do
  timeout 60 python tools/jobs/bias_norm_ab.py "MambaIR colour DN, 1280x720" $flag --repeats 5 2>&1 | tail -1 \
    | tee -a "$out/perf30g-ab.txt"
done
for flag in --unchained ""; do
  timeout 60 python tools/jobs/bias_norm_ab.py "MambaIR classic SR x4, 720p out" $flag 2>&1 | tail -1 \
    | tee -a "$out/perf30g-ab.txt"
done
timeout 200 python -m pytest -q -rf tests/engine/test_fold.py 2>&1 | grep -v "^SKIPPED" | tail -2 | tee "$out/perf30g-tests.txt"
