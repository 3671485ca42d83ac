"""MambaIRv2 Base, bf16 + compile, four 192x256 tiles in one batch (the 4K benchmark's batches) against the
float32 reference (four different crops of the benchmark's photo: a first run with one photo plus noise in
all four slots hid the drift): the compiled path drifted to 5e-3 rel L2 while batch 1 and the uncompiled batch of 4 stay
at 6e-4. Each variant swaps one kernel for its PyTorch computation (or the chunk cap for the old one) in a
fresh network, compiled anew.

    python tools/jobs/v2_batch_compiled_bisect.py [variant ...]
"""

from __future__ import annotations

import sys

import torch
import triton

import restore_cli.ops.depthwise_conv as depthwise
import restore_cli.ops.layer_norm as layer_norm
import restore_cli.ops.scan.triton as scan_triton
import restore_cli.ops.window_attention as window_attention
from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module


def old_n_chunks(programs, length, *, sm_count=132, per_sm=48, per_thread=1):
    wanted = triton.cdiv(per_sm * sm_count, max(1, programs))
    return max(1, min(wanted, 256 if per_thread >= 2 else 160, length // 64))


PATCHES = {
    "shipped": [],
    "no-depthwise-kernel": [(depthwise, "use_triton", lambda x: False)],
    "no-window-kernel": [(window_attention, "use_triton", lambda *a: False)],
    "no-layernorm-kernel": [(layer_norm, "use_triton", lambda *a: False)],
    "old-chunk-cap": [(scan_triton, "default_n_chunks", old_n_chunks)],
    "not-aligned": "not-aligned",
}


def main(names: list[str]) -> None:
    dev = torch.device("cuda")
    torch.manual_seed(0)
    photo = photo_input(540, 960, torch.device("cpu"))[0]
    # the benchmark's first batch: tiles of 192 x 256 (plan_tiles for 540 x 960, tile 270, overlap 16)
    tiles = torch.stack([photo[:, :192, x : x + 256] for x in (0, 235, 469, 704)])
    net = seeded_model("mambairv2-base-x4", dev)
    configure_scan(net, backend="triton", fused_cross_scan=False)
    with torch.inference_mode():
        ref = net(tiles.to(dev)).float()
    for name in names:
        patches = PATCHES[name]
        saved = [] if patches == "not-aligned" else [(m, a, getattr(m, a)) for m, a, _ in patches]
        for m, a, v in [] if patches == "not-aligned" else patches:
            setattr(m, a, v)
        torch._dynamo.reset()
        net = seeded_model("mambairv2-base-x4", dev)
        if patches == "not-aligned":
            net.align_channels = None
        configure_scan(net, backend="triton", fused_cross_scan=True)
        model = wrap_module(net, arch="mambairv2-base-x4", device=dev, precision="bf16", cuda_graphs=False,
                            compile=True)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            out = model.module(tiles.to(dev)).float()
            single = model.module(tiles[:1].to(dev)).float() if name == "shipped" else None
        per_image = [f"{((out[i] - ref[i]).norm() / ref[i].norm()).item():.1e}" for i in range(4)]
        alone = "" if single is None else f"; image 0 alone {((single[0] - ref[0]).norm() / ref[0].norm()).item():.1e}"
        print(f"{name}: batch of 4 rel per image {' '.join(per_image)}{alone}", flush=True)
        for m, a, v in saved:
            setattr(m, a, v)


if __name__ == "__main__":
    main(sys.argv[1:] or list(PATCHES))
