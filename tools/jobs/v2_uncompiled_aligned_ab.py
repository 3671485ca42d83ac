"""MambaIRv2 Base without ``--compile`` (the default CUDA path, bf16): at its own widths (174 channels,
heads of 29: cuBLAS's 2-element-aligned GEMMs, the window kernel's scalar loads) against the body padded
to aligned widths (``align_channels``, what ``--compile`` does; same function). 720p output and 4K in
tiles of 270, wall time through the engine, and agreement with the float32 reference.

    python tools/jobs/v2_uncompiled_aligned_ab.py
"""

from __future__ import annotations

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import _timed, photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor

CARD = "mambairv2-base-x4"


def main() -> None:
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for label, h, w, tile in [("720p out", 180, 320, 0), ("4K out, tiles of 270", 540, 960, 270)]:
        x = photo_input(h, w, torch.device("cpu"))
        net = seeded_model(CARD, dev)
        configure_scan(net, backend="triton", fused_cross_scan=False)
        reference = wrap_module(net, arch=CARD, device=dev, precision="fp32", cuda_graphs=False)
        _, want = _timed(lambda m=reference, x=x, t=tile: restore_tensor(m, x, tile=t, overlap=16), 1)
        configure_scan(net, backend="triton", fused_cross_scan=True)
        for aligned in (False, True):
            if aligned:
                net.align_channels()
            model = wrap_module(net, arch=CARD, device=dev, precision="bf16")
            ms, got = _timed(lambda m=model, x=x, t=tile: restore_tensor(m, x, tile=t, overlap=16, batch_size=1), 5)
            rel = ((got - want).norm() / want.norm()).item()
            print(f"| {label} | {'aligned' if aligned else 'own widths'} | {ms:.1f} ms | rel {rel:.1e} |", flush=True)


if __name__ == "__main__":
    main()
