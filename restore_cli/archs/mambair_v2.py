"""MambaIRv2 and MambaIRv2Light: attentive state-space restoration (Guo et al., CVPR 2025).

Paper: "MambaIRv2: Attentive State Space Restoration", arXiv:2411.15269.
Origin: csguoh/MambaIR @ 33d7b34, ``basicsr/archs/mambairv2_arch.py`` and
``basicsr/archs/mambairv2light_arch.py``; code and released weights under Apache-2.0. This is a
re-implementation from the project's specification (``shared/reference/mambair.md`` §4), not a copy.

Class, constructor and attribute names follow the official code, so released checkpoints load with
``strict=True`` and unmapped, in the official ``state_dict`` order. v2Light differs from v2 only in its
feed-forward (``GatedMLP`` in place of ``ConvFFN``).

Official behaviours reproduced on purpose (each is documented where it happens):

- The route prompt is added in the *original* token order to the C of the *sorted* sequence
  (:class:`Selective_Scan`; csguoh/MambaIR issue #115). Fixing it changes the outputs.
- ``mean`` is a plain attribute, not a buffer; ``relative_position_index_SA`` is a persistent int64
  buffer stored in the checkpoints.
- Inputs are mirror-padded ("symmetric", edge included) to a multiple of the window size and cropped
  back. The official padding fails for a side shorter than half a window; ours repeats the mirror
  there and is identical everywhere else (:func:`.windows.symmetric_pad_indices`).

Routing (§4.4 of the reference). The official model draws a Gumbel sample even in ``eval()`` and sorts
tokens with an unstable sort, so its outputs are not reproducible. ``routing="argmax"`` (default) uses
the exact one-hot of the argmax of the route log-probabilities and a stable sort: deterministic, and
what the parity fixtures were made with. ``routing="gumbel"`` reproduces the official sampling with an
explicit :class:`torch.Generator` (see :meth:`MambaIRv2.set_routing`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.class_order import route_classes, stable_class_order
from ..ops.gather_rows import gather_rows
from ..ops.layer_norm import LayerNorm
from ..ops.layer_norm import use_triton as use_triton_layer_norm
from ..ops.residual import scaled_residual, scaled_residual_and_norm
from ..ops.residual import use_triton as use_triton_residual
from ..ops.scan import selective_scan, selective_scan_tokens
from ..ops.window_attention import attention_bias, window_attention
from .layers import (
    PatchEmbed,
    RestorationNet,
    autocast_dtype,
    conv_on_tokens,
    folded_weight,
    image_module_on_tokens,
    image_to_tokens,
    keep_folded,
    tokens_to_image,
)
from .windows import (
    padded_size,
    relative_position_index,
    shifted_window_mask,
    symmetric_pad,
    window_partition,
    window_reverse,
)

ROUTING_MODES = ("argmax", "gumbel")


# --------------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------------


class RoutingConfig:
    """Routing and scan settings shared (by reference) by every :class:`ASSM` of one model.

    Not module state: nothing here is in the ``state_dict``. One object per model, so two models never
    share a generator and there is no process-wide switch.

    Args:
        mode: ``"argmax"`` (deterministic) or ``"gumbel"`` (official stochastic sampling).
        seed: for ``"gumbel"``, seed of a private generator created on the input's device on first use;
            ``None`` draws from PyTorch's default generator, exactly as the official code does.
        generator: for ``"gumbel"``, an explicit generator to draw from (overrides ``seed``); it must
            live on the device the model runs on.
        scan_backend: backend name passed to :func:`restore_cli.ops.scan.selective_scan`.
    """

    def __init__(
        self,
        mode: str = "argmax",
        *,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        scan_backend: str = "auto",
    ) -> None:
        self.scan_backend = scan_backend
        self.configure(mode, seed=seed, generator=generator)

    def configure(
        self, mode: str, *, seed: int | None = None, generator: torch.Generator | None = None
    ) -> None:
        """Set the routing mode and noise source; drops any generator created from an earlier seed."""
        if mode not in ROUTING_MODES:
            raise ValueError(f"routing must be one of {', '.join(ROUTING_MODES)}, not {mode!r}")
        self.mode = mode
        self.seed = seed
        self.generator = generator
        self._per_device: dict[str, torch.Generator] = {}

    def generator_for(self, device: torch.device) -> torch.Generator | None:
        """Generator to draw Gumbel noise from on ``device`` (None: PyTorch's default generator)."""
        if self.generator is not None:
            if torch.device(self.generator.device).type != device.type:
                raise ValueError(
                    f"the routing generator is on {self.generator.device} but the model runs on {device}; "
                    "pass a generator created with torch.Generator(device=...) for that device"
                )
            return self.generator
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._per_device:
            self._per_device[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._per_device[key]


def gumbel_one_hot(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``F.gumbel_softmax(logits, tau=1, hard=True, dim=-1)`` with an explicit generator.

    ``F.gumbel_softmax`` has no ``generator`` argument, so the noise is drawn here the way PyTorch draws
    it: ``E ~ Exp(1)`` via ``exponential_`` and ``g = -log(E)`` (the same Gumbel(0, 1) variable as
    ``-log(-log(U))``, U uniform); then ``y_soft = softmax(logits + g)`` and the straight-through hard
    sample ``one_hot(argmax y_soft) - y_soft.detach() + y_soft``. With a generator seeded like the default
    one, the result equals ``F.gumbel_softmax`` bit for bit.
    """
    gumbels = -torch.empty_like(logits, memory_format=torch.legacy_contiguous_format).exponential_(
        generator=generator
    ).log()
    y_soft = (logits + gumbels).softmax(-1)
    index = y_soft.max(-1, keepdim=True)[1]
    y_hard = torch.zeros_like(logits, memory_format=torch.legacy_contiguous_format).scatter_(-1, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# --------------------------------------------------------------------------------------------------
# Feed-forward blocks
# --------------------------------------------------------------------------------------------------


def fast_path(module: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``module`` takes its channel-last CUDA inference path for ``x``.

    Tokens (B, h·w, C) are the image in channel-last memory order, so the depthwise convolutions
    (:func:`.layers.conv_on_tokens`) and the scan (:func:`restore_cli.ops.scan.selective_scan_tokens`)
    can read them in place, where the official code transposes to channel-first images and sequences
    and back. The maths is the same. Taken on CUDA without autograd while the module's
    ``fast_inference`` switch is on (the reference benchmark path turns it off through
    :func:`restore_cli.archs.configure_scan`).
    """
    return bool(module.fast_inference) and x.is_cuda and not torch.is_grad_enabled()


def norm_parameters(norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None, float, int]:
    """(weight and bias of the real channels, eps, row width) of a LayerNorm or :class:`AlignedLayerNorm`."""
    real = getattr(norm, "real", norm.weight.shape[0])
    bias = None if norm.bias is None else norm.bias[:real]
    return norm.weight[:real], bias, norm.eps, norm.weight.shape[0]


def normalised_in_autocast_dtype(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm(x)`` for a GEMM or convolution to read: where the Triton LayerNorm runs (CUDA inference, not
    compiled), its one kernel writes the rows in the autocast dtype they would be cast to (the float32 rows
    and the cast were two more passes over them); elsewhere ``norm(x)``."""
    if not use_triton_layer_norm(x, norm.weight):
        return norm(x)
    from ..ops.layer_norm.triton import layer_norm_triton

    weight, bias, eps, width = norm_parameters(norm)
    return layer_norm_triton(x[..., : weight.shape[0]], weight, bias, eps, out_width=width,
                             out_dtype=autocast_dtype(x))


class DWConv(nn.Module):
    """Depthwise k×k conv + GELU on tokens viewed as an image (official class name ``dwconv``)."""

    def __init__(self, hidden_features: int, kernel_size: int = 5) -> None:
        super().__init__()
        self.depthwise_conv = nn.Sequential(
            nn.Conv2d(hidden_features, hidden_features, kernel_size, 1, (kernel_size - 1) // 2,
                      groups=hidden_features),
            nn.GELU(),
        )
        self.fast_inference = True  # runtime switch (not a weight): see :func:`fast_path`

    def forward(self, x: torch.Tensor, x_size: tuple[int, int], *, add_input: bool = False) -> torch.Tensor:
        """``dwconv(x)``, or ``x + dwconv(x)`` with ``add_input`` (one kernel on the fast path)."""
        if fast_path(self, x):  # the tokens are the channel-last image: convolve them in place
            return conv_on_tokens(self.depthwise_conv, x, x_size, combine="add" if add_input else "none")
        y = image_to_tokens(self.depthwise_conv(tokens_to_image(x, x_size)))
        return x + y if add_input else y


class ConvFFN(nn.Module):
    """MambaIRv2 feed-forward: ``fc2(y + dwconv(y))`` with ``y = gelu(fc1(x))``."""

    def __init__(self, in_features: int, hidden_features: int | None = None, out_features: int | None = None,
                 kernel_size: int = 5) -> None:
        super().__init__()
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.dwconv = DWConv(hidden_features, kernel_size)
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        x = self.act(self.fc1(x))
        return self.fc2(self.dwconv(x, x_size, add_input=True))


class Gate(nn.Module):
    """Spatial gate of :class:`GatedMLP`: ``x1 * dwconv5x5(LayerNorm(x2))`` on the two channel halves."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = LayerNorm(dim)
        self.conv = nn.Conv2d(dim, dim, 5, 1, 2, groups=dim)
        self.fast_inference = True  # runtime switch (not a weight): see :func:`fast_path`

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=-1)
        if fast_path(self, x2):
            x2 = normalised_in_autocast_dtype(self.norm, x2)
            if torch.compiler.is_compiling():  # Inductor fuses the product with its neighbours itself
                return x1 * conv_on_tokens(self.conv, x2, x_size)
            # the product in the convolution's epilogue, one pass fewer over the tokens (H100, 4K whole:
            # 61.7 -> 61.1 ms eagerly; compiled it cost 0.3-0.7 ms; tools/jobs/results/perf33f/g-ab.txt)
            return conv_on_tokens(self.conv, x2, x_size, combine="mul", other=x1)
        x2 = self.norm(x2)
        return x1 * image_to_tokens(self.conv(tokens_to_image(x2, x_size)))


class GatedMLP(nn.Module):
    """MambaIRv2Light feed-forward: ``fc2(gate(gelu(fc1(x))))``.

    The gate's 5×5 kernel is fixed; ``convffn_kernel_size`` does not apply.
    """

    def __init__(self, in_features: int, hidden_features: int | None = None,
                 out_features: int | None = None) -> None:
        super().__init__()
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.sg = Gate(hidden_features // 2)
        self.fc2 = nn.Linear(hidden_features // 2, out_features or in_features)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        return self.fc2(self.sg(self.act(self.fc1(x)), x_size))


# --------------------------------------------------------------------------------------------------
# Window attention
# --------------------------------------------------------------------------------------------------


class WindowAttention(nn.Module):
    """Multi-head self-attention inside ws×ws windows with a learned relative position bias.

    The qkv projection lives on the layer (``wqkv``), so this module takes packed qkv tokens. Channels
    split as (3, heads, head_dim): q, k, v blocks, each head-major.
    """

    def __init__(self, dim: int, window_size: int, num_heads: int) -> None:
        super().__init__()
        self.dim = dim
        self.window_size = window_size
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # runtime switch (not a weight): the layer's one-kernel path on CUDA, see :func:`fast_path`
        self.fast_inference = True

    @torch.no_grad()
    def fold_inference_weights(self) -> None:
        """Keep the (heads, ws², ws²) bias of the relative position table made once (its lookup and copy
        were two kernels per layer and forward): :func:`.layers.fold_inference_weights`."""
        index = relative_position_index(self.window_size).to(self.relative_position_bias_table.device)
        keep_folded(self, "bias", attention_bias(self.relative_position_bias_table, index))

    def forward(self, qkv: torch.Tensor, rpi: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B·nW, ws², 3D) packed qkv -> (B·nW, ws², D); ``mask`` is (nW, ws², ws²) or None."""
        b_, n, c3 = qkv.shape
        c = c3 // 3
        qkv = qkv.reshape(b_, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[rpi.reshape(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b_ // nw, nw, self.num_heads, n, n) + mask.to(attn.dtype)[None, :, None]
            attn = attn.view(-1, self.num_heads, n, n)
        x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b_, n, c)
        return self.proj(x)


# --------------------------------------------------------------------------------------------------
# Attentive state space
# --------------------------------------------------------------------------------------------------


class Selective_Scan(nn.Module):  # official spelling, kept so the code reads against upstream
    """One-direction selective scan (K = 1, G = 1) whose C is shifted by the route prompt.

    Parameters keep the official stacked layout: ``x_proj_weight`` (1, R+2N, Hd), ``dt_projs_weight``
    (1, Hd, R), ``dt_projs_bias`` (1, Hd), ``A_logs`` (Hd, N), ``Ds`` (Hd), with R = ceil(Hd / 16).
    """

    def __init__(self, d_model: int, d_state: int = 16, expand: float = 1.0,
                 routing: RoutingConfig | None = None) -> None:
        super().__init__()
        self.d_model = d_model
        self.d_state = d_state
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16)
        self.routing_config = routing or RoutingConfig()
        d, r, n = self.d_inner, self.dt_rank, self.d_state
        bound = 1 / math.sqrt(d)
        self.x_proj_weight = nn.Parameter(torch.empty(1, r + 2 * n, d).uniform_(-bound, bound))
        self.dt_projs_weight = nn.Parameter(torch.empty(1, d, r).uniform_(-(r**-0.5), r**-0.5))
        # dt bias = softplus^-1(dt) with dt log-uniform in [1e-3, 0.1] (the Mamba initialisation).
        dt = torch.exp(torch.rand(d) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
        self.dt_projs_bias = nn.Parameter((dt + torch.log(-torch.expm1(-dt)))[None])
        self.A_logs = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(d, 1))
        self.Ds = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        """Scan (B, Hd, L) tokens, already in sorted order, with ``prompt`` (B, L, N); return (B, Hd, L).

        Official quirk, kept for parity: ``prompt`` arrives in the *original* token order while ``x`` is
        sorted, and it is added to C position by position without being permuted (issue #115).
        """
        n, r = self.d_state, self.dt_rank
        x_dbl = self.x_proj_weight[0] @ x  # (B, R+2N, L)
        dts, Bs, Cs = torch.split(x_dbl, [r, n, n], dim=1)
        dts = self.dt_projs_weight[0] @ dts  # (B, Hd, L)
        Cs = Cs.float() + prompt.float().transpose(1, 2)
        y = selective_scan(
            x.float(), dts.float(), -torch.exp(self.A_logs.float()), Bs.float()[:, None], Cs[:, None],
            self.Ds.float(), delta_bias=self.dt_projs_bias[0].float(), delta_softplus=True,
            backend=self.routing_config.scan_backend,
        )
        return y.to(x.dtype)


class ASSM(nn.Module):
    """Attentive state-space module: route tokens to T prompts, scan them grouped by prompt, unsort.

    Tokens are sorted by their routed class (the semantic neighbour order, "SGN-unfold"), scanned once,
    and put back in place ("SGN-fold"). The class comes from :class:`RoutingConfig`: the argmax of the
    route log-probabilities, or a seeded Gumbel sample as in the official code. The sort is stable in
    both modes (the official one is not, which makes its tie order unspecified).
    """

    def __init__(self, dim: int, d_state: int, num_tokens: int = 64, inner_rank: int = 128,
                 mlp_ratio: float = 2.0, routing: RoutingConfig | None = None) -> None:
        super().__init__()
        self.dim = dim
        self.d_state = d_state
        self.num_tokens = num_tokens
        self.inner_rank = inner_rank
        self.routing_config = routing or RoutingConfig()
        hidden = int(dim * mlp_ratio)
        self.selectiveScan = Selective_Scan(hidden, d_state, expand=1, routing=self.routing_config)
        self.out_norm = LayerNorm(hidden)
        self.out_proj = nn.Linear(hidden, dim)
        self.in_proj = nn.Sequential(nn.Conv2d(dim, hidden, 1, 1, 0))
        self.CPE = nn.Sequential(nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden))
        self.embeddingB = nn.Embedding(num_tokens, inner_rank)
        nn.init.uniform_(self.embeddingB.weight, -1 / num_tokens, 1 / num_tokens)
        self.route = nn.Sequential(
            nn.Linear(dim, dim // 3), nn.GELU(), nn.Linear(dim // 3, num_tokens), nn.LogSoftmax(dim=-1)
        )
        self.fast_inference = True  # runtime switch (not a weight): see :func:`fast_path`

    def forward(self, x: torch.Tensor, x_size: tuple[int, int], token: nn.Embedding) -> torch.Tensor:
        """(B, n, D) normalised tokens (row-major over the padded canvas) -> (B, n, D).

        ``token`` is the layer's ``embeddingA`` (r, N); the prompt dictionary is
        ``embeddingB @ embeddingA`` (T, N).
        """
        y, rows = self.forward_sorted(x, x_size, token)
        return y if rows is None else y.gather(1, rows[:, :, None].expand_as(y))  # SGN-fold

    def forward_sorted(self, x: torch.Tensor, x_size: tuple[int, int],
                       token: nn.Embedding) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`forward` without its last step on the fast path: (the output in the scan's sorted token
        order, the (B, n) row of each token in it), so that the residual pass reads it in place
        (:func:`..ops.residual.scaled_residual`'s ``branch_rows``) instead of a gather copying it back;
        elsewhere (the output in token order, None)."""
        full_embedding = self.embeddingB.weight @ token.weight  # (T, N)
        logits = self.route[:3](x)  # (B, n, T) in the GEMMs' dtype
        prompt = None
        if self.routing_config.mode == "gumbel":
            # Log-probabilities in float32. CUDA autocast already runs LogSoftmax in float32; CPU autocast
            # would round its output to bf16, where the top log-probabilities (near -log T) tie for nearly
            # every token. (Routing wholly in float32 cost 2.4 ms of GPU time per 720p v2 Base forward for
            # rel L2 6.1e-4 -> 5.9e-4.)
            log_probs = self.route[3](logits.float())
            policy = gumbel_one_hot(log_probs, self.routing_config.generator_for(log_probs.device))
            prompt = policy @ full_embedding
            cls = policy.detach().argmax(-1)
        else:
            # The argmax of the log-probabilities is that of the logits (see route_classes); the exact
            # one-hot times the dictionary is a row lookup (0·v and +0 are exact), made where it is added.
            cls = route_classes(logits)
        # (B, n) tokens sorted by class with ties in token order, and the positions that undo it
        order, inverse = stable_class_order(cls, self.num_tokens)

        if fast_path(self, x):
            return self.forward_fused(x, x_size, order, prompt=prompt, classes=cls, dictionary=full_embedding), inverse
        if prompt is None:
            prompt = full_embedding[cls]
        v = self.in_proj(tokens_to_image(x, x_size))
        v = (v * torch.sigmoid(self.CPE(v))).flatten(2)  # (B, Hd, n)
        v = v.gather(2, order[:, None, :].expand_as(v))  # SGN-unfold
        y = self.selectiveScan(v, prompt).transpose(1, 2)  # (B, n, Hd), sorted order
        y = self.out_proj(self.out_norm(y))
        return y.gather(1, inverse[:, :, None].expand_as(y)), None  # SGN-fold

    def scan_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward_fused`'s x-projection weight, rows reordered to [B, C, delta rank, zero padding] (a
        multiple of 8), and its delta weight, whose input is the rank columns with the zero padding after
        them (zero weights there): K a multiple of 8 at a 16-byte offset, so cuBLAS takes its aligned kernels.
        """
        scan = self.selectiveScan
        hidden, n, r = scan.d_inner, scan.d_state, scan.dt_rank
        width = -(-(2 * n + r) // 8) * 8
        weight = scan.x_proj_weight[0]
        projection = torch.cat([weight[r:], weight[:r], weight.new_zeros(width - 2 * n - r, hidden)])
        return projection, F.pad(scan.dt_projs_weight[0], (0, width - 2 * n - r))

    @torch.no_grad()
    def fold_inference_weights(self) -> None:
        """Keep :meth:`forward_fused`'s weight-only tensors made once (:meth:`scan_weights` in ``out_proj``'s
        dtype, the autocast dtype once the engine stored the linears in it; ``A = -exp(A_log)``):
        :func:`.layers.fold_inference_weights`. (The prompt dictionary, ``embeddingB @ embeddingA``, stays
        per forward: its dtype follows autocast.)"""
        dtype = self.out_proj.weight.dtype
        projection, delta = self.scan_weights()
        keep_folded(self, "projection", projection.to(dtype))
        keep_folded(self, "delta", delta.to(dtype))
        keep_folded(self, "A", -torch.exp(self.selectiveScan.A_logs.float()))

    def forward_fused(self, x: torch.Tensor, x_size: tuple[int, int], order: torch.Tensor, *,
                      prompt: torch.Tensor | None = None, classes: torch.Tensor | None = None,
                      dictionary: torch.Tensor | None = None) -> torch.Tensor:
        """The value path of :meth:`forward` on channel-last tokens (CUDA inference, see :func:`fast_path`),
        up to its output in the sorted order (:meth:`forward_sorted`). The (B, n, N) ``prompt`` is given
        (Gumbel routing) or is the ``dictionary`` (T, N) row of each token's class in ``classes``, picked
        where it is added to C (:func:`..ops.gather_rows.gather_rows`).

        Same maths as the official layout: the 1x1 ``in_proj`` is a GEMM on tokens, the position conv
        reads them in place, the sorted tokens are gathered as rows (one pass,
        :func:`..ops.gather_rows.gather_rows`), the x-projection (rows reordered to
        [B, C, delta rank, zero padding], a multiple of 8 wide, so B and C start 16-byte aligned and the
        kernel reads them as vectors) and the delta projection are token GEMMs, and the scan reads and
        writes (B, n, Hd) through strides. The scan operands stay in the GEMMs' dtype (the official code
        copies them to float32; the kernel converts on load, so the values are the same) and the state
        is float32.
        """
        scan = self.selectiveScan
        hidden, n = scan.d_inner, scan.d_state
        in_proj = self.in_proj[0]
        v = F.linear(x, in_proj.weight.view(hidden, -1), in_proj.bias)  # (B, n, Hd)
        v = conv_on_tokens(self.CPE, v, x_size, activation="sigmoid", combine="mul")  # v * sigmoid(CPE(v))
        v = gather_rows(v, order)  # SGN-unfold, (B, n, Hd)
        folded = folded_weight(self, "projection")
        weight, delta_weight = self.scan_weights() if folded is None else (folded, folded_weight(self, "delta"))
        proj = F.linear(v, weight)  # (B, n, width): B, C, delta rank, padding
        delta = F.linear(proj[..., 2 * n :], delta_weight)  # (B, n, Hd)
        # the official quirk: the prompt in the original token order, added to the sorted C
        if prompt is None:
            C = gather_rows(dictionary, classes, addend=proj[..., n : 2 * n])
        else:
            C = proj[..., n : 2 * n].float() + prompt.float()
        a = folded_weight(self, "A")
        y = selective_scan_tokens(
            v, delta, -torch.exp(scan.A_logs.float()) if a is None else a, proj[..., :n], C, scan.Ds.float(),
            delta_bias=scan.dt_projs_bias[0].float(), delta_softplus=True, backend=self.routing_config.scan_backend,
        )
        return self.out_proj(normalised_in_autocast_dtype(self.out_norm, y))


# --------------------------------------------------------------------------------------------------
# Layers and groups
# --------------------------------------------------------------------------------------------------


class AttentiveLayer(nn.Module):
    """Window MHSA + FFN, then ASSM + FFN, each half with a learned skip scale (``scale1``/``scale2``).

    Layers with odd index use shifted windows (``shift_size = ws // 2``) and the shared shift mask.
    ``light=True`` builds the v2Light feed-forwards (:class:`GatedMLP`).
    """

    def __init__(self, dim: int, d_state: int, num_heads: int, window_size: int, shift_size: int,
                 inner_rank: int, num_tokens: int, convffn_kernel_size: int, mlp_ratio: float,
                 qkv_bias: bool = True, norm_layer: Callable[[int], nn.Module] = LayerNorm,
                 light: bool = False, routing: RoutingConfig | None = None) -> None:
        super().__init__()
        self.dim = dim
        self.window_size = window_size
        self.shift_size = shift_size
        self.scale1 = nn.Parameter(1e-4 * torch.ones(dim))
        self.scale2 = nn.Parameter(1e-4 * torch.ones(dim))
        self.norm1 = norm_layer(dim)
        self.norm2 = norm_layer(dim)
        self.norm3 = norm_layer(dim)
        self.norm4 = norm_layer(dim)
        self.wqkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.win_mhsa = WindowAttention(dim, window_size, num_heads)
        self.assm = ASSM(dim, d_state, num_tokens=num_tokens, inner_rank=inner_rank, mlp_ratio=mlp_ratio,
                         routing=routing)
        hidden = int(dim * mlp_ratio)
        if light:
            self.convffn1: nn.Module = GatedMLP(dim, hidden, dim)
            self.convffn2: nn.Module = GatedMLP(dim, hidden, dim)
        else:
            self.convffn1 = ConvFFN(dim, hidden, kernel_size=convffn_kernel_size)
            self.convffn2 = ConvFFN(dim, hidden, kernel_size=convffn_kernel_size)
        self.embeddingA = nn.Embedding(inner_rank, d_state)
        nn.init.uniform_(self.embeddingA.weight, -1 / inner_rank, 1 / inner_rank)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int], attn_mask: torch.Tensor,
                rpi: torch.Tensor) -> torch.Tensor:
        shortcut = x
        attn = self.attention(self.norm1(x), x_size, attn_mask, rpi)
        # The residual sums add a branch (bf16 under autocast) to the float32 stream: PyTorch runs such a
        # mixed-dtype sum in its element-by-element casting loop, scaled_residual in one Triton pass
        # (CUDA inference; elsewhere the same sums in PyTorch).
        x_win = scaled_residual(shortcut, None, attn)
        x_win = scaled_residual(x_win, None, self.convffn1(self.norm2(x_win), x_size))
        x = torch.addcmul(x_win, shortcut, self.scale1)

        shortcut = x
        x_aca = scaled_residual(x, None, self.assm(self.norm3(x), x_size, self.embeddingA))
        x = scaled_residual(x_aca, None, self.convffn2(self.norm4(x_aca), x_size))
        return torch.addcmul(x, shortcut, self.scale2)

    def attention(self, normed: torch.Tensor, x_size: tuple[int, int], attn_mask: torch.Tensor,
                  rpi: torch.Tensor) -> torch.Tensor:
        """Window attention of the (B, n, C) normalised tokens: the (B, n, C) branch before its residual sum."""
        h, w = x_size
        b, n, c = normed.shape
        ws, shift = self.window_size, self.shift_size
        qkv = self.wqkv(normed).reshape(b, h, w, -1)  # 3·c, or wider with padded heads (aligned)
        mhsa = self.win_mhsa
        if fast_path(mhsa, qkv):
            # one kernel reads the windows in place and writes the image where it applies (see
            # restore_cli.ops.window_attention; elsewhere the same function computes as the branch below)
            bias = folded_weight(mhsa, "bias")
            if bias is None:
                bias = attention_bias(mhsa.relative_position_bias_table, rpi)
            attn = mhsa.proj(window_attention(qkv, bias, num_heads=mhsa.num_heads, window_size=ws, shift=shift,
                                              scale=mhsa.scale))
        else:
            if shift > 0:
                qkv = torch.roll(qkv, shifts=(-shift, -shift), dims=(1, 2))
            windows = window_partition(qkv, ws).reshape(-1, ws * ws, qkv.shape[-1])
            attn = mhsa(windows, rpi, attn_mask if shift > 0 else None)
            attn = window_reverse(attn.view(-1, ws, ws, c), ws, h, w)
            if shift > 0:
                attn = torch.roll(attn, shifts=(shift, shift), dims=(1, 2))
        return attn.reshape(b, n, c)

    def runs_chained(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward_chained` applies: CUDA inference on the Triton LayerNorm and residual
        kernels, this layer not compiled (a compiled one fuses the same passes itself)."""
        return (fast_path(self.win_mhsa, x) and use_triton_residual(x) and use_triton_layer_norm(x, self.norm1.weight)
                and not getattr(self, "_restore_compiled", False))

    def forward_chained(self, x: torch.Tensor, x_size: tuple[int, int], attn_mask: torch.Tensor, rpi: torch.Tensor,
                        *, handoff: list[torch.Tensor], next_norm: nn.Module | None = None) -> torch.Tensor:
        """:meth:`forward` in five passes over the stream besides the branches (CUDA inference, see
        :meth:`runs_chained`): each residual sum writes the LayerNorm that reads it next, in the GEMMs'
        dtype (:func:`..ops.residual.scaled_residual_and_norm`); each half's last sum adds its skip
        ``shortcut · scale`` in the same pass; the routed branch is read in its sorted order
        (``branch_rows``). ``handoff`` holds this layer's first LayerNorm rows if the layer before made them
        (this layer empties it); with ``next_norm`` (the next layer's first LayerNorm) the last pass puts
        that norm's rows of the result there.

        Why: PyTorch's passes were five LayerNorms in float32, a cast of each before its GEMM, two
        ``addcmul`` and a gather of the routed branch; MambaIRv2 Base at 180x320 on an H100 spent about 25
        of its 89 ms of GPU time in them (``tools/jobs/results/perf32b-profiles-v2.txt``)."""
        shortcut = x
        normed = handoff.pop() if handoff else normalised_in_autocast_dtype(self.norm1, x)
        attn = self.attention(normed, x_size, attn_mask, rpi)
        del normed
        x_win, normed = self.residual_and_norm(x, None, attn, self.norm2)
        del attn
        ffn = self.convffn1(normed, x_size)
        del normed
        x, normed = self.residual_and_norm(shortcut, self.scale1, ffn, self.norm3, extra=x_win, out=x_win)
        del ffn, x_win
        shortcut = x
        routed, rows = self.assm.forward_sorted(normed, x_size, self.embeddingA)
        del normed
        x_aca, normed = self.residual_and_norm(x, None, routed, self.norm4, branch_rows=rows)
        del routed
        ffn = self.convffn2(normed, x_size)
        del normed
        if next_norm is None:
            return scaled_residual(shortcut, self.scale2, ffn, extra=x_aca, out=x_aca)
        x, next_rows = self.residual_and_norm(shortcut, self.scale2, ffn, next_norm, extra=x_aca, out=x_aca)
        handoff.append(next_rows)
        return x

    @staticmethod
    def residual_and_norm(x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor, norm: nn.Module,
                          **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``x · scale + branch (+ extra)`` and ``norm`` of it, as rows in the dtype of the GEMM that reads them."""
        weight, bias, eps, width = norm_parameters(norm)
        return scaled_residual_and_norm(x, scale, branch, norm_weight=weight, norm_bias=bias, eps=eps, width=width,
                                        dtype=autocast_dtype(x), **kwargs)


class BasicBlock(nn.Module):
    """The ``depth`` attentive layers of one ASSB, alternating plain and shifted windows."""

    def __init__(self, dim: int, d_state: int, depth: int, num_heads: int, window_size: int,
                 inner_rank: int, num_tokens: int, convffn_kernel_size: int, mlp_ratio: float,
                 qkv_bias: bool = True, norm_layer: Callable[[int], nn.Module] = LayerNorm,
                 light: bool = False, routing: RoutingConfig | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            AttentiveLayer(dim, d_state, num_heads, window_size, 0 if i % 2 == 0 else window_size // 2,
                           inner_rank, num_tokens, convffn_kernel_size, mlp_ratio, qkv_bias, norm_layer,
                           light=light, routing=routing)
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor, x_size: tuple[int, int], attn_mask: torch.Tensor,
                rpi: torch.Tensor) -> torch.Tensor:
        handoff: list[torch.Tensor] = []  # the next layer's first LayerNorm rows (AttentiveLayer.forward_chained)
        for i, layer in enumerate(self.layers):
            if not layer.runs_chained(x):
                x = layer(x, x_size, attn_mask, rpi)
                continue
            following = self.layers[i + 1] if i + 1 < len(self.layers) else None
            chained = following is not None and following.runs_chained(x)
            x = layer.forward_chained(x, x_size, attn_mask, rpi, handoff=handoff,
                                      next_norm=following.norm1 if chained else None)
        return x


def _residual_conv(dim: int, resi_connection: str) -> nn.Module:
    """The conv closing a group/body: 3×3 (``'1conv'``) or the 3-conv bottleneck (``'3conv'``)."""
    if resi_connection == "1conv":
        return nn.Conv2d(dim, dim, 3, 1, 1)
    if resi_connection == "3conv":
        return nn.Sequential(
            nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(dim // 4, dim // 4, 1, 1, 0), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(dim // 4, dim, 3, 1, 1),
        )
    raise ValueError(f"resi_connection must be '1conv' or '3conv', not {resi_connection!r}")


class ASSB(nn.Module):
    """Attentive state-space block: ``conv3x3(layers(t) as image) as tokens + t``."""

    def __init__(self, dim: int, d_state: int, depth: int, num_heads: int, window_size: int,
                 inner_rank: int, num_tokens: int, convffn_kernel_size: int, mlp_ratio: float,
                 qkv_bias: bool = True, norm_layer: Callable[[int], nn.Module] = LayerNorm,
                 resi_connection: str = "1conv", light: bool = False,
                 routing: RoutingConfig | None = None) -> None:
        super().__init__()
        self.residual_group = BasicBlock(dim, d_state, depth, num_heads, window_size, inner_rank, num_tokens,
                                         convffn_kernel_size, mlp_ratio, qkv_bias, norm_layer, light=light,
                                         routing=routing)
        self.conv = _residual_conv(dim, resi_connection)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int], attn_mask: torch.Tensor,
                rpi: torch.Tensor) -> torch.Tensor:
        y = self.residual_group(x, x_size, attn_mask, rpi)
        return scaled_residual(x, None, image_module_on_tokens(self.conv, y, x_size))


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class MambaIRv2(RestorationNet):
    """MambaIRv2 (classic/light SR, denoising, JPEG CAR) with the official constructor.

    Args:
        img_size, patch_size, use_checkpoint: accepted for official configs; they do not change the net.
        in_chans: image channels (3 RGB, 1 gray CAR).
        embed_dim: D. d_state: N. depths, num_heads: per ASSB. window_size: ws.
        inner_rank: r of the prompt dictionary. num_tokens: T prompts.
        convffn_kernel_size: depthwise kernel of ConvFFN. mlp_ratio: Hd = int(D * mlp_ratio).
        qkv_bias: bias of ``wqkv``. norm_layer: LayerNorm factory (eps 1e-5).
        ape: absolute position embedding; only ``False`` (as every release) is supported.
        patch_norm: LayerNorm after the shallow conv (``patch_embed.norm``).
        upscale, upsampler, img_range, resi_connection: as the official configs.
        routing: ``"argmax"`` (deterministic, default) or ``"gumbel"`` (official sampling).
        routing_seed: seed of the Gumbel generator (``None``: PyTorch's default generator).
        scan_backend: backend of :func:`restore_cli.ops.scan.selective_scan`.
    """

    #: Blocks that :func:`restore_cli.engine.compile.compile_blocks` compiles (``--compile``).
    compile_blocks = ("AttentiveLayer",)
    #: Tiles per forward pass once compiled (None: as many as ``--batch-size`` asks). It was 1 from the
    #: sixteenth to the nineteenth session: compiled MambaIRv2 Base given four 192x256 tiles at once drifted
    #: from the uncompiled network (rel L2 up to 5e-3 against 6e-4) in about one process in four
    #: (``tools/jobs/results/perf16-v2-batch-drift.txt``; not the routing, ``perf17-v2-routing.txt``; cause
    #: never found). Since the residual stream is tokens-major (nineteenth session) it has not drifted in
    #: ten processes, six of them with fresh Inductor caches (four tiles per pass rel L2 6.2e-4, as one;
    #: ``perf19m-v2-batch-drift.txt``, ``perf20c-v2-batch-drift.txt``), and four tiles per pass are 8% faster
    #: at 4K (H100, bf16: 687 -> 631 ms; MambaIRv2 light 218 vs 220 ms; ``perf20a-v2-tile-batch-ab.txt``).
    compiled_tile_batch: int | None = None

    _light = False

    def __init__(
        self,
        img_size: int = 64,
        patch_size: int = 1,
        in_chans: int = 3,
        embed_dim: int = 48,
        d_state: int = 8,
        depths: Sequence[int] = (6, 6, 6, 6),
        num_heads: Sequence[int] = (4, 4, 4, 4),
        window_size: int = 16,
        inner_rank: int = 32,
        num_tokens: int = 64,
        convffn_kernel_size: int = 5,
        mlp_ratio: float = 2.0,
        qkv_bias: bool = True,
        norm_layer: Callable[[int], nn.Module] = LayerNorm,
        ape: bool = False,
        patch_norm: bool = True,
        use_checkpoint: bool = False,
        upscale: int = 2,
        img_range: float = 1.0,
        upsampler: str = "",
        resi_connection: str = "1conv",
        *,
        routing: str = "argmax",
        routing_seed: int | None = None,
        scan_backend: str = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if ape:
            raise ValueError("ape=True (absolute position embedding) is not supported; no released "
                             "MambaIRv2 config uses it")
        if len(depths) != len(num_heads):
            raise ValueError(f"depths {list(depths)} and num_heads {list(num_heads)} differ in length")
        # The buffer is registered first so it leads the state_dict, as in the official checkpoints.
        self.register_buffer("relative_position_index_SA", relative_position_index(window_size))
        self.window_size = window_size
        self.embed_dim = embed_dim
        self._routing = RoutingConfig(routing, seed=routing_seed, scan_backend=scan_backend)
        self.init_head(in_chans=in_chans, embed_dim=embed_dim, upscale=upscale, upsampler=upsampler,
                       img_range=img_range, allow_nearest_conv=True)
        self.patch_embed = PatchEmbed(embed_dim, norm_layer if patch_norm else None)
        self.layers = nn.ModuleList(
            ASSB(embed_dim, d_state, depths[i], num_heads[i], window_size, inner_rank, num_tokens,
                 convffn_kernel_size, mlp_ratio, qkv_bias, norm_layer, resi_connection, light=self._light,
                 routing=self._routing)
            for i in range(len(depths))
        )
        self.norm = norm_layer(embed_dim)
        if resi_connection != "1conv":
            self.conv_after_body = _residual_conv(embed_dim, resi_connection)
        self.apply(_init_linear_and_norm)
        self._official_module_order()
        self._aligned_width = 0  # set by align_channels

    def _official_module_order(self) -> None:
        """Order children as the official class registers them, so ``state_dict()`` lists keys in the
        official order (``conv_first``, ``patch_embed``, ``layers``, ``norm``, ``conv_after_body``, head).
        Loading does not depend on it; comparing key lists with official files does.
        """
        first = ("conv_first", "patch_embed", "layers", "norm", "conv_after_body")
        modules = self._modules
        ordered = {k: modules[k] for k in first if k in modules}
        ordered.update((k, v) for k, v in modules.items() if k not in ordered)
        modules.clear()
        modules.update(ordered)

    # -- routing -------------------------------------------------------------------------------------

    @property
    def routing(self) -> str:
        """Current routing mode: ``"argmax"`` or ``"gumbel"``."""
        return self._routing.mode

    @property
    def cuda_graph_safe(self) -> bool:  # type: ignore[override]
        """Only argmax routing may be captured: a replayed graph would reuse gumbel routing's captured draw."""
        return self._routing.mode == "argmax"

    def set_routing(self, mode: str, *, seed: int | None = None,
                    generator: torch.Generator | None = None) -> None:
        """Switch routing for every ASSM of this model.

        ``"gumbel"`` reproduces the official ``F.gumbel_softmax(hard=True)`` sampling, which PyTorch offers
        only from the global generator; here the noise comes from ``generator`` if given, else from a
        private generator seeded with ``seed`` (re-seeded by each call), else from the global generator
        as the official code does. The draws continue across layers and forward calls, like the official
        run seeded once; call ``set_routing`` again to restart the stream. Tokens are then ordered with a
        stable sort, so a seed fixes the output on one device and software stack.
        """
        self._routing.configure(mode, seed=seed, generator=generator)

    @property
    def scan_backend(self) -> str:
        """Selective-scan backend used by every ASSM (see :mod:`restore_cli.ops.scan`)."""
        return self._routing.scan_backend

    @scan_backend.setter
    def scan_backend(self, name: str) -> None:
        self._routing.scan_backend = name

    # -- forward -------------------------------------------------------------------------------------

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) on the padded canvas -> (B, D, h, w)."""
        x_size = (x.shape[2], x.shape[3])
        attn_mask = shifted_window_mask(*x_size, self.window_size, device=x.device).to(x.dtype)
        rpi = self.relative_position_index_SA
        width = self._aligned_width
        if width:  # zero channels up to the aligned width (see align_channels); sliced off below
            x = F.pad(x, (0, 0, 0, 0, 0, width - x.shape[1]))
        t = self.patch_embed(x)
        for layer in self.layers:
            t = layer(t, x_size, attn_mask, rpi)
        return tokens_to_image(self.norm(t), x_size)[:, : self.embed_dim]

    def align_channels(self) -> bool:
        """Zero-pad every width of the body to a multiple of 8, in place; same function, faster GPU GEMMs.

        See :func:`align_mambairv2`. Returns whether anything changed (widths already aligned: no).
        """
        return align_mambairv2(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, C, H·s, W·s); any H, W >= 1 (mirror-padded to the window)."""
        h0, w0 = x.shape[-2:]
        x = symmetric_pad(x, padded_size(h0, self.window_size), padded_size(w0, self.window_size))
        y = self.forward_head(x)
        s = self.scale
        return y[..., : h0 * s, : w0 * s]


class MambaIRv2Light(MambaIRv2):
    """MambaIRv2Light: MambaIRv2 with :class:`GatedMLP` feed-forwards (``convffn{1,2}.{fc1,sg,fc2}``)."""

    _light = True


# --------------------------------------------------------------------------------------------------
# Aligned widths (GPU inference)
# --------------------------------------------------------------------------------------------------


def _round8(n: int) -> int:
    return -(-n // 8) * 8


class AlignedLayerNorm(nn.Module):
    """LayerNorm of the first ``real`` channels of rows zero-padded to ``width`` (see :func:`align_mambairv2`).

    The statistics are those of the real channels (the padding is zero, so it adds nothing to the sum,
    and each padded channel's ``(0 - mean)²`` is taken back out of the variance); weight and bias are
    zero on the padding, so the padding stays zero. Computed and returned in the parameters' dtype (float32)
    or wider, as ``nn.LayerNorm`` under autocast.
    """

    def __init__(self, norm: nn.LayerNorm, width: int) -> None:
        super().__init__()
        self.real = norm.normalized_shape[0]
        self.eps = norm.eps
        self.weight = nn.Parameter(F.pad(norm.weight.detach(), (0, width - self.real)), requires_grad=False)
        self.bias = nn.Parameter(F.pad(norm.bias.detach(), (0, width - self.real)), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if use_triton_layer_norm(x, self.weight):  # CUDA inference, not compiled: the real channels' rows
            from ..ops.layer_norm.triton import layer_norm_triton

            return layer_norm_triton(x[..., : self.real], self.weight[: self.real], self.bias[: self.real], self.eps,
                                     out_width=x.shape[-1])
        x = x.to(torch.promote_types(x.dtype, self.weight.dtype))
        mean = x.sum(-1, keepdim=True) / self.real
        centered = x - mean
        padding = x.shape[-1] - self.real
        var = ((centered * centered).sum(-1, keepdim=True) - padding * mean * mean) / self.real
        return centered * torch.rsqrt(var + self.eps) * self.weight + self.bias


def _placed(weight: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor | None,
            shape: tuple[int, ...]) -> torch.Tensor:
    """A zero tensor of ``shape`` with ``weight`` at rows ``rows`` (and columns ``cols``)."""
    out = weight.new_zeros(shape)
    if cols is None:
        out[rows] = weight
    else:
        out[rows[:, None], cols[None, :]] = weight
    return out


def _aligned_linear(layer: nn.Linear, cols: torch.Tensor, width_in: int, rows: torch.Tensor,
                    width_out: int) -> nn.Linear:
    """``layer`` with input channel ``i`` at ``cols[i]`` of ``width_in`` and output ``o`` at ``rows[o]``."""
    new = nn.Linear(width_in, width_out, bias=layer.bias is not None, device=layer.weight.device,
                    dtype=layer.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(_placed(layer.weight, rows, cols, (width_out, width_in)))
        if layer.bias is not None:
            new.bias.copy_(_placed(layer.bias, rows, None, (width_out,)))
    return new.requires_grad_(False)


def _aligned_conv(conv: nn.Conv2d, width_in: int, width_out: int) -> nn.Conv2d:
    """``conv`` (dense or depthwise) with its channels zero-padded to ``width_in`` -> ``width_out``."""
    depthwise = conv.groups == conv.in_channels == conv.out_channels and conv.groups > 1
    new = nn.Conv2d(width_in, width_out, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    groups=width_out if depthwise else 1, bias=conv.bias is not None, device=conv.weight.device,
                    dtype=conv.weight.dtype)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[: conv.out_channels, : conv.weight.shape[1]] = conv.weight
        if conv.bias is not None:
            new.bias.zero_()
            new.bias[: conv.out_channels] = conv.bias
    return new.requires_grad_(False)


def _padded_parameter(p: torch.Tensor, width: int, dim: int = -1) -> nn.Parameter:
    pad = [0, 0] * (p.dim() - 1 - (dim % p.dim())) + [0, width - p.shape[dim]]
    return nn.Parameter(F.pad(p.detach(), pad), requires_grad=False)


def align_mambairv2(net: MambaIRv2) -> bool:
    """Run MambaIRv2's body at channel widths that are multiples of 8, in place (GPU inference).

    MambaIRv2 Base works on 174 channels (348 hidden, 6 heads of 29): rows of 348 / 696 bytes, which
    send cuBLAS to its 2-element-aligned GEMM kernels, 2.5x slower than on rows padded to 16 bytes
    (H100, bf16: 174 -> 522 at 57,600 tokens 111 against 43 us). Padding each GEMM on its own (Inductor's
    ``force_shape_pad``) saved 10 ms of GEMMs per 720p forward and cost as much in the copies that pad
    and slice around them. Here the whole body runs wide instead: 176 channels, 352 hidden, heads of
    32 (q, k and v each ``heads x 32``), every weight zero-padded once, the LayerNorms taking their
    statistics over the real channels (:class:`AlignedLayerNorm`). The padding channels are zero
    everywhere and every real output is unchanged, up to rounding; nothing pads or slices between the
    layers. ``forward_features`` pads its input and slices its output.

    The state dict changes shape, so this is for a network that only runs inference (the CLI's
    ``--compile`` path applies it); returns False where the widths are aligned already (MambaIRv2
    light) or its feed-forward is the light one.
    """
    if net._aligned_width or net._light:
        return False
    first = net.layers[0].residual_group.layers[0]
    dim = net.embed_dim
    hidden = first.assm.selectiveScan.d_inner
    if dim % 8 == 0 and hidden % 8 == 0:  # (then q, k and v, heads x head_dim = dim, are aligned too)
        return False
    wide, wide_hidden = _round8(dim), _round8(hidden)
    device = net.conv_first.weight.device
    real = torch.arange(dim, device=device)
    real_hidden = torch.arange(hidden, device=device)
    net.patch_embed.norm = AlignedLayerNorm(net.patch_embed.norm, wide) if net.patch_embed.norm else None
    net.norm = AlignedLayerNorm(net.norm, wide)
    for group in net.layers:
        conv = group.conv
        if isinstance(conv, nn.Conv2d):
            group.conv = _aligned_conv(conv, wide, wide)
        else:  # '3conv': only the bottleneck's ends see the body's width
            conv[0] = _aligned_conv(conv[0], wide, conv[0].out_channels)
            conv[4] = _aligned_conv(conv[4], conv[4].in_channels, wide)
        for layer in group.residual_group.layers:
            _align_layer(layer, dim, wide, hidden, wide_hidden, real, real_hidden)
    net._aligned_width = wide
    return True


def _align_layer(layer: AttentiveLayer, dim: int, wide: int, hidden: int, wide_hidden: int, real: torch.Tensor,
                 real_hidden: torch.Tensor) -> None:
    """One :class:`AttentiveLayer` at the aligned widths (see :func:`align_mambairv2`)."""
    device = real.device
    mhsa = layer.win_mhsa
    heads, head_dim = mhsa.num_heads, dim // mhsa.num_heads
    wide_head = next(d for d in range(head_dim, head_dim + 9) if d * heads % 8 == 0)
    # q, k, v blocks of heads x head_dim -> heads x wide_head, each head's channels first in its slot
    per_head = torch.arange(head_dim, device=device)
    attn_cols = (torch.arange(heads, device=device)[:, None] * wide_head + per_head).flatten()
    qkv_rows = torch.cat([attn_cols + i * heads * wide_head for i in range(3)])
    layer.wqkv = _aligned_linear(layer.wqkv, real, wide, qkv_rows, 3 * heads * wide_head)
    mhsa.proj = _aligned_linear(mhsa.proj, attn_cols, heads * wide_head, real, wide)
    for name in ("norm1", "norm2", "norm3", "norm4"):
        setattr(layer, name, AlignedLayerNorm(getattr(layer, name), wide))
    layer.scale1 = _padded_parameter(layer.scale1, wide)
    layer.scale2 = _padded_parameter(layer.scale2, wide)
    for ffn in (layer.convffn1, layer.convffn2):
        ffn.fc1 = _aligned_linear(ffn.fc1, real, wide, real_hidden, wide_hidden)
        ffn.dwconv.depthwise_conv[0] = _aligned_conv(ffn.dwconv.depthwise_conv[0], wide_hidden, wide_hidden)
        ffn.fc2 = _aligned_linear(ffn.fc2, real_hidden, wide_hidden, real, wide)
    assm = layer.assm
    assm.in_proj[0] = _aligned_conv(assm.in_proj[0], wide, wide_hidden)
    assm.CPE[0] = _aligned_conv(assm.CPE[0], wide_hidden, wide_hidden)
    route_in, route_hidden = assm.route[0], assm.route[0].out_features
    route_wide = torch.arange(route_hidden, device=device)
    assm.route[0] = _aligned_linear(route_in, real, wide, route_wide, _round8(route_hidden))
    assm.route[2] = _aligned_linear(assm.route[2], route_wide, _round8(route_hidden),
                                    torch.arange(assm.route[2].out_features, device=device),
                                    assm.route[2].out_features)
    assm.out_norm = AlignedLayerNorm(assm.out_norm, wide_hidden)
    assm.out_proj = _aligned_linear(assm.out_proj, real_hidden, wide_hidden, real, wide)
    scan = assm.selectiveScan
    scan.x_proj_weight = _padded_parameter(scan.x_proj_weight, wide_hidden)
    scan.dt_projs_weight = _padded_parameter(scan.dt_projs_weight, wide_hidden, dim=1)
    scan.dt_projs_bias = _padded_parameter(scan.dt_projs_bias, wide_hidden)
    scan.A_logs = _padded_parameter(scan.A_logs, wide_hidden, dim=0)
    scan.Ds = _padded_parameter(scan.Ds, wide_hidden)
    scan.d_inner = wide_hidden


def _init_linear_and_norm(m: nn.Module) -> None:
    """Official initialisation: truncated-normal (std 0.02) Linear weights, zero biases, unit LayerNorm."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


__all__ = [
    "ASSB",
    "ASSM",
    "ROUTING_MODES",
    "AlignedLayerNorm",
    "AttentiveLayer",
    "BasicBlock",
    "ConvFFN",
    "GatedMLP",
    "MambaIRv2",
    "MambaIRv2Light",
    "RoutingConfig",
    "Selective_Scan",
    "WindowAttention",
    "align_mambairv2",
    "fast_path",
    "gumbel_one_hot",
]
