#!/usr/bin/env bash
# Train the in-house ACL and LAformer models for deraining and deblurring on one GPU, four runs at once
# (each model is small; one H100 has room for all four). Usage, from the repository root:
#   python tools/build_corpus.py corpus --format webp --max-side 1024
#   bash tools/gpu_train_derain_deblur.sh [MINUTES] [ACL_STEPS] [LAFORMER_STEPS]
# Exports land in runs/<task>-<arch>/export/restore-<task>-<arch>.{safetensors,toml}.
set -u
minutes=${1:-7.5}
acl_steps=${2:-2000}
laformer_steps=${3:-2500}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p runs
for spec in "derain ACL" "derain LAformer" "deblur ACL" "deblur LAformer"; do
  set -- $spec
  id="restore-$1-$(echo "$2" | tr '[:upper:]' '[:lower:]')"
  python -m restore_cli train --task "$1" --arch "$2" --data "${CORPUS:-corpus}" --patch 128 --batch-size 8 \
    --max-steps "$([ "$2" = ACL ] && echo "$acl_steps" || echo "$laformer_steps")" --export-on-stop --max-minutes "$minutes" --val-every 1000 --val-crop 256 --workers 3 \
    --out "runs/$1-$2" --export-id "$id" > "runs/$1-$2.log" 2>&1 &
done
wait
tail -n 3 runs/*.log
