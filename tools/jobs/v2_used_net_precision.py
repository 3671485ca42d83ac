"""MambaIRv2 Base, bf16 + compile, 4K photo in tiles of 270 (batches of 4) through ``restore_tensor``,
against the float32 reference made by a separate network: a fresh network compiled, and one that first ran
the reference path itself (as ``restore bench`` does), then was compiled.

    python tools/jobs/v2_used_net_precision.py
"""

from __future__ import annotations

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor

CARD = "mambairv2-base-x4"


def main() -> None:
    dev = torch.device("cuda")
    x = photo_input(540, 960, torch.device("cpu"))

    def reference_run(net):
        configure_scan(net, backend="triton", fused_cross_scan=False)
        model = wrap_module(net, arch=CARD, device=dev, precision="fp32", cuda_graphs=False, compile=False)
        return restore_tensor(model, x, tile=270, overlap=16, batch_size=4)

    def compiled_run(net, batch):
        configure_scan(net, backend="triton", fused_cross_scan=True)
        model = wrap_module(net, arch=CARD, device=dev, precision="bf16", cuda_graphs=False, compile=True)
        model.extra.pop("tile_batch_limit", None)  # batches of tiles, as before compiled_tile_batch
        return restore_tensor(model, x, tile=270, overlap=16, batch_size=batch)

    ref = reference_run(seeded_model(CARD, dev))
    for label, used, batch in [("fresh net", False, 4), ("net that ran the reference first", True, 4),
                               ("fresh net, bf16 eager", False, 0)]:
        torch._dynamo.reset()
        net = seeded_model(CARD, dev)
        if used:
            reference_run(net)
        if batch == 0:
            configure_scan(net, backend="triton", fused_cross_scan=True)
            model = wrap_module(net, arch=CARD, device=dev, precision="bf16", cuda_graphs=False, compile=False)
            out = restore_tensor(model, x, tile=270, overlap=16, batch_size=4)
        else:
            out = compiled_run(net, batch)
        d = out - ref
        print(f"{label}: rel {(d.norm() / ref.norm()).item():.1e} max abs {d.abs().max().item():.1e}", flush=True)


if __name__ == "__main__":
    main()
