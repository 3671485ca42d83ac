#!/usr/bin/env bash
# GPU issue, round 15C (2026-11-24): the depthwise-conv kernel in the models. GPU tests, then the GPU
# kernel time of one compiled bf16 forward at 180x320 per SR model, with the kernel and with cuDNN
# (use_triton patched off; the epilogues then run as PyTorch ops, fused by Inductor).
#   bash tools/jobs/perf15c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 240 python -m pytest -q -p no:cacheprovider tests/ops/test_depthwise_conv.py tests/archs/test_parity_gpu.py \
  2>&1 | tail -4 | tee "$out/tests.txt"
for card in mambair-sr-x4 mambairv2-base-x4 mambair-light-x4 mambairv2-light-x4; do
  for kernel in on off; do
    echo "== $card depthwise kernel $kernel" | tee -a "$out/profile.txt"
    timeout 150 python -c "
import runpy, sys
import restore_cli.ops.depthwise_conv as d
if '$kernel' == 'off':
    d.use_triton = lambda x: False
sys.argv = ['profile_model.py', '$card', '180', '320', '--path', 'bf16+compile', '--top', '8']
runpy.run_path('benchmarks/profile_model.py', run_name='__main__')
" 2>&1 | grep -v -i warn | tee -a "$out/profile.txt"
  done
done
