"""MambaIRv2 Base with aligned widths (``align_channels``), four 192x256 tiles in one batch, uncompiled,
bf16 and float32, against the float32 reference: is the batch-of-4 drift of the compiled path in the
aligned network itself or in its compiled form?

    python tools/jobs/v2_aligned_batch_precision.py
"""

from __future__ import annotations

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.run import exact_fp32

CARD = "mambairv2-base-x4"


def main() -> None:
    dev = torch.device("cuda")
    photo = photo_input(540, 960, torch.device("cpu"))[0]
    tiles = torch.stack([photo[:, :192, x : x + 256] for x in (0, 235, 469, 704)]).to(dev)
    net = seeded_model(CARD, dev)
    configure_scan(net, backend="triton", fused_cross_scan=False)
    with torch.inference_mode(), exact_fp32():
        ref = net(tiles).float()
    net = seeded_model(CARD, dev)
    net.align_channels()
    for fused in (True, False):
        configure_scan(net, backend="triton", fused_cross_scan=fused)
        for batch in (4, 1):
            for dtype in (torch.float32, torch.bfloat16):
                with torch.inference_mode(), exact_fp32(), torch.autocast("cuda", dtype=dtype,
                                                                         enabled=dtype != torch.float32):
                    out = torch.cat([net(tiles[i : i + batch]).float() for i in range(0, 4, batch)])
                rels = " ".join(f"{((out[i] - ref[i]).norm() / ref[i].norm()).item():.1e}" for i in range(4))
                print(f"aligned, fast path {fused}, batch {batch}, {dtype}: rel per tile {rels}", flush=True)


if __name__ == "__main__":
    main()
