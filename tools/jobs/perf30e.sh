#!/usr/bin/env bash
# Thirtieth session: the channel-mean kernel's GPU tests and the model paths that use it, then the CAB's
# channel means by the kernel against PyTorch's mean (tools/jobs/channel_mean_ab.py), default CUDA path,
# alternated twice.
#   bash tools/jobs/perf30e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -rf tests/ops/test_channel_mean.py tests/engine/test_fold.py \
  tests/archs/test_parity_gpu.py -k "not compiled" 2>&1 | grep -v "^SKIPPED" | tail -3 | tee "$out/perf30e-tests.txt"
for case in "MambaIR classic SR x4, 720p out" "MambaIR light SR x4, 720p out"; do
  for flag in --torch "" --torch ""; do
    timeout 60 python tools/jobs/channel_mean_ab.py "$case" $flag 2>&1 | tail -1 | tee -a "$out/perf30e-ab.txt"
  done
done
for flag in --torch "" --torch ""; do
  timeout 60 python tools/jobs/channel_mean_ab.py "MambaIR colour DN, 1280x720" $flag --repeats 5 2>&1 | tail -1 \
    | tee -a "$out/perf30e-ab.txt"
done
