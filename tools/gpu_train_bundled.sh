#!/usr/bin/env bash
# Train the small bundled models (light MambaIR) for SR x2/x3/x4, blind Gaussian denoising and blind JPEG
# artefact removal on one GPU, five runs at once. From the repository root:
#   python tools/build_corpus.py corpus --format webp --max-side 1024
#   bash tools/gpu_train_bundled.sh [MINUTES] [STEPS]
# Exports land in runs/<name>/export/<id>.{safetensors,toml}.
set -u
minutes=${1:-8}
steps=${2:-3000}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p runs
common=(--arch mambair-light --data "${CORPUS:-corpus}" --batch-size 16 --max-steps "$steps" --lr "${LR:-4e-4}" --max-minutes "$minutes"
        --export-on-stop --val-every 1000 --val-crop 256 --workers 2)
for s in 2 3 4; do
  python -m restore_cli train --task sr --scale "$s" --patch $((48 * s)) "${common[@]}" \
    --out "runs/sr-x$s" --export-id "restore-sr-x$s" > "runs/sr-x$s.log" 2>&1 &
done
python -m restore_cli train --task denoise --degrade noise:0-50 --val-degrade noise:25 --patch 64 "${common[@]}" \
  --out runs/denoise --export-id restore-denoise > runs/denoise.log 2>&1 &
python -m restore_cli train --task jpeg --degrade jpeg:10-50 --val-degrade jpeg:20 --patch 64 "${common[@]}" \
  --out runs/jpeg --export-id restore-jpeg > runs/jpeg.log 2>&1 &
wait
tail -n 2 runs/*.log
