"""The case of the compiled MambaIRv2 batch drift, shared by the job scripts that study it: MambaIRv2 Base
(seeded, aligned widths, fused scans) on four 192x256 tiles of the 4K benchmark photo, and the inputs its
first shifted-window layer receives under bf16 autocast."""

from __future__ import annotations

import torch
from torch import nn

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model

CARD = "mambairv2-base-x4"


def drift_network() -> tuple[nn.Module, torch.Tensor]:
    """(network, the four tiles) on CUDA."""
    dev = torch.device("cuda")
    photo = photo_input(540, 960, torch.device("cpu"))[0]
    tiles = torch.stack([photo[:, :192, x : x + 256] for x in (0, 235, 469, 704)]).to(dev)
    net = seeded_model(CARD, dev)
    net.align_channels()
    configure_scan(net, backend="triton", fused_cross_scan=True)
    return net, tiles


def drift_case(prepare_layer=None) -> tuple[nn.Module, nn.Module, tuple]:
    """(network, its layer 1, that layer's captured inputs at a batch of four tiles) on CUDA.

    ``prepare_layer``: called on the layer before the inputs are captured (e.g. to swap a part of it).
    """
    net, tiles = drift_network()
    layer = net.layers[0].residual_group.layers[1]
    if prepare_layer is not None:
        prepare_layer(layer)
    captured = {}
    handle = layer.register_forward_pre_hook(lambda m, a: captured.setdefault("args", a))
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        net(tiles)
    handle.remove()
    return net, layer, captured["args"]
