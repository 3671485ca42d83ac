#!/usr/bin/env bash
# For the next session: the GPU tests of ROUTE_BLOCK_PAIRS (and the remaining test_compile.py GPU tests,
# which the thirty-first session's time limit cut), then its A/B on colour DN through the engine,
# alternated twice (tools/jobs/route_block_pairs_ab.py), whole and in 512 px tiles.
#   bash tools/jobs/perf32a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -rf tests/ops/test_scan_gpu.py -k "route_blocks or low_rank" 2>&1 | grep -v "^SKIPPED" \
  | tail -3 | tee "$out/perf32a-tests.txt"
for case in "MambaIR colour DN, 1280x720" "MambaIR colour DN, 1280x720 (tiles 512, one at a time)"; do
  for flag in "" --pairs "" --pairs; do
    timeout 60 python tools/jobs/route_block_pairs_ab.py "$case" $flag --repeats 5 2>&1 | tail -1 \
      | tee -a "$out/perf32a-ab.txt"
  done
done
