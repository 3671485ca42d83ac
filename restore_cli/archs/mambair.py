"""MambaIR v1: residual state-space groups of 2D selective-scan blocks (classic/light SR, DN, JPEG CAR).

Paper: Guo et al., "MambaIR: A Simple Baseline for Image Restoration with State-Space Model", ECCV 2024.
Official code: csguoh/MambaIR @ 33d7b34, ``basicsr/archs/mambair_arch.py`` (Apache-2.0). This is an
independent re-implementation written from the project reference (``mambair.md`` §3), checked against
outputs of the official code (tests/fixtures/parity). Class names, constructor keyword arguments and
``state_dict`` keys are the official ones, so released checkpoints load with ``strict=True`` and no key
remapping; the official ``mamba_ssm`` import is replaced by our own scan dispatch
(:func:`restore_cli.ops.scan.selective_scan`), so the model runs on machines without a CUDA build.

Structure (names as upstream)::

    MambaIR
      conv_first -> patch_embed(.norm) -> layers[i]: ResidualGroup -> norm -> conv_after_body -> head
    ResidualGroup = residual_group: BasicLayer(blocks[j]: VSSBlock) + conv 3x3 + residual
    VSSBlock      = x*skip_scale + SS2D(ln_1(x));  x*skip_scale2 + CAB(ln_2(x))
    SS2D          = in_proj -> dwconv 3x3 -> SiLU -> 4-direction selective scan
                    -> out_norm * SiLU(z) -> out_proj
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.channel_mean import channel_attention
from ..ops.depthwise_conv import depthwise_conv_tokens, tap_table
from ..ops.layer_norm import LayerNorm, layer_norm_padded_reference
from ..ops.layer_norm import use_triton as use_triton_layer_norm
from ..ops.residual import scaled_residual, scaled_residual_and_norm
from ..ops.scan import backend_for, selective_scan
from .layers import (
    ChannelAttention,
    PatchEmbed,
    RestorationNet,
    autocast_dtype,
    conv_on_tokens,
    depthwise_conv_stencil,
    folded_weight,
    image_module_on_tokens,
    image_to_tokens,
    keep_folded,
    tokens_to_image,
)

# Directions of the v1 cross scan, in the official order (k = 0..3).
NUM_DIRECTIONS = 4


def aligned_width(width: int) -> int:
    """``width`` rounded up to a multiple of 8: a row of that many bf16 values spans whole 16-byte units,
    which the fast cuBLAS and cuDNN kernels need (MambaIR's 60 and 180 channels do not)."""
    return -(-width // 8) * 8


def conv_input_width(width: int) -> int:
    """Channels a 3x3 convolution's input rows are zero-padded to: :func:`aligned_width`, rounded further
    up to a multiple of 64 where that adds at most 1/16. Why: cuDNN's bf16 kernels take the input channels
    of each tap in tiles; MambaIR's CAB conv 184 -> 64 channels at 1280x720 took 1.12 ms on an H100, from
    192 channels 0.63 ms (the output side gained nothing: ``tools/jobs/results/perf29e-cudnn.txt``)."""
    aligned = aligned_width(width)
    by_64 = -(-aligned // 64) * 64
    return by_64 if 16 * (by_64 - aligned) <= aligned else aligned


def zero_padded(t: torch.Tensor, *sizes: int) -> torch.Tensor:
    """``t`` with zeros appended along its leading dimensions up to ``sizes`` (the rest unchanged)."""
    pads: list[int] = []
    for dim in reversed(range(t.dim())):
        pads += [0, (sizes[dim] if dim < len(sizes) else t.shape[dim]) - t.shape[dim]]
    return F.pad(t, pads)


def layer_norm_to_width(x: torch.Tensor, norm: nn.LayerNorm, width: int, *,
                        ones_column: int | None = None) -> torch.Tensor:
    """``norm(x)`` over the last dimension, returned zero-padded to ``width`` channels (a column of ones at
    ``ones_column``: :func:`..ops.layer_norm.layer_norm_padded_reference`): in float32, or where the Triton
    LayerNorm runs (CUDA inference, not compiled) in the autocast dtype the next GEMM would cast it to, by
    that one kernel."""
    if use_triton_layer_norm(x, norm.weight):
        from ..ops.layer_norm.triton import layer_norm_triton

        return layer_norm_triton(x, norm.weight, norm.bias, norm.eps, out_width=width, out_dtype=autocast_dtype(x),
                                 ones_column=ones_column)
    return layer_norm_padded_reference(x, norm.weight, norm.bias, norm.eps, width, ones_column=ones_column)


def cross_scan(x: torch.Tensor) -> torch.Tensor:
    """Unfold an image into the four scan sequences of SS2D, in the official direction order.

    ``(B, C, H, W) -> (B, 4, C, H*W)``: k=0 row-major (position ``h*W + w``), k=1 column-major
    (``w*H + h``), k=2 and k=3 the reverses of 0 and 1. Kept as a standalone function so a fused GPU
    kernel (e.g. a Triton cross-scan) can replace the stack/transpose/flip without touching SS2D.
    """
    b, c, h, w = x.shape
    rows = x.reshape(b, c, h * w)
    cols = x.transpose(2, 3).reshape(b, c, h * w)
    forward_dirs = torch.stack([rows, cols], dim=1)
    return torch.cat([forward_dirs, forward_dirs.flip(-1)], dim=1)


def cross_merge(y: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Fold the four scan outputs back onto the row-major grid and sum them.

    ``(B, 4, C, H*W) -> (B, C, H*W)``, the inverse routing of :func:`cross_scan` followed by a sum in
    the official order ``y0 + rev(y2) + T(y1) + T(rev(y3))`` (float addition is not associative, so the
    order is kept to stay within rounding of the official output).
    """
    b, k, c, length = y.shape
    if k != NUM_DIRECTIONS or length != height * width:
        raise ValueError(f"cross_merge expects (B, 4, C, {height * width}), got {tuple(y.shape)}")
    reverse = y[:, 2:4].flip(-1)

    def col_to_row(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(b, c, width, height).transpose(2, 3).reshape(b, c, length)

    return y[:, 0] + reverse[:, 0] + col_to_row(y[:, 1]) + col_to_row(reverse[:, 1])


#: Scan backends with a channel-last four-route entry that ``SS2D.forward_fused`` can use: the Triton kernel
#: (CUDA) and the chunked PyTorch scan (CPU).
FUSED_BACKENDS = ("triton", "torch")
#: From this many elements in one half of ``in_proj``'s output, :meth:`SS2D.forward_fused` makes the halves by two
#: GEMMs, so that the half the depthwise conv reads is freed before the scan instead of living on beside
#: the gate's half (colour DN at 1280x720: 380 MiB of its peak, ``tools/jobs/results/perf28*.txt``).
#: Below it one GEMM is kept: the light models are launch-bound.
SPLIT_IN_PROJ_ELEMENTS = 2**26


class SS2D(nn.Module):
    """2D selective scan: the state-space "attention" of a VSSBlock (official ``SS2D``).

    Four directions share one scan call: their channels are stacked into ``4 * d_inner`` rows and
    B/C are passed grouped as (batch, 4, N, L), so direction k's channels use direction k's B and C
    (this is how the official code calls ``selective_scan_fn``). Per-direction projections are stored
    stacked (``x_proj_weight`` (4, R+2N, E), ``dt_projs_weight`` (4, E, R), ``dt_projs_bias`` (4, E)),
    ``A_logs``/``Ds`` flattened to ``4 * E`` rows, exactly as in the official checkpoints.

    Args:
        d_model: block width D.
        d_state: SSM state size N.
        d_conv: depthwise conv kernel size.
        expand: ``d_inner = int(expand * d_model)``.
        dt_rank: rank of the delta projection; ``"auto"`` is ``ceil(d_model / 16)`` (from D, not E).
        conv_bias: bias of the depthwise conv.
        bias: bias of ``in_proj``/``out_proj`` (False in every official model).
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 3,
        expand: float = 2.0,
        dt_rank: int | str = "auto",
        conv_bias: bool = True,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.d_state = int(d_state)
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        k, e, n, r = NUM_DIRECTIONS, self.d_inner, self.d_state, self.dt_rank
        # Runtime switches (not weights): the scan backend, and whether inference takes the channel-last
        # path (``forward_fused``) instead of the official route-ordered copies (the reference benchmark
        # path turns it off).
        self.scan_backend = "auto"
        self.fused_cross_scan = True

        # Parameters are registered before the submodules so the state_dict order is the official one.
        self.x_proj_weight = nn.Parameter(torch.empty(k, r + 2 * n, e))
        self.dt_projs_weight = nn.Parameter(torch.empty(k, e, r))
        self.dt_projs_bias = nn.Parameter(torch.empty(k, e))
        self.A_logs = nn.Parameter(torch.empty(k * e, n))
        self.Ds = nn.Parameter(torch.empty(k * e))

        self.in_proj = nn.Linear(d_model, 2 * e, bias=bias)
        self.conv2d = nn.Conv2d(e, e, d_conv, padding=(d_conv - 1) // 2, groups=e, bias=conv_bias)
        self.out_norm = LayerNorm(e)
        self.out_proj = nn.Linear(e, d_model, bias=bias)
        self.reset_ssm_parameters()

    @torch.no_grad()
    def reset_ssm_parameters(self, dt_min: float = 1e-3, dt_max: float = 0.1, dt_floor: float = 1e-4) -> None:
        """Initialise the SSM parameters as mamba/VMamba do (only matters for untrained models).

        ``A = -[1..N]`` per channel (S4D-real), ``D = 1``, delta bias = softplus⁻¹ of a log-uniform
        draw in ``[dt_min, dt_max]``, projections uniform in ``±fan_in^-1/2``. Loaded weights replace all.
        """
        if self.A_logs.is_meta:  # shape-only model (layout checks): nothing to initialise
            return
        e, n, r = self.d_inner, self.d_state, self.dt_rank
        nn.init.uniform_(self.x_proj_weight, -(e**-0.5), e**-0.5)
        nn.init.uniform_(self.dt_projs_weight, -(r**-0.5), r**-0.5)
        log_lo, log_hi = math.log(dt_min), math.log(dt_max)
        dt = torch.exp(torch.rand_like(self.dt_projs_bias) * (log_hi - log_lo) + log_lo).clamp(min=dt_floor)
        self.dt_projs_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        a = torch.arange(1, n + 1, dtype=self.A_logs.dtype, device=self.A_logs.device)
        self.A_logs.copy_(torch.log(a).expand_as(self.A_logs))
        self.Ds.fill_(1.0)

    def forward_core(self, x: torch.Tensor) -> torch.Tensor:
        """Scan the four directions of ``x`` (B, E, H, W) and merge them: returns (B, E, H*W) float32."""
        b, e, h, w = x.shape
        length = h * w
        xs = cross_scan(x)  # (B, 4, E, L)
        x_dbl = torch.einsum("bkdl,kcd->bkcl", xs, self.x_proj_weight)
        dts, Bs, Cs = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=2)
        # The rank-r (r = 4 for light models) delta projection stays float32: under bf16 autocast its
        # 8-byte rows miss the tensor cores' alignment and its weight gradient fell back to a slow kernel
        # (0.8 ms per layer on an H100); in float32 it is cheap, and the scan reads float32 deltas anyway.
        with torch.autocast(x.device.type, enabled=False):
            dts = torch.einsum("bkrl,kdr->bkdl", dts.float(), self.dt_projs_weight.float())
        # The official forward runs the scan in float32 whatever the model dtype.
        y = selective_scan(
            xs.float().reshape(b, -1, length),
            dts.float().reshape(b, -1, length),
            -torch.exp(self.A_logs.float()),
            Bs.float().contiguous(),
            Cs.float().contiguous(),
            self.Ds.float(),
            delta_bias=self.dt_projs_bias.float().reshape(-1),
            delta_softplus=True,
            backend=self.scan_backend,
        )
        return cross_merge(y.reshape(b, NUM_DIRECTIONS, e, length), h, w)

    def projection_weight(self) -> torch.Tensor:
        """The four routes' x-projections as one (4 * width, E) weight for :meth:`forward_fused`.

        Per route the rows are reordered to [B, C, delta rank], B and C each padded with zero rows to a
        multiple of 8 and the whole to a multiple of 8, so B and C start on 16-byte boundaries and the
        kernel reads each as whole vectors (a d_state of 10, MambaIR light's, as 16 values).
        """
        e, n, r = self.d_inner, self.d_state, self.dt_rank
        n8 = aligned_width(n)
        width = aligned_width(2 * n8 + r)
        weight = self.x_proj_weight
        zeros = weight.new_zeros(NUM_DIRECTIONS, n8 - n, e)
        rows = [weight[:, r : r + n], zeros, weight[:, r + n :], zeros, weight[:, :r]]
        rows.append(weight.new_zeros(NUM_DIRECTIONS, width - 2 * n8 - r, e))
        return torch.cat(rows, dim=1).reshape(-1, e)

    @torch.no_grad()
    def fold_inference_weights(self) -> None:
        """Keep :meth:`forward_fused`'s weight-only tensors (the projection weight, the block-diagonal delta
        weight, ``A = -exp(A_log)``) made once, the two weights in ``in_proj``'s dtype (the autocast dtype
        once the engine stored the linears in it): :func:`.layers.fold_inference_weights`."""
        dtype = self.in_proj.weight.dtype
        keep_folded(self, "projection", self.projection_weight().to(dtype))
        keep_folded(self, "delta", torch.block_diag(*self.dt_projs_weight).to(dtype))
        # (4E, R) stored transposed: the launcher reads it as (R, 4E) contiguous, which is then no copy per call
        keep_folded(self, "delta_rows", self.dt_projs_weight.float().reshape(-1, self.dt_rank).t().contiguous().t())
        keep_folded(self, "A", -torch.exp(self.A_logs.float()))
        width = aligned_width(self.d_model)
        if width != self.d_model:  # for :meth:`forward_fused` with ``aligned=True``
            keep_folded(self, "in_proj", zero_padded(self.in_proj.weight, self.in_proj.out_features, width))
            keep_folded(self, "out_proj", zero_padded(self.out_proj.weight, width))
            if self.out_proj.bias is not None:
                keep_folded(self, "out_proj_bias", zero_padded(self.out_proj.bias, width))

    def forward_fused(self, x: torch.Tensor, *, aligned: bool = False) -> torch.Tensor:
        """:meth:`forward` for inference (CUDA and CPU): channel-last throughout, no route-ordered copies.

        ``aligned``: ``x`` has its channels zero-padded to :func:`aligned_width` and so has the result
        (zeros there), through the folded padded ``in_proj``/``out_proj`` weights (:meth:`VSSBlock.
        forward_aligned`; needs :meth:`fold_inference_weights` and an unaligned ``d_model``).

        The projections to delta, B and C act on each pixel alone, so projecting once in pixel order and
        reading each route by index arithmetic equals projecting the four route-ordered copies. Everything
        stays channel-last (B, H·W, channels): the depthwise conv and its SiLU read ``in_proj``'s half in
        place (:func:`.layers.conv_on_tokens`: one Triton kernel on CUDA, one opaque operator when compiled),
        the four x-projections are one GEMM, and the four-route scan
        (:func:`restore_cli.ops.scan.cross.cross_selective_scan_tokens`: on CUDA the fused Triton kernel
        reading every operand through strides, on the CPU the chunked scan gathering channel-last rows)
        merges the routes into a float32 (B, L, E) output that ``out_norm`` takes as is.

        The four rank-R delta projections: where :func:`~restore_cli.ops.scan.cross.scan_makes_delta`
        says so, the kernel makes δ from the rank-R slice of the projection itself, so the (B, L, 4E)
        tensor never exists (colour DN at 1280x720: 1.5 GiB); elsewhere they are one GEMM with a
        block-diagonal weight (4x the flops of four small GEMMs, still negligible) writing that tensor.
        For many tokens (:data:`SPLIT_IN_PROJ_ELEMENTS`) ``in_proj`` runs as two GEMMs, so that the conv's
        half is freed before the scan. Eagerly on CUDA, ``out_norm(y) * silu(z)`` is one Triton kernel
        writing the autocast dtype ``out_proj`` reads (three passes and three temporaries fewer).
        Under autocast the GEMMs and the conv run in bf16/fp16; the scan state is always float32.
        """
        from ..ops.scan.cross import cross_selective_scan_tokens, scan_makes_delta

        b, h, w, _ = x.shape
        e, n, r, length = self.d_inner, self.d_state, self.dt_rank, h * w
        weight = folded_weight(self, "in_proj") if aligned else self.in_proj.weight
        bias = self.in_proj.bias
        if length * e >= SPLIT_IN_PROJ_ELEMENTS:  # two GEMMs: x's half goes once convolved
            x_half = F.linear(x, weight[:e], None if bias is None else bias[:e])
            z = F.linear(x, weight[e:], None if bias is None else bias[e:])
            del x  # (eagerly the caller's LayerNorm output would otherwise live through the scan)
            tokens = conv_on_tokens(self.conv2d, x_half.reshape(b, length, e), (h, w), activation="silu")
            del x_half
        else:
            x, z = F.linear(x, weight, bias).chunk(2, dim=-1)
            tokens = conv_on_tokens(self.conv2d, x.reshape(b, length, e), (h, w), activation="silu")
        n8 = aligned_width(n)
        weight = folded_weight(self, "projection")
        proj = F.linear(tokens, self.projection_weight() if weight is None else weight)
        proj = proj.view(b, length, NUM_DIRECTIONS, -1)
        delta_low = proj[..., 2 * n8 : 2 * n8 + r]
        if scan_makes_delta(tokens, self.scan_backend):  # the kernel maps the low rank to the channels
            delta, delta_weight = delta_low, folded_weight(self, "delta_rows")
            if delta_weight is None:
                delta_weight = self.dt_projs_weight.float().reshape(-1, r)
        else:
            weight = folded_weight(self, "delta")
            delta = F.linear(delta_low.reshape(b, length, NUM_DIRECTIONS * r),
                             torch.block_diag(*self.dt_projs_weight) if weight is None else weight)
            delta_weight = None
        a = folded_weight(self, "A")
        y = cross_selective_scan_tokens(
            tokens,
            delta,
            -torch.exp(self.A_logs.float()) if a is None else a,
            proj[..., :n],
            proj[..., n8 : n8 + n],
            self.Ds.float(),
            delta_bias=self.dt_projs_bias.float().reshape(-1),
            delta_softplus=True,
            height=h,
            width=w,
            backend=self.scan_backend,
            delta_weight=delta_weight,
        )
        # the scan's inputs, dropped before the norm allocates its output (eagerly they lived to the return:
        # colour DN at 1280x720, 717 MiB of the peak)
        del tokens, proj, delta_low, delta
        y = y.view(b, h, w, e)  # float32 from the scan
        if y.dtype != self.out_norm.weight.dtype:  # a network cast to half precision as a whole
            y = y.to(self.out_norm.weight.dtype)
        if use_triton_layer_norm(y, self.out_norm.weight):  # CUDA, not compiled: the norm and gate in one pass
            from ..ops.layer_norm.triton import layer_norm_triton

            y = layer_norm_triton(y, self.out_norm.weight, self.out_norm.bias, self.out_norm.eps,
                                  out_dtype=autocast_dtype(y), gate=z.reshape(b, h, w, e))
        else:
            y = self.out_norm(y) * F.silu(z)
        if aligned:
            return F.linear(y, folded_weight(self, "out_proj"), folded_weight(self, "out_proj_bias"))
        return self.out_proj(y)

    def runs_fused(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward` takes :meth:`forward_fused` for ``x``."""
        fused = self.fused_cross_scan and not torch.is_grad_enabled()
        return fused and backend_for(x, self.scan_backend) in FUSED_BACKENDS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, D) channel-last -> (B, H, W, D)."""
        if self.runs_fused(x):
            return self.forward_fused(x)
        b, h, w, _ = x.shape
        x, z = self.in_proj(x).chunk(2, dim=-1)
        x = F.silu(self.conv2d(x.permute(0, 3, 1, 2).contiguous()))
        y = self.forward_core(x).to(z.dtype)
        y = y.transpose(1, 2).reshape(b, h, w, self.d_inner)
        y = self.out_norm(y) * F.silu(z)
        return self.out_proj(y)


class CAB(nn.Module):
    """Channel-attention conv block of a VSSBlock (official ``CAB``), image layout (B, C, H, W).

    Normal: conv 3x3 (C -> C/compress) -> GELU -> conv 3x3 -> channel attention.
    Light (``is_light_sr``, selected upstream by the ``pixelshuffledirect`` upsampler): compress 2,
    1x1 -> depthwise 3x3 -> GELU -> 1x1 -> depthwise 3x3 dilation 2 (larger receptive field) -> channel
    attention. No internal residual: VSSBlock adds it through ``skip_scale2``.
    """

    def __init__(self, num_feat: int, is_light_sr: bool = False, compress_ratio: int = 3,
                 squeeze_factor: int = 30) -> None:
        super().__init__()
        self.is_light_sr = is_light_sr
        if is_light_sr:
            mid = num_feat // 2
            self.cab = nn.Sequential(
                nn.Conv2d(num_feat, mid, 1),
                nn.Conv2d(mid, mid, 3, padding=1, groups=mid),
                nn.GELU(),
                nn.Conv2d(mid, num_feat, 1),
                nn.Conv2d(num_feat, num_feat, 3, padding=2, dilation=2, groups=num_feat),
                ChannelAttention(num_feat, squeeze_factor),
            )
        else:
            mid = num_feat // compress_ratio
            self.cab = nn.Sequential(
                nn.Conv2d(num_feat, mid, 3, padding=1),
                nn.GELU(),
                nn.Conv2d(mid, num_feat, 3, padding=1),
                ChannelAttention(num_feat, squeeze_factor),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_light_sr and x.is_cuda and not torch.is_grad_enabled():
            return self.forward_light_inference(x)
        if torch.compiler.is_compiling() and x.is_cuda:
            return self.forward_compiled(x)
        return self.cab(x)

    def forward_light_inference(self, x: torch.Tensor) -> torch.Tensor:
        """The light block for CUDA inference: both depthwise convs by the depthwise kernel on the image
        viewed as tokens (free for a ``channels_last`` image), the GELU fused into the first. cuDNN has no
        fast kernel for the dilated one (115 us against 9 for 60 channels at 180x320, bf16, H100;
        ``tools/jobs/results/perf16-depthwise.txt``), and Inductor's stencil of it took ~23 us.
        """
        reduce, depthwise, _gelu, expand, dilated, attention = self.cab
        x = _depthwise_on_image(depthwise, reduce(x), activation="gelu")
        return attention(_depthwise_on_image(dilated, expand(x)))

    def forward_compiled(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` as written for a compiled region on CUDA: the same maths, shaped for the kernels.

        Light (reached only with autograd on, i.e. compiled training: inference takes
        :meth:`forward_light_inference`): the dilated depthwise conv is a stencil that Inductor fuses
        (:func:`.layers.depthwise_conv_stencil`; cuDNN has no fast kernel for it: 124 us against 23 for
        60 channels at 180x320, bf16, H100). Normal: channel counts padded with zeros to multiples of 8
        (C 180 -> 184, C/3 60 -> 64; zero weights, so the padding stays zero and is sliced off): cuDNN
        pads unaligned NHWC channels itself with extra copies and picks slower kernels (the two 3x3 convs
        took 108 + 122 us as they are, 58 + 63 us padded; ``tools/jobs/results/perf13-conv-ab.txt``).
        """
        if self.is_light_sr:
            for layer in self.cab:
                dilated_depthwise = (isinstance(layer, nn.Conv2d) and layer.groups == layer.in_channels > 1
                                     and layer.dilation[0] > 1)
                x = depthwise_conv_stencil(x, layer) if dilated_depthwise else layer(x)
            return x
        first, act, second, attention = self.cab
        channels = first.in_channels
        folded = [folded_weight(self, name) for name in ("w1", "b1", "w2", "b2")]
        w1, b1, w2, b2 = self._padded_convs() if folded[0] is None else folded
        x = F.pad(x, (0, 0, 0, 0, 0, aligned_width(channels) - channels))
        x = act(F.conv2d(x, w1, b1, padding=first.padding))
        x = F.conv2d(x, w2, b2, padding=second.padding)[:, :channels]
        return attention(x)

    def _padded_convs(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """The normal block's two 3x3 convs with channels zero-padded to multiples of 8 (weight, bias each)."""
        first, _act, second, _attention = self.cab
        c, mid = aligned_width(first.in_channels), aligned_width(first.out_channels)
        b1 = None if first.bias is None else zero_padded(first.bias, mid)
        b2 = None if second.bias is None else zero_padded(second.bias, c)
        return zero_padded(first.weight, mid, c), b1, zero_padded(second.weight, c, mid), b2

    def input_width(self) -> int:
        """Channels of the zero-padded rows :meth:`features_and_attention` reads: for the normal block run eagerly
        :func:`conv_input_width` (its first 3x3 conv's faster kernels; colour DN at 1280x720 793 -> 776 ms),
        else :func:`aligned_width` (the light block's first layer is a GEMM; compiled, Inductor wrote the
        wider rows through an extra permuted copy, colour DN 731 -> 770 ms: perf29e-ab.txt, perf29f-*).
        The output keeps :func:`aligned_width`."""
        channels = self.cab[0].in_channels
        if self.is_light_sr or torch.compiler.is_compiling():
            return aligned_width(channels)
        return conv_input_width(channels)

    def bias_column(self) -> int | None:
        """The padding column of :meth:`input_width`'s rows that :meth:`features_and_attention` needs to be
        ones, or None: where the first 3x3 conv reads the wider rows (:func:`conv_input_width`), its bias is
        folded into the centre tap of that column (``w1_wide``), so cuDNN runs no separate bias pass (colour
        DN at 1280x720: a read and a write of the 64-channel output per block)."""
        first = self.cab[0]
        if first.bias is None or self.input_width() == aligned_width(first.in_channels):
            return None
        return first.in_channels

    @torch.no_grad()
    def fold_inference_weights(self) -> None:
        """Keep, made once and in the layers' dtypes (:func:`.layers.fold_inference_weights`): the normal
        block's padded conv weights (:meth:`forward_compiled`, :meth:`features_and_attention`), and for an
        unaligned width :meth:`features_and_attention`'s zero-padded weights (the light block's 1x1 and depthwise
        convs with the depthwise kernel's tables, the channel attention's two 1x1 convs)."""
        if not self.is_light_sr:
            for name, tensor in zip(("w1", "b1", "w2", "b2"), self._padded_convs(), strict=True):
                if tensor is not None:
                    keep_folded(self, name, tensor)
            first = self.cab[0]
            wide = conv_input_width(first.in_channels)
            if wide != aligned_width(first.in_channels):  # the first conv's weight for input_width's wider rows
                w1_wide = zero_padded(first.weight, aligned_width(first.out_channels), wide)
                if first.bias is not None:  # read from bias_column's ones by the centre tap
                    w1_wide[: first.out_channels, first.in_channels, first.kernel_size[0] // 2,
                            first.kernel_size[1] // 2] = first.bias
                keep_folded(self, "w1_wide", w1_wide)
        channels = self.cab[0].in_channels
        width = aligned_width(channels)
        if width == channels:
            return
        _pool, squeeze, _relu, excite, _sigmoid = self.cab[-1].attention
        padded = {"squeeze": (squeeze, squeeze.out_channels, width), "excite": (excite, width, excite.in_channels)}
        if self.is_light_sr:
            reduce, depthwise, _gelu, expand, dilated, _attention = self.cab
            mid = aligned_width(reduce.out_channels)
            padded |= {"reduce": (reduce, mid, width), "depthwise": (depthwise, mid, 1),
                       "expand": (expand, width, mid), "dilated": (dilated, width, 1)}
        for name, (conv, rows, cols) in padded.items():
            weight = zero_padded(conv.weight, rows, cols)
            keep_folded(self, name, weight.flatten(1) if conv.kernel_size == (1, 1) else weight)
            if conv.bias is not None:
                keep_folded(self, name + "_bias", zero_padded(conv.bias, rows))
            if name in ("depthwise", "dilated"):
                keep_folded(self, name + "_taps", tap_table(weight))

    def features_and_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """:meth:`forward` of a channel-last image (B, H, W, C') whose channels are zero-padded to
        :meth:`input_width` (ones in :meth:`bias_column`, if any), as three factors: the convolved features
        (B, H, W, C') padded to :func:`aligned_width` (zeros there) in the convolutions' dtype, the channel
        attention's float32 weights (B, C'), and a bias (C') the features still lack, or None; the block's
        output is ``(features + bias) · attention``. Every layer runs on aligned rows with the weights
        :meth:`fold_inference_weights` padded, so no kernel pads or aligns anything. The light block's 1x1
        convs are GEMMs on the tokens (their bias in the GEMM) and its depthwise convs the depthwise kernel;
        the normal block's 3x3 convs run on the image viewed channel-first.

        Why factors: their product is float32 (a bf16 image times float32 weights), a second copy of the
        features at four bytes a value; :meth:`VSSBlock.forward_aligned` adds it into the residual stream in
        place instead (colour DN at 1280x720: 647 MiB of the eager peak). The second conv's bias is left to
        that same pass, where cuDNN would add it in a pass of its own."""
        bias = None
        if self.is_light_sr:
            b, h, w, width = x.shape
            _reduce, depthwise, _gelu, _expand, dilated, _attention = self.cab
            t = F.linear(x.reshape(b, h * w, width), folded_weight(self, "reduce"), folded_weight(self, "reduce_bias"))
            del x  # the caller's LayerNorm output
            t = depthwise_conv_tokens(t, folded_weight(self, "depthwise"), folded_weight(self, "depthwise_bias"),
                                      (h, w), padding=depthwise.padding[0], dilation=depthwise.dilation[0],
                                      activation="gelu", taps=folded_weight(self, "depthwise_taps"))
            t = F.linear(t, folded_weight(self, "expand"), folded_weight(self, "expand_bias"))
            t = depthwise_conv_tokens(t, folded_weight(self, "dilated"), folded_weight(self, "dilated_bias"),
                                      (h, w), padding=dilated.padding[0], dilation=dilated.dilation[0],
                                      taps=folded_weight(self, "dilated_taps"))
            y = t.reshape(b, h, w, width)
        else:
            first, act, second, _attention = self.cab
            if x.shape[-1] == aligned_width(first.in_channels):
                w1, b1 = folded_weight(self, "w1"), folded_weight(self, "b1")
            else:  # the wider rows, the bias in the weight (bias_column)
                w1, b1 = folded_weight(self, "w1_wide"), None
            y = act(F.conv2d(x.permute(0, 3, 1, 2), w1, b1, padding=first.padding))
            del x  # the caller's LayerNorm output, not needed by the second conv
            y = F.conv2d(y, folded_weight(self, "w2"), None, padding=second.padding).permute(0, 2, 3, 1)
            bias = folded_weight(self, "b2")
        # The channel attention on channel-last values: global mean, squeeze, ReLU, excite, sigmoid
        # (:func:`..ops.channel_mean.channel_attention`), the second conv's bias added to the mean.
        attention = channel_attention(y, folded_weight(self, "squeeze"), folded_weight(self, "squeeze_bias"),
                                      folded_weight(self, "excite"), folded_weight(self, "excite_bias"),
                                      mean_bias=bias)
        return y, attention, bias


def _depthwise_on_image(conv: nn.Conv2d, x: torch.Tensor, activation: str = "none") -> torch.Tensor:
    """``activation(conv(x))`` of an image (B, C, H, W) by :func:`.layers.conv_on_tokens`, returned as a
    ``channels_last`` image (the tokens it makes, viewed)."""
    size = (x.shape[-2], x.shape[-1])
    return tokens_to_image(conv_on_tokens(conv, image_to_tokens(x), size, activation=activation), size)


class VSSBlock(nn.Module):
    """Visual state-space block (official ``VSSBlock``), shared by MambaIR v1 and MambaIRUNet.

    Both branches are residual with learnt per-channel scales on the skip path; LayerNorms use
    eps 1e-5 (the official callers always pass ``nn.LayerNorm``). Input and output are tokens (B, H*W, C).
    """

    def __init__(self, hidden_dim: int, d_state: int = 16, expand: float = 2.0,
                 is_light_sr: bool = False) -> None:
        super().__init__()
        self.skip_scale = nn.Parameter(torch.ones(hidden_dim))
        self.skip_scale2 = nn.Parameter(torch.ones(hidden_dim))
        self.ln_1 = LayerNorm(hidden_dim)
        self.self_attention = SS2D(d_model=hidden_dim, d_state=d_state, expand=expand)
        self.conv_blk = CAB(hidden_dim, is_light_sr)
        self.ln_2 = LayerNorm(hidden_dim)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int], *, reuse_input: bool = False) -> torch.Tensor:
        """``reuse_input``: the caller holds ``x`` for nothing else, so :meth:`forward_aligned` may write the
        residual update into it (:class:`BasicLayer` says so for all but a group's first block)."""
        if self.runs_aligned(x):
            return self.forward_aligned(x, x_size, reuse_input=reuse_input)
        b, length, c = x.shape
        x = x.reshape(b, x_size[0], x_size[1], c)
        x = x * self.skip_scale + self.self_attention(self.ln_1(x))
        # On CUDA the CAB convs run in channels_last memory format (no copy in, none out); the CPU keeps the
        # official NCHW copy, which its convolutions prefer.
        layout = torch.channels_last if x.is_cuda else torch.contiguous_format
        conv = self.conv_blk(self.ln_2(x).permute(0, 3, 1, 2).contiguous(memory_format=layout)).permute(0, 2, 3, 1)
        x = x * self.skip_scale2 + conv
        return x.reshape(b, length, c)

    def runs_aligned(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward` takes :meth:`forward_aligned`: CUDA inference (compiled or not) of an
        unaligned width whose padded weights are folded."""
        return (x.is_cuda and self.self_attention.runs_fused(x)
                and folded_weight(self.self_attention, "in_proj") is not None
                and folded_weight(self.conv_blk, "squeeze") is not None)

    def forward_aligned(self, x: torch.Tensor, x_size: tuple[int, int], *,
                        reuse_input: bool = False) -> torch.Tensor:
        """:meth:`forward` with the branches on channels zero-padded to :func:`aligned_width` (the residual
        stream keeps its width): each LayerNorm writes aligned rows, and every GEMM and convolution of the
        branches reads and writes them with padded weights (:meth:`SS2D.fold_inference_weights`,
        :meth:`CAB.fold_inference_weights`).

        Why: a row of 60 or 180 bf16 channels is not a multiple of 16 bytes. Compiled, Inductor padded the
        operands around each GEMM itself (``force_shape_pad``), with a copy of the LayerNorm's output and a
        padded weight made every forward; the light block's 30-channel 1x1 convs ran in cuBLAS's unaligned
        kernels, their biases as separate passes. Eagerly, cuBLAS and cuDNN took their unaligned kernels (or
        padded inside), and each float32 LayerNorm output was cast before its GEMM; the Triton LayerNorm
        now writes the aligned rows in the autocast dtype itself.

        Memory, eagerly (a float32 copy of the features is 633 MiB for colour DN at 1280x720): each residual
        update is one pass after its branch (:func:`..ops.residual.scaled_residual`; ``x * scale`` first
        was a copy held through the branch), written into ``x`` itself where ``x`` is this block's own (the
        second always, the first with ``reuse_input``), and the channel attention's product goes straight
        into the sum (:meth:`CAB.features_and_attention`).
        """
        return self.forward_chained(x, x_size, reuse_input=reuse_input)

    def forward_chained(self, x: torch.Tensor, x_size: tuple[int, int], *, reuse_input: bool = False,
                        handoff: list[torch.Tensor] | None = None,
                        next_norm: nn.LayerNorm | None = None) -> torch.Tensor:
        """:meth:`forward_aligned` in a chain of blocks (:class:`BasicLayer`). ``handoff``: a list that holds
        this block's first LayerNorm of ``x`` as aligned rows (B, H, W, C') if the previous block made them,
        and that this block empties; with ``next_norm`` (the next block's first LayerNorm) it then holds that
        norm's rows of the result, which the last residual pass writes (the stream is not read back for it).

        Why a list: the rows are popped straight into the SS2D call, so that, as a temporary would, they die
        inside it once its input projection has read them. An argument or a local would keep them through
        the scan (0.32 GiB of colour DN's peak at 1280x720)."""
        b, length, c = x.shape
        width = aligned_width(c)
        x = x.reshape(b, x_size[0], x_size[1], c)
        attended = self.self_attention.forward_fused(
            handoff.pop() if handoff else layer_norm_to_width(x, self.ln_1, width), aligned=True)
        x, normed = scaled_residual_and_norm(
            x, self.skip_scale, attended, out=x if reuse_input else None, norm_weight=self.ln_2.weight,
            norm_bias=self.ln_2.bias, eps=self.ln_2.eps, width=self.conv_blk.input_width(),
            dtype=autocast_dtype(x), ones_column=self.conv_blk.bias_column())
        del attended
        features, attention, bias = self.conv_blk.features_and_attention(normed)
        del normed
        if next_norm is None:
            x = scaled_residual(x, self.skip_scale2, features, attention, branch_bias=bias, out=x)
            return x.reshape(b, length, c)
        x, next_rows = scaled_residual_and_norm(
            x, self.skip_scale2, features, attention, branch_bias=bias, out=x, norm_weight=next_norm.weight,
            norm_bias=next_norm.bias, eps=next_norm.eps, width=width, dtype=autocast_dtype(x))
        handoff.append(next_rows)
        return x.reshape(b, length, c)


class BasicLayer(nn.Module):
    """The chain of VSSBlocks inside one residual group (official ``BasicLayer``; no downsampling)."""

    def __init__(self, dim: int, depth: int, d_state: int = 16, mlp_ratio: float = 2.0,
                 is_light_sr: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            VSSBlock(dim, d_state=d_state, expand=mlp_ratio, is_light_sr=is_light_sr) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        handoff: list[torch.Tensor] = []  # the next block's first LayerNorm rows (VSSBlock.forward_chained)
        for i, block in enumerate(self.blocks):
            # A block after the first gets features only this loop holds: it may update them in place.
            # Not a compiled block's (an argument that changes would double its compiled entries, and
            # Inductor frees its intermediates itself).
            if getattr(block, "_restore_compiled", False):
                x = block(x, x_size)
            elif not block.runs_aligned(x):
                x = block(x, x_size, reuse_input=i > 0)
            else:  # uncompiled aligned blocks in a row: each one's last pass writes the next one's first norm
                following = self.blocks[i + 1] if i + 1 < len(self.blocks) else None
                chained = (following is not None and not getattr(following, "_restore_compiled", False)
                           and following.runs_aligned(x))
                x = block.forward_chained(x, x_size, reuse_input=i > 0, handoff=handoff,
                                          next_norm=following.ln_1 if chained else None)
        return x


def _resi_conv(dim: int, resi_connection: str) -> nn.Module:
    """The conv closing a residual group / the body: '1conv' (all released models) or '3conv'."""
    if resi_connection == "1conv":
        return nn.Conv2d(dim, dim, 3, 1, 1)
    if resi_connection == "3conv":
        return nn.Sequential(
            nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(dim // 4, dim // 4, 1, 1, 0), nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(dim // 4, dim, 3, 1, 1),
        )
    raise ValueError(f"resi_connection must be '1conv' or '3conv', not {resi_connection!r}")


class ResidualGroup(nn.Module):
    """Residual state-space group, RSSG (official ``ResidualGroup``): blocks -> conv 3x3 -> + input.

    The official per-group ``patch_embed``/``patch_unembed`` have no parameters; they are plain
    reshapes here.
    """

    def __init__(self, dim: int, depth: int, d_state: int = 16, mlp_ratio: float = 2.0,
                 resi_connection: str = "1conv", is_light_sr: bool = False) -> None:
        super().__init__()
        self.residual_group = BasicLayer(dim, depth, d_state=d_state, mlp_ratio=mlp_ratio,
                                         is_light_sr=is_light_sr)
        self.conv = _resi_conv(dim, resi_connection)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        y = self.residual_group(x, x_size)
        half = torch.get_autocast_dtype("cuda") if y.is_cuda and torch.is_autocast_enabled("cuda") else None
        inference = not torch.is_grad_enabled()  # folded weights are detached copies
        if inference and half in (torch.bfloat16, torch.float16) and folded_weight(self, "conv") is not None:
            return scaled_residual(x, None, self.conv_aligned(y, x_size, half))
        return image_module_on_tokens(self.conv, y, x_size) + x

    @torch.no_grad()
    def fold_inference_weights(self) -> None:
        """For an unaligned width (60, 180) keep the closing 3x3 conv's weights zero-padded to
        :func:`aligned_width` in and out (:meth:`conv_aligned`): :func:`.layers.fold_inference_weights`."""
        conv = self.conv
        if not isinstance(conv, nn.Conv2d) or aligned_width(conv.in_channels) == conv.in_channels:
            return  # '3conv', or aligned already
        width = aligned_width(conv.in_channels)
        keep_folded(self, "conv", zero_padded(conv.weight, width, width))
        if conv.bias is not None:
            keep_folded(self, "conv_bias", zero_padded(conv.bias, width))

    def conv_aligned(self, y: torch.Tensor, x_size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
        """The closing conv of (B, H*W, C) tokens in ``dtype`` on channels zero-padded to
        :func:`aligned_width` (weights folded so), as (B, H*W, C) tokens (a view of the padded result).

        Why: under autocast cuDNN pads unaligned channel-last operands itself, three padding kernels per
        call besides the cast of the input and of the weight (MambaIR classic, 720p: 18 padding kernels,
        0.37 ms a forward); here the cast writes the padded rows in one copy.
        """
        b, length, c = y.shape
        width = aligned_width(c)
        padded = y.new_zeros(b, length, width, dtype=dtype)
        padded[..., :c] = y
        bias = folded_weight(self, "conv_bias")
        with torch.autocast(y.device.type, enabled=False):
            out = F.conv2d(tokens_to_image(padded, x_size), folded_weight(self, "conv").to(dtype),
                           None if bias is None else bias.to(dtype), padding=self.conv.padding)
        return out.permute(0, 2, 3, 1).reshape(b, length, width)[..., :c]


class MambaIR(RestorationNet):
    """MambaIR v1 (official ``MambaIR``). NCHW in [0, 1] -> NCHW, any H x W (no padding needed).

    Args mirror the official constructor; ``img_size``, ``patch_size``, ``drop_rate``,
    ``drop_path_rate`` and ``use_checkpoint`` do not change the inference network and are accepted
    only so official configs build unchanged (upstream ``use_checkpoint=True`` is broken anyway).

    Args:
        in_chans: image channels (3 RGB; 1 for the gray JPEG models).
        embed_dim: feature width D (180 classic SR/DN/CAR, 60 light SR).
        depths: number of VSSBlocks per residual group.
        d_state: SSM state size.
        mlp_ratio: SS2D expansion, ``d_inner = int(mlp_ratio * embed_dim)``.
        norm_layer: norm after the embedding and after the body (LayerNorm upstream).
        patch_norm: whether the embedding has its LayerNorm (``patch_embed.norm``).
        upscale: SR factor (1 for DN/CAR).
        img_range: input scaling after mean subtraction (1.0 in every released config).
        upsampler: ``'pixelshuffle'`` (classic SR), ``'pixelshuffledirect'`` (light SR; also selects
            the light CAB, as upstream), anything else: same-size restoration head.
        resi_connection: ``'1conv'`` or ``'3conv'``.
    """

    #: Blocks that :func:`restore_cli.engine.compile.compile_blocks` compiles (``--compile``).
    compile_blocks = ("VSSBlock",)
    #: Inductor options for those blocks. A row of 180 bf16 channels is 360 bytes, not a multiple of 16,
    #: so cuBLAS and cuDNN fall back to slower kernels for the block's GEMMs and 3x3 convolutions (H100:
    #: 57,600 x 180 x 720 GEMM 158 us, 75 us with K padded to 184; CAB's 3x3 180 -> 60 conv 149 vs 87 us;
    #: ``tools/jobs/gemm_alignment_ab.py``). Padding intermediate strides to 16 bytes and the GEMMs'
    #: shapes (zeros: exact) made MambaIR classic x4 at 720p 8% faster in bf16 + ``--compile``, each
    #: alone did not (``tools/jobs/results/perf12-inductor-padding.txt``). Inductor pads on the GPU only.
    compile_options = (("padding_stride_threshold", 64), ("padding_alignment_bytes", 16), ("force_shape_pad", True))

    def compile_pays(self, block: nn.Module) -> bool:
        """Whether ``--compile`` compiles ``block`` (:func:`restore_cli.engine.compile.compile_blocks`): the
        light models' blocks only. The full-width ones (classic SR, colour DN, JPEG) run as fast or faster
        on the default path's own kernels, whose residual passes also write the next block's LayerNorm
        rows (H100, bf16, default -> every block compiled: classic x4 720p 68.5 -> 67.0 ms, at 4K whole
        633 -> 654 ms and in tiles of 270 754 -> 866 ms, colour DN 1280x720 677 -> 712 ms;
        ``tools/jobs/results/perf30h-*``, ``perf31b-bench-4k-bands.txt``), and skip the compiler's wait
        on the first image. MambaIR light x4: 10.7 -> 9.8 ms at 720p."""
        del block  # one answer for every block of a network
        return self.is_light_sr

    def __init__(
        self,
        img_size: int | Sequence[int] = 64,
        patch_size: int | Sequence[int] = 1,
        in_chans: int = 3,
        embed_dim: int = 96,
        depths: Sequence[int] = (6, 6, 6, 6),
        drop_rate: float = 0.0,
        d_state: int = 16,
        mlp_ratio: float = 2.0,
        drop_path_rate: float = 0.1,
        norm_layer: Callable[[int], nn.Module] = LayerNorm,
        patch_norm: bool = True,
        use_checkpoint: bool = False,
        upscale: int = 2,
        img_range: float = 1.0,
        upsampler: str = "",
        resi_connection: str = "1conv",
        **kwargs: Any,
    ) -> None:
        super().__init__()
        # Inference-irrelevant official arguments (see class docstring).
        del img_size, patch_size, drop_rate, drop_path_rate, use_checkpoint, kwargs
        upsampler = upsampler or ""
        if upsampler == "nearest+conv":
            raise ValueError(
                "MambaIR v1 has no 'nearest+conv' upsampler; use 'pixelshuffle' or 'pixelshuffledirect'"
            )
        self.embed_dim = embed_dim
        self.depths = tuple(int(d) for d in depths)
        self.d_state = d_state
        self.mlp_ratio = mlp_ratio
        self.is_light_sr = upsampler == "pixelshuffledirect"
        self.init_head(in_chans=in_chans, embed_dim=embed_dim, upscale=upscale, upsampler=upsampler,
                       img_range=img_range)
        if resi_connection != "1conv":
            self.conv_after_body = _resi_conv(embed_dim, resi_connection)
        self.patch_embed = PatchEmbed(embed_dim, norm_layer if patch_norm else None)
        self.layers = nn.ModuleList(
            ResidualGroup(embed_dim, depth, d_state=d_state, mlp_ratio=mlp_ratio,
                          resi_connection=resi_connection, is_light_sr=self.is_light_sr)
            for depth in self.depths
        )
        self.norm = norm_layer(embed_dim)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Deep features: (B, D, H, W) -> (B, D, H, W)."""
        x_size = (x.shape[2], x.shape[3])
        t = self.patch_embed(x)
        for layer in self.layers:
            t = layer(t, x_size)
        return tokens_to_image(self.norm(t), x_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, C, H*s, W*s); not clamped (the official code does not clamp)."""
        return self.forward_head(x)


def _classic_sr(scale: int) -> dict[str, Any]:
    return {"upscale": scale, "in_chans": 3, "img_size": 64, "img_range": 1.0, "d_state": 16,
            "depths": [6] * 6, "embed_dim": 180, "mlp_ratio": 2.0, "upsampler": "pixelshuffle",
            "resi_connection": "1conv"}


def _light_sr(scale: int) -> dict[str, Any]:
    return {"upscale": scale, "in_chans": 3, "img_size": 64, "img_range": 1.0, "d_state": 10,
            "depths": [6] * 4, "embed_dim": 60, "mlp_ratio": 1.2, "upsampler": "pixelshuffledirect",
            "resi_connection": "1conv"}


def _restoration(in_chans: int, img_size: int) -> dict[str, Any]:
    return {"upscale": 1, "in_chans": in_chans, "img_size": img_size, "img_range": 1.0, "d_state": 16,
            "depths": [6] * 6, "embed_dim": 180, "mlp_ratio": 1.2, "resi_connection": "1conv"}


# Released configurations, kwargs as the official test ymls (options/test/mambair/*.yml) spell them.
# The real-world SR x4 model is assumed to use the classic SR x4 config (unverified upstream).
RELEASED_CONFIGS: dict[str, dict[str, Any]] = {
    **{f"mambair_sr_x{s}": _classic_sr(s) for s in (2, 3, 4)},
    **{f"mambair_lightsr_x{s}": _light_sr(s) for s in (2, 3, 4)},
    "mambair_realsr_x4": _classic_sr(4),
    "mambair_dn_color": _restoration(3, 128),
    "mambair_car_gray": _restoration(1, 126),
}


__all__ = [
    "CAB", "RELEASED_CONFIGS", "SS2D", "BasicLayer", "MambaIR", "ResidualGroup", "VSSBlock", "cross_merge",
    "cross_scan",
]
