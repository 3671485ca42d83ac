#!/usr/bin/env bash
# GPU issue, round 8H (2026-11-23, eighth session): the walk's prefetch as two alternating register sets
# (prefetch=2, now the default: no hand-over copies that wait for the loads; offline sm_90 build 72
# registers in the output pass instead of 90). GPU tests, an interleaved A/B of prefetch 1 vs 2, then
# MambaIR v1 end to end. (Run on 2026-11-23 with a 100 s test limit, which a cold machine's Triton
# compilation cut at 20 of 123 tests, all passed; now 300 s.)
#   bash tools/jobs/perf8h.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 300 python -m pytest -m "gpu and not slow" tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider \
  -k "cross or triton_matches" > "$out/test_scan_gpu.txt" 2>&1
tail -2 "$out/test_scan_gpu.txt"
for case in "bfloat16 360" "bfloat16 120" "float32 360"; do
  set -- $case
  timeout 30 python benchmarks/bench_scan.py --dtype "$1" --cross-dim "$2" --ab prefetch=1 --ab prefetch=1,n_chunks=256 \
    --ab prefetch=2 --ab prefetch=2,n_chunks=256
done 2>&1 | tee "$out/ab.txt"
timeout 200 python benchmarks/bench_models.py --quick --match "MambaIR " --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_v1.txt" | tail -10
