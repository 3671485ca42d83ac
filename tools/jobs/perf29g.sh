#!/usr/bin/env bash
# Twenty-ninth session: the wider CAB rows for eager runs only (compiled keeps 184): colour DN compiled and
# eager, classic eager A/B, then the fold tests (compiled blocks on the aligned path).
#   bash tools/jobs/perf29g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 110 python tools/jobs/conv_width_ab.py "MambaIR colour DN, 1280x720" --repeats 5 2>&1 | tail -1 | tee -a "$out/ab.txt"
timeout 80 python tools/jobs/conv_width_ab.py "MambaIR colour DN, 1280x720" --path bf16 --repeats 5 2>&1 | tail -1 \
  | tee -a "$out/ab.txt"
for flag in --aligned-only "" --aligned-only ""; do
  timeout 60 python tools/jobs/conv_width_ab.py "MambaIR classic SR x4, 720p out" --path bf16 $flag 2>&1 | tail -1 \
    | tee -a "$out/ab.txt"
done
timeout 220 python -m pytest -q -rf tests/engine/test_fold.py 2>&1 | grep -v "^SKIPPED" | tail -3 | tee "$out/tests.txt"
