#!/usr/bin/env bash
# The deblurring corpus of rounds 8-12 on the device: the 83 photos of corpus-s and the 31 larger ones of
# corpus-x (each carried in its own device call: together they exceed one call's 64 MiB), with corpus-s's
# 7 validation photos. From the repository root: bash tools/jobs/assemble-corpus-m7.sh
set -eu
mkdir -p corpus-m7/train
cp corpus-s/train/* corpus-x/train/* corpus-m7/train/
rm -rf corpus-m7/val && cp -r corpus-s/val corpus-m7/val
echo "train $(ls corpus-m7/train | wc -l) val $(ls corpus-m7/val | wc -l)"
