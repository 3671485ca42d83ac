#!/usr/bin/env bash
# GPU issue, prepared in the ninth session (2026-11-23) for the next device call: the colour-DN memory
# case through tiles of 512 one at a time (the ninth session measured four per pass: 10.5 GiB bf16, more
# than the whole image's 9.4), against the whole image, on the three paths. One device command.
#   bash tools/jobs/perf10a.sh "$OUT" [all|checks|bench]
# `checks` (the GPU training tests and the automatic tile: memory, not time) may run beside a training
# job; `bench` (timings) needs the GPU to itself.
set -u
out=${1:?OUT}
part=${2:-all}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
if [[ $part != checks ]]; then
timeout 300 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_dn.txt" | tail -8
fi
[[ $part == bench ]] && exit 0
# --grad-checkpoint (ninth session, CPU-tested only) on the GPU, eager and compiled
timeout 150 python -m pytest -m gpu tests/train/test_train_gpu.py -q -p no:cacheprovider 2>&1 | tail -3 | tee "$out/train_gpu.txt"
# The automatic tile (per-family memory estimates, ninth session, not yet run on a GPU): the side it
# picks and the peak it reaches, for the benchmark cases without a tile, in bf16.
timeout 240 python - <<'PY' 2>&1 | tee "$out/auto_tile.txt"
import torch
from restore_cli.bench import DEFAULT_CASES, photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import auto_tile, restore_tensor
dev = torch.device("cuda")
for case in [c for c in DEFAULT_CASES if not c.tile]:
    net = seeded_model(case.card_id, dev)
    model = wrap_module(net, arch=net.__class__.__name__, device=dev, precision="bf16")
    x = photo_input(case.height * 3, case.width * 3, torch.device("cpu"))  # 3x the case's side
    torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(dev)
    side = auto_tile(model, x.shape[-2], x.shape[-1])
    restore_tensor(model, x)
    print(f"{case.label}: input {tuple(x.shape[-2:])}, auto tile {side}, peak "
          f"{torch.cuda.max_memory_allocated(dev) / 2**30:.1f} GiB of {torch.cuda.mem_get_info(dev)[1] / 2**30:.0f}")
    del net, model
PY
