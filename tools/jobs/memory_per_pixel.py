"""Peak device memory per input pixel of a whole-image forward on the CLI's CUDA path (what the automatic
tile's estimate, ``restore_cli.engine.run.bytes_per_input_pixel``, stands for): the peak over a first
three calls (the eager warm-up and the CUDA graph's capture among them: a replay allocates nothing, so a
peak taken over replays alone misses the graph's memory) less the weights, over the input's pixels, at two
sizes per card. Seeded weights (``bench.seeded_model``), a photo input, batch 1.

    python tools/jobs/memory_per_pixel.py [--precisions bf16,fp32] [--cards mambairv2]
"""

from __future__ import annotations

import argparse

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor

CASES = (  # card, then two input sizes
    ("mambair-sr-x4", (270, 480), (540, 960)),
    ("mambair-light-x4", (270, 480), (540, 960)),
    ("mambair-dn-color-s25", (360, 640), (720, 1280)),
    ("mambairv2-base-x4", (270, 480), (540, 960)),
    ("mambairv2-light-x4", (270, 480), (540, 960)),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--precisions", default="bf16,fp32")
    parser.add_argument("--cards", default="", help="only the cards whose id contains this")
    args = parser.parse_args()
    dev = torch.device("cuda")
    print(f"{torch.cuda.get_device_name()}; torch {torch.__version__}")
    print("| card | precision | input | peak GiB | weights MiB | bytes per input pixel |")
    print("|---|---|---|---|---|---|")
    for card, *sizes in (case for case in CASES if args.cards in case[0]):
        for precision in args.precisions.split(","):
            for h, w in sizes:  # a fresh model per size: no graphs of another size held
                net = seeded_model(card, dev)
                configure_scan(net, backend="triton", fused_cross_scan=True)
                model = wrap_module(net, arch=card, device=dev, precision=precision)
                x = photo_input(h, w, torch.device("cpu"))
                torch.cuda.empty_cache()
                weights = torch.cuda.memory_allocated(dev)
                torch.cuda.reset_peak_memory_stats(dev)
                for _ in range(3):
                    restore_tensor(model, x, tile=0)
                torch.cuda.synchronize()
                peak = torch.cuda.max_memory_allocated(dev)
                print(f"| {card} | {precision} | {h}x{w} | {peak / 2**30:.2f} | {weights / 2**20:.0f} | "
                      f"{(peak - weights) / (h * w):,.0f} |", flush=True)
                del model, net
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
