"""LAformer: Rank Enhanced Linear Attention (RELA), channel attention and a convolution-gated FFN.

**Unofficial re-implementation.** Paper: Yuang Ai, Huaibo Huang, Tao Wu, Qihang Fan, Ran He, "Breaking
Complexity Barriers: High-Resolution Image Restoration with Rank Enhanced Linear Attention",
arXiv 2505.16157v1 (2025). No official code or weights exist (see
``shared/reference/linear_attention_models.md``); everything below the level of the abstract is our design,
and nothing here is, or loads, an official checkpoint.

What the paper fixes (abstract): RELA = linear attention whose low-rank output is enriched by a lightweight
depthwise convolution; LAformer = RELA + channel attention for global perception, a convolutional gated
feed-forward network for local fitting; no softmax and no window shifting; aimed at high-resolution images.

Our design choices (each one ours, none verified against the paper):

1. **Macro layout: the same U-Net as ACL** (:class:`restore_cli.archs.acl.LinearAttentionUNet`: widths
   C, 2C, 4C, 8C, conv 3x3 + PixelUnshuffle down, 1x1 + PixelShuffle up, concat + 1x1 skips, refinement at
   2C, global residual). The paper does not say; a U-Net keeps the cost per pixel low at high resolution
   (the paper's aim), suits deblurring's large motions, and makes ACL vs LAformer a comparison of blocks.
2. **RELA** (NCHW): q, k, v = 1x1 conv (C -> 3C, no bias); multi-head non-causal linear attention with
   φ = ELU + 1 (as in RALA, the co-author's CVPR 2025 model) and the normaliser 1/(φ(q)·mean φ(k) + 1e-6);
   **rank enhancement: out = LinAttn(q, k, v) + DWConv5x5(v)** (the depthwise branch is full rank where the
   attention map has rank <= head dim; kernel 5 as in RALA's LePE and the third-party RELA reading); then
   channel attention; then a 1x1 projection. Head dim 32. No RoPE, no windows, no softmax.
3. **Channel attention**: squeeze-and-excitation (global average pool -> 1x1 -> ReLU -> 1x1 -> sigmoid,
   MambaIR's ``ChannelAttention``, squeeze 4) applied to the RELA output before the projection: RELA mixes
   over space, the SE gate over channels, both from global statistics.
4. **Convolution-gated FFN** (Restormer's GDFN): 1x1 (C -> 2h) -> depthwise 3x3 -> split -> GELU(a) ⊙ b ->
   1x1 (h -> C), h = ffn_expansion * C with ffn_expansion 2.
5. **Block** (pre-norm Transformer): ``x = x + RELA(LN(x)); x = x + FFN(LN(x))``, LayerNorm over channels.
6. **Sizes** (default): C = 32, encoder blocks (4, 4, 4), latent 3, decoder (4, 4, 4), refinement 4:
   4.68M parameters and 45.7 GMACs at 256 x 256 (counted by :mod:`restore_cli.ops.linear_attn.cost`),
   the same parameter budget as our ACL (4.56M); a LAformer block costs about two thirds of an ACL block.
7. **Any input size**: reflect-pad bottom/right to a multiple of 8 (replicate for tiny images), crop back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.linear_attn import linear_attention, linear_attention_macs
from .acl import LinearAttentionUNet, Stage
from .layers import ChannelAttention


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of (B, C, H, W) (per pixel), with ``nn.LayerNorm``'s weight and bias."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def split_heads_first(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, E, H, W) -> (B, heads, H*W, E/heads) as a view (no copy)."""
    b, e, h, w = t.shape
    return t.reshape(b, heads, e // heads, h * w).transpose(-2, -1)


class RELA(nn.Module):
    """Rank Enhanced Linear Attention with channel attention; NCHW in and out (see module notes 2-3)."""

    def __init__(
        self, dim: int, *, head_dim: int = 32, rank_kernel: int = 5, squeeze_factor: int = 4,
        feature_map: str = "elu", bias: bool = False,
    ) -> None:
        super().__init__()
        if dim % head_dim:
            raise ValueError(f"width {dim} is not a multiple of head_dim {head_dim}")
        self.heads = dim // head_dim
        self.head_dim = head_dim
        self.feature_map = feature_map
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=bias)
        self.rank_conv = nn.Conv2d(dim, dim, rank_kernel, 1, rank_kernel // 2, groups=dim, bias=True)
        self.channel_attention = ChannelAttention(dim, squeeze_factor)
        self.proj = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=1)
        y = linear_attention(
            split_heads_first(q, self.heads), split_heads_first(k, self.heads), split_heads_first(v, self.heads),
            feature_map=self.feature_map,
        )
        y = y.transpose(-2, -1).reshape(b, c, h, w) + self.rank_conv(v)
        return self.proj(self.channel_attention(y))

    def attention_macs(self, inputs: tuple, output: torch.Tensor) -> int:
        """MACs of the linear-attention matmuls (for :func:`restore_cli.ops.linear_attn.cost.count_macs`)."""
        b, _, h, w = output.shape
        return linear_attention_macs(b, self.heads, h * w, self.head_dim, self.head_dim)


class GatedConvFFN(nn.Module):
    """Convolution-gated feed-forward (Restormer's GDFN): 1x1 -> dw 3x3 -> GELU(a) * b -> 1x1; NCHW."""

    def __init__(self, dim: int, *, expansion: float = 2.0, bias: bool = False) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, 2 * hidden, 1, bias=bias)
        self.dwconv = nn.Conv2d(2 * hidden, 2 * hidden, 3, 1, 1, groups=2 * hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, g = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * g)


class LAformerBlock(nn.Module):
    """Pre-norm block: ``x + RELA(LN(x))`` then ``x + FFN(LN(x))``; (B, C, H, W) in and out."""

    def __init__(
        self, dim: int, *, head_dim: int, rank_kernel: int, squeeze_factor: int, ffn_expansion: float,
        feature_map: str, bias: bool,
    ) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.attn = RELA(dim, head_dim=head_dim, rank_kernel=rank_kernel, squeeze_factor=squeeze_factor,
                         feature_map=feature_map, bias=bias)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GatedConvFFN(dim, expansion=ffn_expansion, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class LAformer(LinearAttentionUNet):
    """LAformer (unofficial re-implementation): U-Net of RELA + channel attention + gated-FFN blocks.

    Args:
        inp_channels, out_channels: image channels (equal: the output adds the input).
        dim: width C of level 1 (levels use C, 2C, 4C, 8C).
        num_blocks: blocks in encoder levels 1-3 and the latent.
        num_dec_blocks: blocks in decoder levels 3, 2, 1.
        num_refinement_blocks: blocks after decoder level 1 (at 2C).
        head_dim: linear-attention head size (every level's width must be a multiple of it).
        rank_kernel: kernel of the depthwise rank-enhancement conv on V.
        squeeze_factor: channel-attention reduction.
        ffn_expansion: gated-FFN hidden width / block width.
        feature_map: linear-attention kernel, ``elu`` (ELU + 1) or ``relu``.
        bias: biases in the 1x1 projections and the FFN.
        use_checkpoint: gradient checkpointing per block while training (no effect on weights or outputs).
    """

    #: Blocks that :func:`restore_cli.engine.compile.compile_blocks` compiles (``--compile``).
    compile_blocks = ("LAformerBlock",)

    RESIDUAL_BRANCH_OUTPUTS = ("attn.proj", "ffn.project_out")

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 32,
        num_blocks: Sequence[int] = (4, 4, 4, 3),
        num_dec_blocks: Sequence[int] = (4, 4, 4),
        num_refinement_blocks: int = 4,
        head_dim: int = 32,
        rank_kernel: int = 5,
        squeeze_factor: int = 4,
        ffn_expansion: float = 2.0,
        feature_map: str = "elu",
        bias: bool = False,
        use_checkpoint: bool = False,
    ) -> None:
        super().__init__()

        def make_stage(width: int, depth: int) -> nn.Module:
            blocks = [
                LAformerBlock(width, head_dim=head_dim, rank_kernel=rank_kernel, squeeze_factor=squeeze_factor,
                              ffn_expansion=ffn_expansion, feature_map=feature_map, bias=bias)
                for _ in range(depth)
            ]
            return Stage(blocks, channels_last=False, use_checkpoint=use_checkpoint)

        self.build_unet(
            inp_channels=inp_channels, out_channels=out_channels, dim=dim, num_blocks=num_blocks,
            num_dec_blocks=num_dec_blocks, num_refinement_blocks=num_refinement_blocks, make_stage=make_stage,
        )


# Named configurations. "default" equals the constructor defaults; "tiny" is for tests.
VARIANTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "default": MappingProxyType({}),
    "tiny": MappingProxyType({
        "dim": 16, "num_blocks": (1, 1, 1, 1), "num_dec_blocks": (1, 1, 1), "num_refinement_blocks": 1,
        "head_dim": 8,
    }),
})

LAformer.VARIANTS = VARIANTS

__all__ = ["RELA", "VARIANTS", "GatedConvFFN", "LAformer", "LAformerBlock", "LayerNorm2d"]
