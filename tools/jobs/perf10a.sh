#!/usr/bin/env bash
# GPU issue, prepared in the ninth session (2026-11-23) for the next device call: the colour-DN memory
# case through tiles of 512 one at a time (the ninth session measured four per pass: 10.5 GiB bf16, more
# than the whole image's 9.4), against the whole image, on the three paths. One device command.
#   bash tools/jobs/perf10a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
timeout 300 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_dn.txt" | tail -8
