#!/usr/bin/env bash
# GPU issue, round 16A (2026-11-24): the depthwise-conv kernel by runs of pixels (each input pixel loaded
# and widened once per kernel row, used by up to k outputs), GPU tests + A/B against the previous kernel and
# cuDNN; MambaIRv2 light's window attention under launch settings.   bash tools/jobs/perf16a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name --format=csv,noheader | tee "$out/device.txt"
timeout 200 python -m pytest -q -x tests/ops/test_depthwise_conv.py 2>&1 | tail -4 | tee "$out/tests.txt"
timeout 200 python tools/jobs/depthwise_conv_kernel_ab.py 2>&1 | tee "$out/depthwise.txt"
timeout 120 python tools/jobs/window_attention_kernel_ab.py light 2>&1 | tee "$out/window-light.txt"
