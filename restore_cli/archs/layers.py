"""Layers shared by the MambaIR family (and reused by the in-house linear-attention models).

Attribute names follow the official code (csguoh/MambaIR @ 33d7b34, Apache-2.0) so that official
state dicts load with ``strict=True``: ``attention.1``/``attention.3`` in channel attention,
``upsample.{0,2,...}`` for the pixel-shuffle upsampler, ``patch_embed.norm`` and so on.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import depthwise_conv
from ..ops.layer_norm import LayerNorm

# DIV2K RGB mean used by every MambaIR/MambaIRv2 SR, DN and CAR model.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention (RCAN): global pool -> 1x1 -> ReLU -> 1x1 -> sigmoid."""

    def __init__(self, num_feat: int, squeeze_factor: int = 16) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(num_feat, num_feat // squeeze_factor, 1, padding=0),
            nn.ReLU(inplace=True),
            nn.Conv2d(num_feat // squeeze_factor, num_feat, 1, padding=0),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class LayoutKeepingPixelShuffle(nn.PixelShuffle):
    """``nn.PixelShuffle`` that returns a ``channels_last`` result for a ``channels_last`` input.

    Why: ``F.pixel_shuffle`` returns a channel-first tensor whatever its input's layout, so in the
    classic head (channels-last under CUDA autocast, see ``RestorationNet.head_channels_last``) every conv
    after a shuffle converted its input back first. The same shuffle of channels-last storage
    ``(B, H, W, C, r, r)`` is one permute to ``(B, H, r, W, r, C)``: the values are F.pixel_shuffle's,
    exactly. MambaIR classic x4 head from 180x320, H100: 1697 -> 1249 us
    (``tools/jobs/results/perf19-pixel-shuffle-layout.txt``). Other inputs take ``F.pixel_shuffle``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        b, c, h, w = x.shape
        r = self.upscale_factor
        stored = x.permute(0, 2, 3, 1).reshape(b, h, w, c // (r * r), r, r)
        moved = stored.permute(0, 1, 4, 2, 5, 3).reshape(b, h * r, w * r, c // (r * r))
        return moved.permute(0, 3, 1, 2)


class Upsample(nn.Sequential):
    """Classic-SR upsampler: 2^n x [conv 3x3 to 4C, PixelShuffle(2)], or [conv to 9C, PixelShuffle(3)]."""

    def __init__(self, scale: int, num_feat: int) -> None:
        m: list[nn.Module] = []
        if scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                m.append(nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1))
                m.append(LayoutKeepingPixelShuffle(2))
        elif scale == 3:
            m.append(nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1))
            m.append(LayoutKeepingPixelShuffle(3))
        else:
            raise ValueError(f"scale {scale} is not supported; supported scales are 2^n and 3")
        super().__init__(*m)


class UpsampleOneStep(nn.Sequential):
    """Lightweight-SR upsampler: one conv 3x3 to s^2 * out channels, then PixelShuffle(s)."""

    def __init__(self, scale: int, num_feat: int, num_out_ch: int) -> None:
        super().__init__(nn.Conv2d(num_feat, (scale**2) * num_out_ch, 3, 1, 1), nn.PixelShuffle(scale))


class PatchEmbed(nn.Module):
    """(B, C, H, W) -> (B, H*W, C) tokens, with the model's only embedding LayerNorm."""

    def __init__(self, embed_dim: int, norm_layer: Callable[[int], nn.Module] | None = LayerNorm) -> None:
        super().__init__()
        self.norm = norm_layer(embed_dim) if norm_layer is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(2).transpose(1, 2)
        return self.norm(x) if self.norm is not None else x


def autocast_dtype(t: torch.Tensor) -> torch.dtype:
    """The dtype the next GEMM would cast ``t`` to: the autocast dtype where autocast is on, else float32 (or
    ``t``'s own dtype where it is wider): what a kernel writing the GEMM's input directly should write."""
    if torch.is_autocast_enabled(t.device.type):
        return torch.get_autocast_dtype(t.device.type)
    return torch.promote_types(t.dtype, torch.float32)


def tokens_to_image(x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
    """(B, H*W, C) tokens -> (B, C, H, W) image: a view, channels-last for contiguous tokens.

    Written as a reshape to (B, H, W, C) and a permute so that the view has a batch stride of H·W·C even
    for B = 1. (``transpose(1, 2).reshape(...)`` gave B = 1 a batch stride of C, with which PyTorch's
    convolutions no longer see a channels-last input and return a channel-first image.)
    """
    b, _, c = x.shape
    return x.reshape(b, x_size[0], x_size[1], c).permute(0, 3, 1, 2)


def image_to_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) image -> (B, H*W, C) tokens."""
    return x.flatten(2).transpose(1, 2)


def image_module_on_tokens(module: nn.Module, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
    """``module`` (a conv, or a stack of them) on (B, H*W, C) tokens viewed as an image; returns contiguous
    (B, H*W, C_out) tokens: a view of a channels-last result, one copy of a channel-first one.

    Why contiguous: the conv closing each residual group feeds the residual stream. Read back from a
    channel-first image (what every batch of one got before :func:`tokens_to_image` was a true
    channels-last view), the stream has stride 1 along the tokens, and every later LayerNorm, residual add
    and compiled block reads across its rows (Inductor's LayerNorms became looped, strided reductions of
    60-90 us a call instead of ~28): MambaIRv2 Base's compiled 180x320 forward took 67.8 ms of GPU time
    with that stream, 62.1 ms with contiguous tokens (H100, ``tools/jobs/results/perf19-v2-stream-layout.txt``).
    """
    y = module(tokens_to_image(x, x_size))
    return y.permute(0, 2, 3, 1).contiguous().view(y.shape[0], -1, y.shape[1])  # (reshape could keep a view)


_ACTIVATION_NAMES = {nn.GELU: "gelu", nn.SiLU: "silu", nn.Sigmoid: "sigmoid"}


def conv_on_tokens(conv: nn.Module, x: torch.Tensor, x_size: tuple[int, int], *, activation: str = "none",
                   combine: str = "none", other: torch.Tensor | None = None) -> torch.Tensor:
    """``combine(x, activation(conv(x)))`` on (B, H*W, C) tokens; ``conv`` is a ``Conv2d``, or a
    ``Sequential`` of one and elementwise layers; ``combine``: ``none``, ``add`` or ``mul`` (with ``x``, or
    with ``other``, tokens of the same shape, where given).

    Tokens are an image in channel-last memory order, so the convolution runs on them in place. A
    depthwise conv on CUDA (every one the catalog's models run on tokens) is one Triton kernel with its
    bias, activation and combination fused (:mod:`restore_cli.ops.depthwise_conv`: about twice as fast as
    cuDNN's channel-last kernel with a bias plus the elementwise passes; its weight table is cached on the
    module).
    Other convolutions run in PyTorch's ``channels_last`` format (cuDNN's channel-last kernels), whose
    result is tokens again without a copy; the official layout (channel-first images) costs a transpose
    each way. Inside a compiled region both are one opaque operator (Inductor turns grouped convolutions
    back to channel-first and copies the tokens to get there).
    """
    layers = list(conv) if isinstance(conv, nn.Sequential) else [conv]
    first = layers[0]
    if not isinstance(first, nn.Conv2d):
        raise TypeError(f"conv_on_tokens needs a Conv2d first, not {type(first).__name__}")
    dtype = x.dtype
    if torch.is_autocast_enabled(x.device.type):  # the dtype the convolution would run in under autocast
        dtype = torch.get_autocast_dtype(x.device.type)
    x = x.to(dtype)
    fused = _fused_activation(layers[1:], activation)
    if fused is not None and _plain_depthwise(first) and depthwise_conv.use_triton(x):
        return depthwise_conv.depthwise_conv_tokens(
            x, first.weight, first.bias, x_size, padding=first.padding[0], dilation=first.dilation[0],
            activation=fused, combine=combine, other=other, taps=_tap_table(first), backend="triton")
    weight = first.weight.to(dtype)
    bias = None if first.bias is None else first.bias.to(dtype)
    geometry = (x_size[0], x_size[1], first.padding[0], first.dilation[0], first.groups)
    if torch.compiler.is_compiling():
        # The bias is added outside the operator, where Inductor fuses it with the elementwise kernel
        # that follows (cuDNN adds a bias as a separate broadcast pass: 2.4 ms of MambaIR classic's 87 at
        # 720p); and the operator gets dense tokens, so that a strided slice (a chunk of a projection)
        # is copied by Inductor, fused where a producer allows, instead of inside the operator.
        y = conv2d_tokens_op(x.contiguous(), weight, None, *geometry)
        if bias is not None:
            y = y + bias
    else:
        y = _conv2d_tokens(x, weight, bias, *geometry)
    for layer in layers[1:]:  # elementwise (activations): layout-free
        y = layer(y)
    y = depthwise_conv.ACTIVATION_FNS[activation](y)
    return depthwise_conv.COMBINE_FNS[combine](x if other is None else other, y)


def _fused_activation(layers: list[nn.Module], activation: str) -> str | None:
    """The one activation the kernel applies for the module's elementwise layers and the caller's
    ``activation`` (``"none"`` for neither), or None where they are not one the kernel knows."""
    names = [_ACTIVATION_NAMES.get(type(layer)) for layer in layers]
    if None in names or any(getattr(layer, "approximate", "none") != "none" for layer in layers):
        return None  # not elementwise, or GELU's tanh form
    if activation != "none":
        names.append(activation)
    if len(names) > 1:
        return None
    return names[0] if names else "none"


def _plain_depthwise(conv: nn.Conv2d) -> bool:
    """One filter per channel, square kernel, stride 1, zero padding keeping the size."""
    k, pad, dil = conv.kernel_size[0], conv.padding, conv.dilation[0]
    return (conv.groups == conv.in_channels == conv.out_channels and conv.kernel_size == (k, k)
            and conv.stride == (1, 1) and isinstance(pad, tuple) and pad == (pad[0], pad[0])
            and conv.dilation == (dil, dil) and 2 * pad[0] == dil * (k - 1) and conv.padding_mode == "zeros")


def _tap_table(conv: nn.Conv2d) -> torch.Tensor:
    """The depthwise kernel's weight table: the one folded into ``conv`` (:func:`fold_inference_weights`) if
    any, else kept on the module while its weight is unchanged.

    Eager inference would otherwise remake it (a small copy kernel) at every call; in a compiled region
    without a folded table it is made in the graph, once per forward.
    """
    from ..ops.depthwise_conv import tap_table

    folded = folded_weight(conv, "taps")
    if folded is not None:
        return folded
    if torch.compiler.is_compiling():
        return tap_table(conv.weight)
    weight = conv.weight
    # An inference tensor (a module moved to its device under inference mode) keeps no version counter;
    # it can only be changed in place under inference mode, which inference code does not do.
    key = (weight.device, weight.data_ptr(), None if weight.is_inference() else weight._version)
    cached = getattr(conv, "_restore_tap_table", None)
    if cached is None or cached[0] != key:
        cached = (key, tap_table(weight))
        conv._restore_tap_table = cached
    return cached[1]


#: Prefix of the buffers :func:`fold_inference_weights` adds: tensors made from weights alone.
FOLDED_PREFIX = "folded_"


def keep_folded(module: nn.Module, name: str, tensor: torch.Tensor) -> None:
    """Store ``tensor``, made from ``module``'s weights alone, as its non-persistent buffer ``folded_<name>``
    (it follows the module to its device and stays out of the state dict)."""
    module.register_buffer(FOLDED_PREFIX + name, tensor.detach(), persistent=False)


def folded_weight(module: nn.Module, name: str) -> torch.Tensor | None:
    """The tensor :func:`keep_folded` stored as ``name``, or None."""
    return getattr(module, FOLDED_PREFIX + name, None)


@torch.no_grad()
def fold_inference_weights(module: nn.Module) -> int:
    """Make, once, the tensors that ``module``'s inference forwards derive from weights alone, and keep them
    on the submodules that use them; returns how many submodules.

    Why: every forward otherwise remakes them, one small kernel each (MambaIR light, 720p, H100: a dozen per
    block, ~1.5 us of GPU time apiece plus the gap to the next kernel); inside a compiled region they are
    graph inputs like the weights. A submodule folds by its own ``fold_inference_weights()`` method
    (MambaIR's SS2D, CAB and ResidualGroup, with the zero-padded weights of their aligned paths; MambaIRv2's
    ASSM); depthwise convolutions get the depthwise kernel's weight table. Folded tensors
    are made from the weights as they are now, in their dtype (call this after
    ``store_matmul_weights_in``): the engine folds after loading, for inference; loading a state dict into
    ``module`` afterwards drops them (a hook), and code that changes weights in place otherwise must call
    :func:`unfold_inference_weights` or fold again.
    """
    count = 0
    for sub in module.modules():
        fold = getattr(sub, "fold_inference_weights", None)
        if callable(fold):
            fold()
            count += 1
        elif isinstance(sub, nn.Conv2d) and _plain_depthwise(sub):
            keep_folded(sub, "taps", depthwise_conv.tap_table(sub.weight))
            count += 1
    if count and not getattr(module, "_restore_unfold_hook", False):
        module.register_load_state_dict_post_hook(_unfold_after_loading)
        module._restore_unfold_hook = True
    return count


def _unfold_after_loading(module: nn.Module, _incompatible_keys: object) -> None:
    unfold_inference_weights(module)


def unfold_inference_weights(module: nn.Module) -> int:
    """Drop every tensor :func:`fold_inference_weights` made in ``module``; returns how many."""
    count = 0
    for sub in module.modules():
        for name in [n for n in sub._buffers if n.startswith(FOLDED_PREFIX)]:
            del sub._buffers[name]
            count += 1
    return count


def _conv2d_tokens(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, height: int, width: int,
                   padding: int, dilation: int, groups: int) -> torch.Tensor:
    """Square-kernel, stride-1 conv of (B, H*W, C) tokens in ``channels_last`` format -> (B, H*W, C_out)."""
    b, n, c = x.shape
    image = x.reshape(b, height, width, c).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    with torch.autocast(x.device.type, enabled=False):  # operands already in the dtype to run in
        y = F.conv2d(image, weight, bias, padding=padding, dilation=dilation, groups=groups)
    return y.permute(0, 2, 3, 1).reshape(b, n, -1)


@torch.library.custom_op("restore::conv2d_tokens", mutates_args=())
def conv2d_tokens_op(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, height: int, width: int,
                     padding: int, dilation: int, groups: int) -> torch.Tensor:
    """:func:`_conv2d_tokens` as one operator for ``torch.compile`` (contiguous tokens)."""
    return _conv2d_tokens(x, weight, bias, height, width, padding, dilation, groups).contiguous()


@conv2d_tokens_op.register_fake
def _(x, weight, bias, height, width, padding, dilation, groups):
    return x.new_empty(x.shape[0], x.shape[1], weight.shape[0])


def depthwise_conv_stencil(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A depthwise, stride-1 ``conv`` on an image (B, C, H, W) as a sum of k² shifted, weighted copies.

    Same maths as ``conv(x)`` (zero padding); written for a compiled region, where Inductor turns the
    sum into one elementwise kernel that reads each neighbour in place and fuses with what comes before
    and after. cuDNN has fast channel-last kernels for plain depthwise convs but falls back to a slow
    grouped one for some shapes (MambaIR light's dilated 3x3: see ``CAB``).
    """
    k, pad, dil = conv.kernel_size[0], conv.padding[0], conv.dilation[0]
    height, width = x.shape[-2:]
    padded = F.pad(x, (pad, pad, pad, pad))
    weight = conv.weight.to(x.dtype)
    y = None
    for i in range(k):
        for j in range(k):
            tap = padded[..., i * dil : i * dil + height, j * dil : j * dil + width] * weight[:, 0, i, j, None, None]
            y = tap if y is None else y + tap
    if conv.bias is not None:
        y = y + conv.bias.to(x.dtype)[:, None, None]
    return y


#: Low-resolution rows, each side, that the output rows of one input row depend on in the upsampling
#: tails: each 3x3 conv reaches one row at its own resolution and a shuffle or nearest interpolation
#: rounds down to its input's row. Followed row by row, every tail here (pixelshuffle x2, x3, x4 and
#: nearest+conv) reaches 3 rows; ``tests/archs/test_head_bands.py`` checks that 2 are too few.
UPSAMPLING_TAIL_HALO = 3


def in_row_bands(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, scale: int, halo: int, max_out_pixels: int
) -> torch.Tensor:
    """``fn(x)`` for an ``fn`` that maps (B, C, H, W) to (B, C', H·scale, W·scale) with each output row
    depending on input rows within ``halo`` of its own: computed over bands of input rows, each with
    ``halo`` rows of context either side that are cropped from its output, so that no more than about
    ``max_out_pixels`` output pixels (times the batch) are in flight. The same values as one call, up to
    the rounding of the convolution algorithms that the band shapes pick; one call when it fits anyway.
    """
    batch, _, height, width = x.shape
    rows = max(1, max_out_pixels // max(1, batch * width * scale * scale))
    if rows >= height:
        return fn(x)
    bands = []
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        first, last = max(0, top - halo), min(height, bottom + halo)
        y = fn(x[:, :, first:last])
        bands.append(y[:, :, (top - first) * scale : (bottom - first) * scale])
    return torch.cat(bands, dim=2)


class RestorationNet(nn.Module):
    """Shallow conv, deep body, reconstruction head and mean shift shared by MambaIR and MambaIRv2.

    Subclasses call :meth:`init_head` in ``__init__`` and implement :meth:`forward_features`
    (B, D, H, W) -> (B, D, H, W); :meth:`forward_head` then applies the official head for
    ``upsampler`` in ``{'pixelshuffle', 'pixelshuffledirect', 'nearest+conv', ''}``.
    The mean is a non-persistent buffer: it follows the module's device and is absent from official
    state dicts.
    """

    upscale: int
    upsampler: str
    img_range: float
    #: the forward pass can be captured in a CUDA graph (see :mod:`restore_cli.engine.graphs`)
    cuda_graph_safe = True
    #: every ``nn.Linear``, and every convolution but depthwise ones inside the compiled blocks, runs under
    #: autocast: inference in half precision may store their weights in that dtype
    #: (:func:`restore_cli.engine.model.store_matmul_weights_in`; tested per architecture)
    matmuls_under_autocast = True
    #: Run the float32 image-space convolutions after the shallow one on channels-last tensors: ``None``
    #: (the default) does so on CUDA under autocast, where TF32 is allowed. On NCHW tensors cuDNN picks
    #: FFMA kernels or converts layouts around each conv; on channels-last ones it runs TF32 tensor-core
    #: kernels. Head GPU time, H100 (``tools/jobs/results/perf18-head-layout.txt``): MambaIRv2 light
    #: 414 -> 290 us, MambaIR light 442 -> 213 us (rel 3e-4 from TF32, well under bf16's error), classic
    #: SR 2.32 -> 2.13 ms, colour denoising at 1280x720 14.4 -> 6.9 ms. The shallow conv (3 input
    #: channels) takes a channels-last input too, so that its output, the body's input and the residual
    #: added after the body share the layout (mixed layouts made strided copies and adds).
    #: ``--precision fp32`` (TF32 off, no autocast) keeps the tensors' own layouts.
    head_channels_last: bool | None = None
    #: Output pixels per band of the upsampling tail (:func:`in_row_bands`). That tail runs in float32 at
    #: up to the output's size: MambaIR classic x4 to 3840x2160 made a 64 -> 256 conv's 2.1 GB output and
    #: its 2.1 GB shuffled copy at once, which set the whole image's peak (5.3 GiB, H100, bf16). In bands
    #: of 2^20 output pixels the tail holds about 0.5 GB, whatever the image size. Inference only: with
    #: gradients on, autograd would keep every band's activations, so bands would only add the halos' work.
    tail_band_pixels: int = 1 << 20

    def init_head(
        self, *, in_chans: int, embed_dim: int, upscale: int, upsampler: str, img_range: float,
        num_feat: int = 64, allow_nearest_conv: bool = False,
    ) -> None:
        self.img_range = img_range
        self.upscale = upscale
        self.upsampler = upsampler
        self.in_chans = in_chans
        # A non-persistent buffer: it follows the module to its device (no host-to-device copy per
        # forward, which would also break CUDA-graph capture) and stays out of the state_dict, as the
        # official plain attribute does.
        mean = torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1) if in_chans == 3 else torch.zeros(1, 1, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        self.conv_after_body = nn.Conv2d(embed_dim, embed_dim, 3, 1, 1)
        if upsampler == "pixelshuffle":
            self.conv_before_upsample = nn.Sequential(
                nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU(inplace=True)
            )
            self.upsample = Upsample(upscale, num_feat)
            self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)
        elif upsampler == "pixelshuffledirect":
            self.upsample = UpsampleOneStep(upscale, embed_dim, in_chans)
        elif upsampler == "nearest+conv" and allow_nearest_conv:
            if upscale != 4:
                raise ValueError("the 'nearest+conv' upsampler supports only upscale=4")
            self.conv_before_upsample = nn.Sequential(
                nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU(inplace=True)
            )
            self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        else:
            # Denoising / JPEG artefact removal: same-size output, global residual.
            self.conv_last = nn.Conv2d(embed_dim, in_chans, 3, 1, 1)

    @property
    def scale(self) -> int:
        """Output size / input size (1 for same-size tasks)."""
        return self.upscale if self.upsampler in ("pixelshuffle", "pixelshuffledirect", "nearest+conv") else 1

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise, run shallow conv + body + head, de-normalise (official order of operations).

        The image-space convolutions (the shallow conv, the conv closing the body, the upsampling head)
        run in float32 even under bf16/fp16 autocast: they hold the image's own values, where 8 bits of
        mantissa show (they were 40% of the bf16 output error of MambaIR light and colour denoising),
        and they are a few percent of the FLOPs. The deep body keeps the autocast dtype.
        """
        mean = self.mean.to(device=x.device, dtype=x.dtype)
        x = (x - mean) * self.img_range
        dtype = self.conv_first.weight.dtype  # float32 unless the whole network was cast
        channels_last = self.head_channels_last
        if channels_last is None:
            channels_last = x.is_cuda and torch.is_autocast_enabled(x.device.type)
        layout = torch.channels_last if channels_last else torch.preserve_format
        with torch.autocast(x.device.type, enabled=False):
            # channels-last here also makes the body's tokens a free view of ``first`` (no transposing copy)
            first = self.conv_first(x.to(dtype=dtype, memory_format=layout))
        body = self.forward_features(first)
        with torch.autocast(x.device.type, enabled=False):
            res = self.conv_after_body(body.to(dtype=dtype, memory_format=layout)) + first
            if self.upsampler in ("pixelshuffle", "nearest+conv"):  # training: one call (see tail_band_pixels)
                x = self.upsampling_tail(res) if torch.is_grad_enabled() else in_row_bands(
                    self.upsampling_tail, res, scale=self.upscale, halo=UPSAMPLING_TAIL_HALO,
                    max_out_pixels=self.tail_band_pixels)
            elif self.upsampler == "pixelshuffledirect":
                x = self.upsample(res)
            else:
                x = x + self.conv_last(res)
        return x / self.img_range + mean

    def upsampling_tail(self, res: torch.Tensor) -> torch.Tensor:
        """The classic-SR head after the body (``pixelshuffle``, ``nearest+conv``): features -> image."""
        if self.upsampler == "pixelshuffle":
            return self.conv_last(self.upsample(self.conv_before_upsample(res)))
        x = self.conv_before_upsample(res)
        x = self.lrelu(self.conv_up1(F.interpolate(x, scale_factor=2, mode="nearest")))
        x = self.lrelu(self.conv_up2(F.interpolate(x, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(x)))
