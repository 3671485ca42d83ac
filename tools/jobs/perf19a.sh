#!/usr/bin/env bash
# GPU issue, round 19A (to run): MambaIR classic's pixelshuffle head on channels-last tensors, nn.PixelShuffle
# vs one permute of the channels-last storage; then the compiler bisector on the MambaIRv2 batch drift
# (round 18A, not run yet).   bash tools/jobs/perf19a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 90 python tools/jobs/pixel_shuffle_layout_ab.py 2>&1 | grep "^|\|torch\|channels-last" | tee "$out/pixel-shuffle-layout.txt"
bash tools/jobs/perf18a.sh "$out"
