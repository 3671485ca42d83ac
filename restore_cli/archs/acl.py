"""ACL: linear attention in place of Mamba's selective scan, in a U-shaped encoder-decoder.

**Unofficial re-implementation.** Paper: Yubin Gu, Yuan Meng, Jiayi Ji, Xiaoshuai Sun, "ACL: Activating
Capability of Linear Attention for Image Restoration", CVPR 2025, pp. 17913-17923. No official code or
weights could be verified (see ``shared/reference/linear_attention_models.md``), so everything below the
level of the abstract is our design; nothing here is, or loads, an official checkpoint.

What the paper fixes (abstract and poster): the core block ("LAMA") is a Mamba block whose SSM is replaced by
linear attention; a local module ("MDC") of multi-scale dilated convolutions extracts coarse and fine
features; both form the encoders/decoders; the published model has 4.6M parameters and 55 GFLOPs (input
size not stated; GoPro tables usually quote MACs at 256 x 256).

Our design choices (each one ours, none verified against the paper):

1. **Macro layout.** The Restormer / MambaIRUNet topology: 4 levels of widths C, 2C, 4C, 8C; down =
   conv 3x3 (n -> n/2) + PixelUnshuffle(2); up = conv **1x1** (n -> 2n) + PixelShuffle(2) (a 2x2 transposed
   conv; Restormer's 3x3 here would cost 1.5M parameters at C = 32, a third of the budget); skips by concat
   [upsampled, skip] then 1x1 reduce at levels 3 and 2, no reduce at level 1 (decoder level 1 and the
   refinement run at 2C); conv 3x3 in and out; global residual ``out = x + net(x)``.
2. **LAMA mixer** (the SS2D slot, token layout (B, H, W, C)): LayerNorm -> ``in_proj`` to x and z (E = expand
   * C each) -> depthwise conv 3x3 -> SiLU -> q, k, v = Linear(E -> 3E)(x) -> multi-head **non-causal**
   linear attention with φ = ELU + 1 and the normaliser 1/(φ(q)·mean φ(k) + 1e-6) (MLLA's form) ->
   ``+ Ds ⊙ x`` (Mamba's D skip, per channel, initialised to 1: the term ``D u_t`` of the unrolled SSM,
   which also keeps a full-rank path beside the low-rank attention) -> ``out_norm`` (LayerNorm) ⊙ SiLU(z)
   -> ``out_proj``. Head dim 16 by default, so the d x d state per head totals E x 16 numbers per image,
   the same as Mamba's (E, d_state = 16) state. No RoPE and no causal mask or decay: the output does not
   depend on any scan order, and tiled and whole-image inference see the same operator.
3. **MDC** (the CAB slot): 1x1 (C -> h) -> GELU -> parallel depthwise 3x3 branches with dilations 1, 2, 3
   (fine to coarse; receptive fields 3, 5, 7) -> concat -> GELU -> 1x1 fuse (3h -> C).
4. **Block**: ``x = x * skip_scale + LAMA(LN(x)); x = x * skip_scale2 + MDC(LN(x))`` (MambaIR's VSSBlock
   residuals with learnable per-channel skip scales).
5. **Sizes** (default): C = 32, encoder blocks (4, 4, 4), latent 1, decoder (3, 4, 3), refinement 2,
   expand 1.5, MDC hidden 1.5 C: 4.57M parameters and 52.4 GMACs at 256 x 256 (1 MAC = one multiply-add,
   counted by :mod:`restore_cli.ops.linear_attn.cost`), against the published 4.6M and "55 GFLOPs". The
   depth sits at the high-resolution levels and only one block in the 8C latent, because a latent block
   holds 1.15M parameters but costs the same MACs as a level-1 block; this is the split that meets both
   published numbers (the deep, wide Restormer split lands at 7.5M parameters and 44 GMACs).
6. **Any input size**: reflect-pad bottom/right to a multiple of 8 (replicate when the image is too small
   to reflect), crop back after the global residual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..ops.linear_attn import linear_attention, linear_attention_macs

PAD_MULTIPLE = 8  # three 2x downsamplings


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (B, C, H, W) at the bottom/right to multiples of ``multiple``: reflect, or replicate if too small.

    Reflect padding (Restormer's test scripts) needs ``pad < size``; a tiny image falls back to replicate.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


class Downsample(nn.Module):
    """Conv 3x3 (n -> n/2, no bias) then PixelUnshuffle(2): (B, n, H, W) -> (B, 2n, H/2, W/2)."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat // 2, 3, 1, 1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """Conv 1x1 (n -> 2n, no bias) then PixelShuffle(2): (B, n, H, W) -> (B, n/2, 2H, 2W)."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat * 2, 1, bias=False), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Stage(nn.Module):
    """A run of blocks at one level, taking and returning (B, C, H, W).

    ``channels_last`` blocks receive (B, H, W, C) (Mamba-style token layout); otherwise NCHW.
    ``use_checkpoint`` recomputes each block in the backward pass (training memory only).
    """

    def __init__(self, blocks: Sequence[nn.Module], *, channels_last: bool, use_checkpoint: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.channels_last = channels_last
        self.use_checkpoint = use_checkpoint

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.permute(0, 2, 3, 1)
        for blk in self.blocks:
            if self.use_checkpoint and self.training and torch.is_grad_enabled():
                x = checkpoint(blk, x, use_reentrant=False)
            else:
                x = blk(x)
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        return x.contiguous()


class LinearAttentionUNet(nn.Module):
    """Restormer-topology encoder-decoder shared by :class:`ACL` and LAformer (see this module's notes).

    Subclasses call :meth:`build_unet` with a stage factory ``make_stage(width, depth) -> nn.Module``.
    Input: (B, in, H, W), any H and W, values nominally in [0, 1]; output: same shape, ``x + net(x)``.
    """

    scale = 1  # same-size restoration
    pad_multiple = PAD_MULTIPLE
    #: every ``nn.Linear``, and every convolution but depthwise ones inside the compiled blocks, runs under
    #: autocast: inference in half precision may store their weights in that dtype
    #: (:func:`restore_cli.engine.model.store_matmul_weights_in`; tested per architecture)
    matmuls_under_autocast = True
    #: Named configurations of the subclass ("default", "tiny", ...), set below each subclass.
    VARIANTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({})
    #: The last layer of each residual branch inside a block (relative module names). Zeroed, the
    #: block is the identity: ``restore train --init`` does that to the blocks a deeper model adds to
    #: the weights it starts from, so the grown model starts as exactly the model it grew from.
    RESIDUAL_BRANCH_OUTPUTS: tuple[str, ...] = ()

    @classmethod
    def variant(cls, name: str, **overrides: Any) -> LinearAttentionUNet:
        """Build a named configuration from the class's :attr:`VARIANTS`, with keyword overrides."""
        try:
            config = dict(cls.VARIANTS[name])
        except KeyError:
            raise ValueError(f"unknown {cls.__name__} variant {name!r}; known: {', '.join(cls.VARIANTS)}") from None
        config.update(overrides)
        return cls(**config)

    def build_unet(
        self,
        *,
        inp_channels: int,
        out_channels: int,
        dim: int,
        num_blocks: Sequence[int],
        num_dec_blocks: Sequence[int],
        num_refinement_blocks: int,
        make_stage: Callable[[int, int], nn.Module],
    ) -> None:
        if len(num_blocks) != 4 or len(num_dec_blocks) != 3:
            raise ValueError("num_blocks needs 4 entries (3 encoder levels + latent) and num_dec_blocks 3")
        if inp_channels != out_channels:
            raise ValueError("the global residual needs inp_channels == out_channels")
        self.in_chans = inp_channels
        c = dim
        self.patch_embed = nn.Conv2d(inp_channels, c, 3, 1, 1, bias=False)
        self.encoder_level1 = make_stage(c, num_blocks[0])
        self.down1_2 = Downsample(c)
        self.encoder_level2 = make_stage(2 * c, num_blocks[1])
        self.down2_3 = Downsample(2 * c)
        self.encoder_level3 = make_stage(4 * c, num_blocks[2])
        self.down3_4 = Downsample(4 * c)
        self.latent = make_stage(8 * c, num_blocks[3])
        self.up4_3 = Upsample(8 * c)
        self.reduce_chan_level3 = nn.Conv2d(8 * c, 4 * c, 1, bias=False)
        self.decoder_level3 = make_stage(4 * c, num_dec_blocks[0])
        self.up3_2 = Upsample(4 * c)
        self.reduce_chan_level2 = nn.Conv2d(4 * c, 2 * c, 1, bias=False)
        self.decoder_level2 = make_stage(2 * c, num_dec_blocks[1])
        self.up2_1 = Upsample(2 * c)
        self.decoder_level1 = make_stage(2 * c, num_dec_blocks[2])
        self.refinement = make_stage(2 * c, num_refinement_blocks)
        self.output = nn.Conv2d(2 * c, out_channels, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Restore (B, C, H, W): pad to a multiple of 8, run the U-Net, add the input, crop back."""
        h, w = x.shape[-2:]
        xp = pad_to_multiple(x, self.pad_multiple)
        e1 = self.encoder_level1(self.patch_embed(xp))
        e2 = self.encoder_level2(self.down1_2(e1))
        e3 = self.encoder_level3(self.down2_3(e2))
        lat = self.latent(self.down3_4(e3))
        d3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(lat), e3], 1)))
        d2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)))
        d1 = self.refinement(self.decoder_level1(torch.cat([self.up2_1(d2), e1], 1)))
        out = self.output(d1) + xp
        return out[..., :h, :w]


def split_heads_last(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, H, W, E) -> (B, heads, H*W, E/heads) as a view (no copy)."""
    b, h, w, e = t.shape
    return t.reshape(b, h * w, heads, e // heads).transpose(1, 2)


class LAMA(nn.Module):
    """Mamba-style mixer with non-causal multi-head linear attention in place of the selective scan.

    Token layout (B, H, W, C) in and out. See the module docstring, choice 2, for the order of operations.
    """

    def __init__(self, dim: int, *, expand: float = 1.5, head_dim: int = 16, feature_map: str = "elu") -> None:
        super().__init__()
        d_inner = int(expand * dim)
        if d_inner % head_dim:
            raise ValueError(f"expand * dim = {d_inner} is not a multiple of head_dim {head_dim}")
        self.d_inner = d_inner
        self.heads = d_inner // head_dim
        self.head_dim = head_dim
        self.feature_map = feature_map
        self.in_proj = nn.Linear(dim, 2 * d_inner, bias=False)
        self.conv2d = nn.Conv2d(d_inner, d_inner, 3, 1, 1, groups=d_inner, bias=True)
        self.qkv = nn.Linear(d_inner, 3 * d_inner, bias=False)
        self.Ds = nn.Parameter(torch.ones(d_inner))
        self.out_norm = nn.LayerNorm(d_inner)
        self.out_proj = nn.Linear(d_inner, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = F.silu(self.conv2d(u.permute(0, 3, 1, 2))).permute(0, 2, 3, 1)
        q, k, v = self.qkv(u).chunk(3, dim=-1)
        y = linear_attention(
            split_heads_last(q, self.heads), split_heads_last(k, self.heads), split_heads_last(v, self.heads),
            feature_map=self.feature_map,
        )
        y = y.transpose(1, 2).reshape(b, h, w, self.d_inner) + u * self.Ds
        y = self.out_norm(y) * F.silu(z)
        return self.out_proj(y)

    def attention_macs(self, inputs: tuple, output: torch.Tensor) -> int:
        """MACs of the linear-attention matmuls (for :func:`restore_cli.ops.linear_attn.cost.count_macs`)."""
        b, h, w, _ = output.shape
        return linear_attention_macs(b, self.heads, h * w, self.head_dim, self.head_dim)


class MDC(nn.Module):
    """Multi-scale dilated convolution local module, NCHW: 1x1 -> GELU -> dw 3x3 at each dilation -> concat
    -> GELU -> 1x1 fuse. Dilations (1, 2, 3) see 3x3, 5x5 and 7x7 neighbourhoods (fine to coarse)."""

    def __init__(self, dim: int, *, hidden_ratio: float = 1.5, dilations: Sequence[int] = (1, 2, 3)) -> None:
        super().__init__()
        hidden = int(hidden_ratio * dim)
        self.proj_in = nn.Conv2d(dim, hidden, 1)
        self.branches = nn.ModuleList(
            nn.Conv2d(hidden, hidden, 3, 1, padding=d, dilation=d, groups=hidden) for d in dilations
        )
        self.fuse = nn.Conv2d(hidden * len(dilations), dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.proj_in(x))
        h = torch.cat([branch(h) for branch in self.branches], dim=1)
        return self.fuse(F.gelu(h))


class LAMABlock(nn.Module):
    """``x*skip_scale + LAMA(LN(x))`` then ``x*skip_scale2 + MDC(LN(x))``; (B, H, W, C) in and out."""

    def __init__(
        self, dim: int, *, expand: float, head_dim: int, mdc_ratio: float, dilations: Sequence[int],
        feature_map: str,
    ) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.lama = LAMA(dim, expand=expand, head_dim=head_dim, feature_map=feature_map)
        self.skip_scale = nn.Parameter(torch.ones(dim))
        self.ln_2 = nn.LayerNorm(dim)
        self.mdc = MDC(dim, hidden_ratio=mdc_ratio, dilations=dilations)
        self.skip_scale2 = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.skip_scale + self.lama(self.ln_1(x))
        local = self.mdc(self.ln_2(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x * self.skip_scale2 + local


class ACL(LinearAttentionUNet):
    """ACL (unofficial re-implementation): U-Net of LAMA + MDC blocks for deraining and deblurring.

    Args:
        inp_channels, out_channels: image channels (equal: the output adds the input).
        dim: width C of level 1 (levels use C, 2C, 4C, 8C).
        num_blocks: blocks in encoder levels 1-3 and the latent.
        num_dec_blocks: blocks in decoder levels 3, 2, 1.
        num_refinement_blocks: blocks after decoder level 1 (at 2C).
        expand: LAMA inner width E = expand * width.
        head_dim: linear-attention head size (E must be a multiple of it at every level).
        mdc_ratio: MDC hidden width = mdc_ratio * width.
        dilations: MDC branch dilations.
        feature_map: linear-attention kernel, ``elu`` (ELU + 1) or ``relu``.
        use_checkpoint: gradient checkpointing per block while training (no effect on weights or outputs).
    """

    #: Blocks that :func:`restore_cli.engine.compile.compile_blocks` compiles (``--compile``).
    compile_blocks = ("LAMABlock",)

    RESIDUAL_BRANCH_OUTPUTS = ("lama.out_proj", "mdc.fuse")

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 32,
        num_blocks: Sequence[int] = (4, 4, 4, 1),
        num_dec_blocks: Sequence[int] = (3, 4, 3),
        num_refinement_blocks: int = 2,
        expand: float = 1.5,
        head_dim: int = 16,
        mdc_ratio: float = 1.5,
        dilations: Sequence[int] = (1, 2, 3),
        feature_map: str = "elu",
        use_checkpoint: bool = False,
    ) -> None:
        super().__init__()

        def make_stage(width: int, depth: int) -> nn.Module:
            blocks = [
                LAMABlock(width, expand=expand, head_dim=head_dim, mdc_ratio=mdc_ratio, dilations=dilations,
                          feature_map=feature_map)
                for _ in range(depth)
            ]
            return Stage(blocks, channels_last=True, use_checkpoint=use_checkpoint)

        self.build_unet(
            inp_channels=inp_channels, out_channels=out_channels, dim=dim, num_blocks=num_blocks,
            num_dec_blocks=num_dec_blocks, num_refinement_blocks=num_refinement_blocks, make_stage=make_stage,
        )


# Named configurations. "default" equals the constructor defaults (near the published 4.6M parameters);
# "tiny" is for tests (seconds on a CPU).
VARIANTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "default": MappingProxyType({}),
    "tiny": MappingProxyType({
        "dim": 16, "num_blocks": (1, 1, 1, 1), "num_dec_blocks": (1, 1, 1), "num_refinement_blocks": 1,
        "expand": 1.0, "head_dim": 8, "mdc_ratio": 1.0,
    }),
})
ACL.VARIANTS = VARIANTS

__all__ = ["ACL", "LAMA", "MDC", "VARIANTS", "LAMABlock", "LinearAttentionUNet", "pad_to_multiple"]
