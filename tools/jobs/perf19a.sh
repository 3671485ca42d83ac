#!/usr/bin/env bash
# GPU issue, round 19A (to run): MambaIR classic's pixelshuffle head on channels-last tensors, nn.PixelShuffle
# vs one permute of the channels-last storage (perf18a.sh, the drift bisector, is its own command: it needs
# the whole ten minutes).   bash tools/jobs/perf19a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 90 python tools/jobs/pixel_shuffle_layout_ab.py 2>&1 | grep "^|\|torch\|channels-last" | tee "$out/pixel-shuffle-layout.txt"
