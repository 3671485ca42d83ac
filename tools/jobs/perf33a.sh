#!/usr/bin/env bash
# For the next session: the GPU tests of the fused channel attention, then its A/B through the engine on
# MambaIR light, classic and colour DN (tools/jobs/channel_attention_ab.py), alternated twice. If faster:
# FUSED_ATTENTION on (restore_cli/ops/channel_mean/__init__.py), docs, CHANGELOG, README.
#   bash tools/jobs/perf33a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python -m pytest -q -rf tests/ops/test_channel_mean.py 2>&1 | grep -v "^SKIPPED" | tail -3 \
  | tee "$out/perf33a-tests.txt"
for round in 1 2; do
  for case in "MambaIR light SR x4, 720p out" "MambaIR classic SR x4, 720p out" "MambaIR colour DN, 1280x720"; do
    for flag in "" --fused; do
      timeout 90 python tools/jobs/channel_attention_ab.py "$case" $flag --repeats 7 2>&1 | tail -1 \
        | tee -a "$out/perf33a-ab.txt"
    done
  done
done
