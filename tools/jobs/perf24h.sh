#!/usr/bin/env bash
# Twenty-fourth session: time chunks at 128 programs per SM for the four routes in blocks (MambaIR DN/JPEG), in
# the compiled colour-DN model against the previous module (_scan_prev.py: HEAD before it), then the DN rows.
#   bash tools/jobs/perf24h.sh "$OUT"      (carry: tools/jobs/_scan_prev.py)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 120 python tools/jobs/scan_in_model_ab.py mambair-dn-color-s25 720 1280 tools/jobs/_scan_prev.py 2>&1 \
  | tail -3 | tee "$out/dn-in-model.txt"
timeout 250 python benchmarks/bench_models.py --match "colour DN, 1280x720" --paths bf16+compile 2>&1 \
  | grep "^|" | tee "$out/dn-bench.txt"
