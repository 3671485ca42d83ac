#!/usr/bin/env bash
# GPU issue, round 14B (2026-11-24): two channels per thread in the scan as the default (block_d 64, chunk
# cap 256): GPU tests, then GPU kernel time of the four SR models at 180x320 (bf16 + compile), to set
# beside round 13's (tools/jobs/results/perf13-*.txt; kernel time is steady between runs, wall time is
# not); then MambaIRv2 Base with
# Inductor's forced GEMM shape padding (tools/jobs/v2_compile_options_ab.py).
#   bash tools/jobs/perf14b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 240 python -m pytest -q -p no:cacheprovider -x tests/ops/test_scan_gpu.py 2>&1 | tail -3 | tee "$out/tests.txt"
profile() {
  timeout 100 python benchmarks/profile_model.py "$1" 180 320 --path bf16+compile --top 12 2>&1 | grep -v Warn \
    > "$out/$2-$1.txt"
  echo "$2 $1: $(grep -h 'median\|GPU kernel' "$out/$2-$1.txt" | tr '\n' ' ')"
}
cards="mambair-sr-x4 mambair-light-x4 mambairv2-base-x4 mambairv2-light-x4"
for card in $cards; do profile $card new; done 2>&1 | tee "$out/models.txt"
timeout 280 python tools/jobs/v2_compile_options_ab.py mambairv2-base-x4 2>&1 | grep -v Warn | tee "$out/v2-options.txt"
