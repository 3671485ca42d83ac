#!/usr/bin/env bash
# GPU issue, round 8E (2026-11-23, eighth session): the final scan kernel (B/C read as stored, prefetch 1,
# one warp: 8D's A/B) through the cross-scan GPU tests, then MambaIR v1 end to end for the README table.
#   bash tools/jobs/perf8e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -m "gpu and not slow" tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider -k "cross or triton_matches" \
  > "$out/test_scan_gpu.txt" 2>&1
tail -3 "$out/test_scan_gpu.txt"
timeout 240 python benchmarks/bench_models.py --quick --match "MambaIR " --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_v1.txt" | tail -12
