"""MambaIRv2 Base, bf16 + compile, the 4K photo's tiles of 270 in batches of 4: each tile's output
through ``engine.run.forward`` and through a direct call of the network, against the float32 output of the
same tile, to find where the batch's error comes from (3.6e-3 rel L2 through restore_tensor, 6e-4 direct).

    python tools/jobs/v2_tiles_forward_precision.py
"""

from __future__ import annotations

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import forward
from restore_cli.engine.tiling import plan_tiles

CARD = "mambairv2-base-x4"


def rel(a: torch.Tensor, b: torch.Tensor) -> str:
    return f"{((a - b).norm() / b.norm()).item():.1e}"


def main() -> None:
    dev = torch.device("cuda")
    x = photo_input(540, 960, torch.device("cpu"))
    tiles = plan_tiles(540, 960, 270, 16)
    print("tiles", [(t.y0, t.y1, t.x0, t.x1) for t in tiles], flush=True)
    crops = [x[:, :, t.y0 : t.y1, t.x0 : t.x1] for t in tiles]
    net = seeded_model(CARD, dev)
    configure_scan(net, backend="triton", fused_cross_scan=False)
    with torch.inference_mode():
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        refs = [net(c.to(dev)).float().cpu() for c in crops]
    net = seeded_model(CARD, dev)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    model = wrap_module(net, arch=CARD, device=dev, precision="bf16", cuda_graphs=False, compile=True)
    batches = [torch.cat(crops[i : i + 4]) for i in range(0, len(crops), 4)]
    for repeat in range(2):
        for b, batch in enumerate(batches):
            via_forward = forward(model, batch)
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                direct = net(batch.to(dev)).float().cpu()
            rows = [f"{rel(via_forward[i:i + 1], refs[4 * b + i])}/{rel(direct[i:i + 1], refs[4 * b + i])}"
                    for i in range(batch.shape[0])]
            print(f"call {repeat} batch {b}: forward/direct rel per tile {' '.join(rows)}", flush=True)
    for i, crop in enumerate(crops[:2]):
        print(f"tile {i} alone: forward {rel(forward(model, crop), refs[i])}", flush=True)


if __name__ == "__main__":
    main()
