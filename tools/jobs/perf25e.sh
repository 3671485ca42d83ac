#!/usr/bin/env bash
# Twenty-fifth session: the route lanes' output pass at 64 registers (N <= 10) with one wave of 32 programs per
# SM, and lane chunks of at most 300 steps, against HEAD (_scan_prev.py): GPU scan tests (lanes, padded N),
# the scan alone (light 720p/4K, realdn's 72-channel level, which keeps 24 per SM but gets the shorter chunks),
# the compiled light model at 720p and 4K, and the light benchmark rows.
#   bash tools/jobs/perf25e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -x tests/ops/test_scan_gpu.py -k "lanes or below or cross_triton or carry" 2>&1 | tail -2 | tee "$out/tests.txt"
timeout 200 python tools/jobs/scan_softplus_ab.py --4k --realdn 2>&1 | grep "^|" | tee "$out/scan-ab.txt"
timeout 100 python tools/jobs/scan_variants_ab.py "MambaIR realdn level 1" --realdn "2458:n_chunks=2458" "default:" \
  2>&1 | tail -1 | tee -a "$out/scan-ab.txt"
for size in "180 320" "540 960"; do
  timeout 200 python tools/jobs/scan_in_model_ab.py mambair-light-x4 $size 2>&1 | grep " ms\|GPU time" | tee -a "$out/in-model.txt"
done
timeout 250 python benchmarks/bench_models.py --repeats 7 --match "MambaIR light" --paths bf16+compile 2>&1 | grep "^|" | tee "$out/bench.txt"
