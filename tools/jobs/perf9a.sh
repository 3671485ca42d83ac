#!/usr/bin/env bash
# GPU issue, next session's first call (prepared 2026-11-23, eighth session): the whole GPU scan test suite
# on the final kernel (the eighth session's run of it was cut by its time limit at 20 of 123 tests, all
# passed), then the colour-DN memory-bounded case (tiles of 512, new in restore_cli.bench) against the
# whole image. One device command, results under $OUT.
#   bash tools/jobs/perf9a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
timeout 330 python -m pytest -m gpu tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider > "$out/test_scan_gpu.txt" 2>&1
tail -3 "$out/test_scan_gpu.txt"
timeout 240 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_dn.txt" | tail -8
