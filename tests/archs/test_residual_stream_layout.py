"""The residual stream of the MambaIR families stays tokens-major (contiguous (B, L, C)) from block to block.

A residual group closes with a convolution on the tokens viewed as an image; a channel-first result read
back as tokens has stride 1 along the tokens, and then every later LayerNorm and residual add (and, on a
GPU, every compiled block) reads across its rows. See ``archs.layers.image_module_on_tokens``.
"""

from __future__ import annotations

import pytest
import torch

from restore_cli.archs.layers import image_module_on_tokens, image_to_tokens, tokens_to_image
from restore_cli.bench import seeded_model

BLOCKS = {"mambair-sr-x4": "VSSBlock", "mambair-light-x4": "VSSBlock", "mambairv2-light-x4": "AttentiveLayer"}


@pytest.mark.parametrize("card", sorted(BLOCKS))
def test_every_block_gets_and_gives_contiguous_tokens(card: str) -> None:
    net = seeded_model(card, torch.device("cpu"))
    layouts: list[tuple[bool, bool]] = []
    for module in net.modules():
        if type(module).__name__ == BLOCKS[card]:
            module.register_forward_hook(
                lambda _m, args, out: layouts.append((args[0].is_contiguous(), out.is_contiguous())))
    with torch.no_grad():
        net(torch.rand(1, 3, 16, 16))
    assert len(layouts) > 4 and all(into and out for into, out in layouts), layouts


def test_image_module_on_tokens_matches_the_image_conv_for_both_result_layouts() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 4, 3, 1, 1)
    tokens = torch.randn(2, 5 * 7, 6)
    want = image_to_tokens(conv(tokens_to_image(tokens, (5, 7))))
    got = image_module_on_tokens(conv, tokens, (5, 7))
    assert got.is_contiguous() and torch.equal(got, want)
    as_channels_last = torch.nn.Sequential(conv, torch.nn.Identity())
    as_channels_last.register_forward_hook(lambda _m, _a, out: out.contiguous(memory_format=torch.channels_last))
    view = image_module_on_tokens(as_channels_last, tokens, (5, 7))
    assert view.is_contiguous() and torch.equal(view, want)


@pytest.mark.parametrize("batch", [1, 2])
def test_tokens_to_image_is_a_channels_last_view_that_convolutions_keep(batch: int) -> None:
    """A batch of one too: its view must carry a real batch stride, or convolutions fall back to channel-first."""
    tokens = torch.randn(batch, 6 * 5, 8)
    image = tokens_to_image(tokens, (6, 5))
    assert image.data_ptr() == tokens.data_ptr() and image.stride() == (6 * 5 * 8, 1, 5 * 8, 8)
    assert torch.equal(image, tokens.transpose(1, 2).reshape(batch, 8, 6, 5))
    out = torch.nn.Conv2d(8, 8, 3, 1, 1)(image)
    assert out.is_contiguous(memory_format=torch.channels_last)
    channel_major = torch.randn(batch, 8, 6 * 5).transpose(1, 2)  # stride 1 along the tokens
    assert tokens_to_image(channel_major, (6, 5)).is_contiguous()  # a free view as before
