"""MambaIRUNet: the Restormer-style U-Net of VSSBlocks that MambaIR uses for real-image denoising.

Official code: csguoh/MambaIR @ 33d7b34, ``realDenoising/basicsr/models/archs/mambairunet_arch.py``
(Apache-2.0). Independent re-implementation from the project reference (``mambair.md`` §5), checked
against the official outputs (tests/fixtures/parity). Every block is MambaIR v1's
:class:`~restore_cli.archs.mambair.VSSBlock` (d_state 16 at every level, expansion ``mlp_ratio``,
normal CAB); ``state_dict`` keys are the official ones so ``RealDN_MambaIR.pth`` loads with
``strict=True``.

Layout (C = ``dim``)::

    patch_embed (3x3 conv) -> enc1 (C) -> down -> enc2 (2C) -> down -> enc3 (4C) -> down -> latent (8C)
    latent -> up -> cat[., enc3] -> 1x1 -> dec3 (4C) -> up -> cat[., enc2] -> 1x1 -> dec2 (2C)
    dec2 -> up -> cat[., enc1] -> dec1 (2C) -> refinement (2C) -> output (3x3 conv) + input

Three 2x downsamplings mean the network itself needs H and W divisible by 8; :meth:`MambaIRUNet.forward`
pads like the official validation does, so callers may pass any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .layers import image_to_tokens, tokens_to_image
from .mambair import VSSBlock

# 2 ** (number of 2x downsamplings): H and W of the unpadded network must be multiples of this.
SIZE_MULTIPLE = 8
# The UNet uses d_state 16 at every level since upstream commit a09fd79 (the released weights need it).
UNET_D_STATE = 16


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Pad the bottom/right of ``x`` (B, C, H, W) by reflection up to multiples of ``multiple``.

    This is the official validation's ``pad_test`` (``F.pad(lq, (0, pw, 0, ph), 'reflect')``). Where a
    side is too short for one reflection (pad >= side), the reflection is repeated on the growing
    image, and a 1-pixel side is replicated; for every size the official code accepts the result is
    identical to it. Returns the padded image and the pads (ph, pw).
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    while ph or pw:
        cur_h, cur_w = x.shape[-2:]
        step_h, step_w = min(ph, cur_h - 1), min(pw, cur_w - 1)
        if step_h == 0 and step_w == 0:  # a 1-pixel side cannot be reflected
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
            break
        x = F.pad(x, (0, step_w, 0, step_h), mode="reflect")
        ph, pw = ph - step_h, pw - step_w
    return x, (-h) % multiple, (-w) % multiple


class OverlapPatchEmbed(nn.Module):
    """3x3 conv embedding, no bias (upstream ignores the model's ``bias`` flag here)."""

    def __init__(self, in_c: int = 3, embed_dim: int = 48, bias: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_c, embed_dim, kernel_size=3, stride=1, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class Downsample(nn.Module):
    """Conv 3x3 (n -> n/2), then PixelUnshuffle(2): half the size, twice the channels."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat // 2, 3, 1, 1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """Conv 3x3 (n -> 2n), then PixelShuffle(2): twice the size, half the channels."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat * 2, 3, 1, 1, bias=False), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _stage(width: int, depth: int, mlp_ratio: float) -> nn.ModuleList:
    return nn.ModuleList(VSSBlock(width, d_state=UNET_D_STATE, expand=mlp_ratio) for _ in range(depth))


def _run_stage(blocks: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """Run VSSBlocks (token layout) on an image (B, C, H, W), returning an image."""
    size = (x.shape[2], x.shape[3])
    t = image_to_tokens(x)
    for block in blocks:
        t = block(t, size)
    return tokens_to_image(t, size)


class MambaIRUNet(nn.Module):
    """MambaIR real-denoising U-Net (official ``MambaIRUNet``). NCHW in [0, 1] -> NCHW, same size.

    Args mirror the official constructor. ``drop_path_rate`` does not change inference and is ignored.

    Args:
        inp_channels: input channels.
        out_channels: output channels (must equal ``inp_channels``: the output adds the input).
        dim: width C of level 1.
        num_blocks: VSSBlocks per level (encoder 1..3 and latent; decoders mirror them).
        mlp_ratio: SS2D expansion of every block (1.5 in the released config).
        num_refinement_blocks: VSSBlocks after decoder level 1.
        bias: bias of the 1x1 channel reductions and the output conv (False upstream).
        dual_pixel_task: upstream's dual-pixel deblurring variant; rejected, because its official
            forward is broken (it applies ``skip_conv`` to tokens) and no weights exist for it.
    """

    #: Blocks that :func:`restore_cli.engine.compile.compile_blocks` compiles (``--compile``).
    compile_blocks = ("VSSBlock",)
    #: every ``nn.Linear``, and every convolution but depthwise ones inside the compiled blocks, runs under
    #: autocast: inference in half precision may store their weights in that dtype
    #: (:func:`restore_cli.engine.model.store_matmul_weights_in`; tested per architecture)
    matmuls_under_autocast = True

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 48,
        num_blocks: Sequence[int] = (4, 6, 6, 8),
        mlp_ratio: float = 2.0,
        num_refinement_blocks: int = 4,
        drop_path_rate: float = 0.0,
        bias: bool = False,
        dual_pixel_task: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        del drop_path_rate, kwargs
        if dual_pixel_task:
            raise ValueError("dual_pixel_task=True is not supported: broken upstream, and no weights exist")
        if inp_channels != out_channels:
            raise ValueError(f"inp_channels ({inp_channels}) must equal out_channels ({out_channels})")
        n1, n2, n3, n4 = (int(n) for n in num_blocks)
        self.in_chans = inp_channels
        self.mlp_ratio = mlp_ratio
        self.patch_embed = OverlapPatchEmbed(inp_channels, dim)
        self.encoder_level1 = _stage(dim, n1, mlp_ratio)
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = _stage(dim * 2, n2, mlp_ratio)
        self.down2_3 = Downsample(dim * 2)
        self.encoder_level3 = _stage(dim * 4, n3, mlp_ratio)
        self.down3_4 = Downsample(dim * 4)
        self.latent = _stage(dim * 8, n4, mlp_ratio)
        self.up4_3 = Upsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, kernel_size=1, bias=bias)
        self.decoder_level3 = _stage(dim * 4, n3, mlp_ratio)
        self.up3_2 = Upsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 2, kernel_size=1, bias=bias)
        self.decoder_level2 = _stage(dim * 2, n2, mlp_ratio)
        self.up2_1 = Upsample(dim * 2)  # no channel reduction at level 1: decoder 1 runs at 2C
        self.decoder_level1 = _stage(dim * 2, n1, mlp_ratio)
        self.refinement = _stage(dim * 2, int(num_refinement_blocks), mlp_ratio)
        self.output = nn.Conv2d(dim * 2, out_channels, kernel_size=3, stride=1, padding=1, bias=bias)

    @property
    def scale(self) -> int:
        """Output size / input size."""
        return 1

    def forward_unpadded(self, x: torch.Tensor) -> torch.Tensor:
        """The official forward: (B, C, H, W) with H and W multiples of 8 -> (B, C, H, W)."""
        h, w = x.shape[-2:]
        if h % SIZE_MULTIPLE or w % SIZE_MULTIPLE:
            raise ValueError(
                f"MambaIRUNet needs H and W divisible by {SIZE_MULTIPLE}, got {h}x{w}; use forward() to pad"
            )
        e1 = _run_stage(self.encoder_level1, self.patch_embed(x))
        e2 = _run_stage(self.encoder_level2, self.down1_2(e1))
        e3 = _run_stage(self.encoder_level3, self.down2_3(e2))
        latent = _run_stage(self.latent, self.down3_4(e3))
        # Skip concatenations are [upsampled, encoder] along channels, as upstream.
        d3 = _run_stage(self.decoder_level3, self.reduce_chan_level3(torch.cat([self.up4_3(latent), e3], 1)))
        d2 = _run_stage(self.decoder_level2, self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)))
        d1 = _run_stage(self.decoder_level1, torch.cat([self.up2_1(d2), e1], 1))
        d1 = _run_stage(self.refinement, d1)
        return self.output(d1) + x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Any (B, C, H, W) -> (B, C, H, W): the official validation's ``pad_test`` around the network.

        The input is reflect-padded at the bottom/right to multiples of 8, run through
        :meth:`forward_unpadded`, and the output cropped back; sizes that are already multiples of 8
        run unpadded, exactly as the official model. Not clamped (the official scripts clamp afterwards).
        """
        h, w = x.shape[-2:]
        padded, ph, pw = pad_to_multiple(x, SIZE_MULTIPLE)
        out = self.forward_unpadded(padded)
        return out[..., :h, :w] if (ph or pw) else out


# Released configuration (hard-coded in the official realDenoising/test_real_denoising_{sidd,dnd}.py).
RELEASED_CONFIGS: dict[str, dict[str, Any]] = {
    "mambair_realdn_unet": {
        "dim": 48, "num_blocks": [4, 6, 6, 8], "mlp_ratio": 1.5, "num_refinement_blocks": 4,
        "bias": False, "dual_pixel_task": False,
    },
}


__all__ = ["RELEASED_CONFIGS", "SIZE_MULTIPLE", "MambaIRUNet", "pad_to_multiple"]
