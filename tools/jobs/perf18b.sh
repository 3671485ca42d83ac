#!/usr/bin/env bash
# GPU issue, round 18B (to run): the window-attention kernel with a constant head width, compare-and-subtract
# rolls and the mask only on edge windows, against its previous version; the counting-sort token grouping
# against sort + scatter; their GPU tests; then MambaIRv2's GPU kernel time per compiled 720p forward (round
# 17: light 10.5 ms, Base 68.1 ms; autotuned light 9.5).   bash tools/jobs/perf18b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
prev=restore_cli/ops/window_attention/triton_previous.py
cp restore_cli/ops/window_attention/triton.py "$prev" && patch -s -R "$prev" tools/jobs/wa18.patch
timeout 200 python tools/jobs/window_attention_previous_ab.py 2>&1 | grep "^|\|torch" | tee "$out/window-attention-ab.txt"
rm -f "$prev"
timeout 60 python tools/jobs/class_order_ab.py 2>&1 | grep "^|\|torch" | tee "$out/class-order-ab.txt"
timeout 200 python -m pytest -q tests/ops/test_window_attention.py tests/ops/test_class_order.py \
  tests/archs/test_mambair_v2.py 2>&1 | tail -1 | tee "$out/tests.txt"
for card in mambairv2-light-x4 mambairv2-base-x4; do
  timeout 150 python tools/jobs/v2_compile_options_ab.py $card aligned 2>&1 | grep "^mambair" | tee -a "$out/v2-kernels.txt"
done
