#!/usr/bin/env bash
# Twenty-fourth session: route lanes only where they save a fifth of the programs (not MambaIR DN/JPEG's
# 216 channels). In-model scan against a5ae93e (no lanes) for DN and light; then the DN and light rows.
#   bash tools/jobs/perf24b.sh "$OUT"      (carry: tools/jobs/_scan_at_a5ae93e.py)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 110 python tools/jobs/scan_in_model_ab.py mambair-dn-color-s25 720 1280 tools/jobs/_scan_at_a5ae93e.py 2>&1 \
  | tail -3 | tee "$out/in-model.txt"
timeout 80 python tools/jobs/scan_in_model_ab.py mambair-light-x4 180 320 tools/jobs/_scan_at_a5ae93e.py 2>&1 \
  | tail -3 | tee -a "$out/in-model.txt"
timeout 300 python benchmarks/bench_models.py --match "colour DN, 1280x720|MambaIR light SR x4, 720p" --paths bf16+compile 2>&1 \
  | grep "^|" | tee "$out/bench.txt"
