#!/usr/bin/env bash
# GPU issue, round 13D (2026-11-24): MambaIRv2's window attention as one Triton kernel. GPU tests, the
# attention alone (tools/jobs/window_attention_kernel_ab.py), then MambaIRv2 at 720p with bf16 + --compile
# on this tree and with tools/jobs/ab13w.patch reversed (the layer's kernel path off), GPU kernel time.
#   bash tools/jobs/perf13d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -p no:cacheprovider tests/ops/test_window_attention.py 2>&1 | tail -4 | tee "$out/tests.txt"
timeout 100 python tools/jobs/window_attention_kernel_ab.py 2>&1 | grep -v Warn | tee "$out/attention_ab.txt"
profile() {
  timeout 110 python benchmarks/profile_model.py "$1" 180 320 --path bf16+compile --top 30 2>&1 | grep -v Warn \
    > "$out/$2-$1.txt"
  echo "$2 $1: $(grep -h 'median\|GPU kernel' "$out/$2-$1.txt" | tr '\n' ' ')"
}
for card in mambairv2-base-x4 mambairv2-light-x4; do profile $card new; done
patch -s -R -p1 < tools/jobs/ab13w.patch
for card in mambairv2-base-x4; do profile $card head; done
patch -s -p1 < tools/jobs/ab13w.patch
