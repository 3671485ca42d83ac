"""Linear weights, and the blocks' convolution weights, stored in the autocast dtype
(:func:`restore_cli.engine.model.store_matmul_weights_in`) give every architecture the result that
autocast's per-forward casts give: no network here runs one of them outside autocast (CPU bf16 autocast;
the engine does this on CUDA in half precision)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from restore_cli.archs import from_official
from restore_cli.archs.acl import ACL
from restore_cli.archs.laformer import LAformer
from restore_cli.engine.compile import compile_targets
from restore_cli.engine.model import store_matmul_weights_in

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "parity" / "cases.json").read_text())


def _network(name: str) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    if name in ("ACL", "LAformer"):
        net, shape = {"ACL": ACL, "LAformer": LAformer}[name].variant("tiny"), [1, 3, 16, 16]
    else:
        net, shape = from_official(CASES[name]["official_class"], CASES[name]["kwargs"]), CASES[name]["input_shape"]
    return net.eval(), torch.rand(*shape)


@pytest.mark.parametrize("name", [*sorted(CASES), "ACL", "LAformer"])
def test_linear_weights_in_bf16_leave_the_autocast_result_unchanged(name: str) -> None:
    net, x = _network(name)
    assert net.matmuls_under_autocast  # the engine asks this before it casts
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        before = net(x)
        layers = store_matmul_weights_in(net, torch.bfloat16)
        after = net(x)
    assert layers > 0 or name == "LAformer"  # LAformer is convolutions only
    assert all(m.weight.dtype == torch.bfloat16 for m in net.modules() if isinstance(m, nn.Linear))
    block_convs = [m for block in compile_targets(net) for m in block.modules() if isinstance(m, nn.Conv2d)]
    for conv in block_convs:  # depthwise convs keep float32 (the depthwise kernel reads float32 weights)
        depthwise = conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels
        assert conv.weight.dtype == (torch.float32 if depthwise else torch.bfloat16)
    if hasattr(net, "conv_first"):
        assert net.conv_first.weight.dtype == torch.float32  # the head runs in float32 on purpose
    assert torch.equal(before, after)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_engine_stores_them_in_half_precision_on_cuda() -> None:
    from restore_cli.engine.model import use_workspace_free_cublas, wants_workspace_free_cublas, wrap_module

    net, x = _network("v2_sr_x4_ws16")
    net, x = net.cuda(), x.cuda()
    if wants_workspace_free_cublas(net):  # as wrap_module will: other GEMM kernels, other roundings
        use_workspace_free_cublas()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        want = net(x)
    # (widths as they are: aligned ones compute the same function with other GEMM shapes, other roundings)
    model = wrap_module(net, arch="MambaIRv2", device=torch.device("cuda"), precision="bf16", cuda_graphs=False,
                        align_channels=False)
    assert model.extra["half_matmuls"] > 0
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        assert torch.equal(model.module(x), want)
    plain = wrap_module(nn.Sequential(nn.Linear(4, 4)), arch="custom", device=torch.device("cuda"), precision="bf16")
    assert "half_matmuls" not in plain.extra  # a network that does not say so keeps float32 weights
