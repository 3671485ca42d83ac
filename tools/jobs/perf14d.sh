#!/usr/bin/env bash
# GPU issue, round 14D (2026-11-24): MambaIRv2's window attention kernel with key blocks and an online
# softmax (the whole 64 x 256 score row had held 255 registers and spilled). GPU tests, the attention
# alone under launch settings, then GPU kernel time of MambaIRv2 Base and light at 180x320 (bf16 +
# compile) with it and with tools/jobs/ab14w.patch reversed.   bash tools/jobs/perf14d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -p no:cacheprovider tests/ops/test_window_attention.py 2>&1 | tail -2 | tee "$out/tests.txt"
timeout 150 python tools/jobs/window_attention_kernel_ab.py 2>&1 | grep -v Warn | tee "$out/attention_ab.txt"
profile() {
  timeout 100 python benchmarks/profile_model.py "$1" 180 320 --path bf16+compile --top 12 2>&1 | grep -v Warn \
    > "$out/$2-$1.txt"
  echo "$2 $1: $(grep -h 'median\|GPU kernel' "$out/$2-$1.txt" | tr '\n' ' ')"
}
for card in mambairv2-base-x4 mambairv2-light-x4; do profile $card new; done 2>&1 | tee "$out/models.txt"
patch -s -R -p1 < tools/jobs/ab14w.patch
for card in mambairv2-base-x4 mambairv2-light-x4; do profile $card head; done 2>&1 | tee -a "$out/models.txt"
patch -s -p1 < tools/jobs/ab14w.patch
