#!/usr/bin/env bash
# Thirty-first session: the upsampling tail in row bands (RestorationNet.tail_band_pixels). MambaIR classic
# x4 at 4K whole and in tiles, MambaIRv2 Base x4 at 4K whole: time and peak on both paths against the
# reference in the same run.
#   bash tools/jobs/perf31b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for match in "MambaIR classic SR x4, 4K" "MambaIRv2 Base SR x4, 4K out (whole)"; do
  timeout 280 python benchmarks/bench_models.py --match "$match" --paths reference,bf16,bf16+compile 2>&1 \
    | grep "^|\|Device\|memory\|failed"
done | tee "$out/perf31b-bench-4k-bands.txt"
