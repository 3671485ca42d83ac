#!/usr/bin/env bash
# Twenty-eighth session, final code: the colour DN rows (whole image with δ made in the kernel and in_proj
# split, 512 px tiles) and MambaIR light's 720p row (δ in the kernel), each against the reference pattern.
#   bash tools/jobs/perf28f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 390 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16+compile 2>&1 \
  | grep "^|" | tee "$out/bench-dn.txt"
timeout 180 python benchmarks/bench_models.py --match "MambaIR light SR x4, 720p" --paths reference,bf16+compile 2>&1 \
  | grep "^|" | tee "$out/bench-light.txt"
