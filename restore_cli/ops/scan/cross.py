"""MambaIR v1's four-route scan of an image (cross-scan, selective scan, cross-merge), in one call.

MambaIR v1 (``SS2D.forward_core``, ``basicsr/archs/mambair_arch.py`` l.339–371, csguoh/MambaIR,
Apache-2.0) scans an ``H×W`` feature map along four routes and sums the results per pixel:

- route 0: row-major (pixel ``l`` is ``(l // W, l % W)``);
- route 1: column-major, i.e. the transposed map (pixel ``l`` is ``(l % H, l // H)``);
- routes 2 and 3: routes 0 and 1 reversed.

Upstream builds the route-ordered copies with ``stack``/``transpose``/``flip``, scans ``(B, 4·E, L)``
with grouped B/C (G = 4, one group per route), then un-flips, un-transposes and sums. The projections
that give δ, B and C are per-pixel, so they can be computed once in pixel order; the fused Triton
kernel (:func:`.triton.selective_scan_cross_tokens_triton`, entry :func:`cross_selective_scan_tokens`)
then reads every route of the channel-last operands by index arithmetic and adds into the merged output,
so none of the route-ordered copies exist. :func:`cross_selective_scan_reference` is the plain PyTorch
form beside it, built from :func:`cross_scan` and :func:`cross_merge`.

Reference shapes: ``x`` (batch, E, H, W); ``delta`` (batch, 4, E, H, W); ``B``, ``C`` (batch, 4, N, H, W);
``A`` (4·E, N); ``D``, ``delta_bias`` (4·E,); the result is (batch, E, H, W) in float32, as upstream
asserts.
"""

from __future__ import annotations

import torch

from . import backend_for, selective_scan


def cross_scan(x: torch.Tensor) -> torch.Tensor:
    """(batch, X, H, W) -> (batch, 4, X, H·W): the image read along MambaIR v1's four routes."""
    batch, channels, height, width = x.shape
    rows = x.reshape(batch, channels, height * width)
    cols = x.transpose(2, 3).reshape(batch, channels, height * width)
    forward = torch.stack([rows, cols], dim=1)
    return torch.cat([forward, forward.flip(-1)], dim=1)


def route_order(t: torch.Tensor) -> torch.Tensor:
    """(batch, 4, X, H, W) per-pixel values of each route -> (batch, 4, X, H·W) in that route's order."""
    batch, routes, channels, height, width = t.shape
    if routes != 4:
        raise ValueError(f"expected 4 routes in dim 1, got shape {tuple(t.shape)}")
    length = height * width
    rows = t[:, 0::2].reshape(batch, 2, channels, length)  # routes 0 and 2, row-major
    cols = t[:, 1::2].transpose(-1, -2).reshape(batch, 2, channels, length)  # routes 1 and 3
    return torch.stack([rows[:, 0], cols[:, 0], rows[:, 1].flip(-1), cols[:, 1].flip(-1)], dim=1)


def cross_merge(ys: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(batch, 4, X, H·W) route outputs -> (batch, X, H, W): back to pixel order, summed over routes."""
    batch, _, channels, _ = ys.shape
    rows = ys[:, 0] + ys[:, 2].flip(-1)
    cols = ys[:, 1] + ys[:, 3].flip(-1)
    cols = cols.view(batch, channels, width, height).transpose(2, 3)
    return rows.view(batch, channels, height, width) + cols


def cross_selective_scan_reference(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    backend: str = "reference",
) -> torch.Tensor:
    """Four-route scan as upstream does it: route-ordered copies, one grouped scan, merge.

    Inputs are cast to float32 first, as upstream does, so the result is float32 whatever their dtype.
    ``backend`` picks the selective scan used in the middle (see :func:`.selective_scan`).
    """
    batch, channels, height, width = x.shape
    length = height * width
    ys = selective_scan(  # float32 inputs, as upstream casts them
        cross_scan(x.float()).reshape(batch, 4 * channels, length),
        route_order(delta.float()).reshape(batch, 4 * channels, length),
        A,
        route_order(B.float()),
        route_order(C.float()),
        D,
        delta_bias,
        delta_softplus,
        backend=backend,
    )
    return cross_merge(ys.view(batch, 4, channels, length), height, width)


#: δ tensors from this size on are made in the kernel whatever that costs (see :func:`scan_makes_delta`).
DELTA_IN_KERNEL_BYTES = 2**30


def scan_makes_delta(tokens: torch.Tensor, backend: str = "auto") -> bool:
    """Whether :func:`cross_selective_scan_tokens` should be given δ's low-rank projection and its weight
    rather than δ, for the Triton kernel to make δ per step itself (its ``RANK``): the (batch, H·W, 4·E)
    tensor is then never written nor read twice.

    ``tokens``: (batch, H·W, E), the scan's input. Where a thread owns one channel (E below
    :data:`.triton.WIDE_GROUP`: MambaIR light, the colour DN and JPEG models, MambaIRUNet) the rank's
    registers and ~12% more instructions per step cost little: H100, bf16 + ``--compile``, MambaIR light at
    720p 10.0 ms either way, colour DN at 1280x720 694 -> 700 ms, its peak 5.76 -> 4.27 GiB
    (``tools/jobs/results/perf28c-ab.txt``). Where a thread owns two, the output pass went from 128 to 168
    registers and MambaIR classic at 720p from 66.5 to 75.1 ms (``perf28d-ab.txt``), so there δ is made in
    the kernel only once its tensor would take :data:`DELTA_IN_KERNEL_BYTES` (a whole 4K image).
    """
    if backend_for(tokens, backend) != "triton":
        return False
    from .triton import channels_per_thread

    batch, length, channels = tokens.shape
    delta_bytes = batch * length * 4 * channels * tokens.element_size()
    return channels_per_thread(channels) == 1 or delta_bytes >= DELTA_IN_KERNEL_BYTES


def cross_selective_scan_tokens(
    tokens: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    height: int,
    width: int,
    backend: str = "auto",
    delta_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """MambaIR v1's four-route scan and merge on channel-last operands, as the projections produce them.

    Args:
        tokens: (batch, H·W, E) pixels in row-major order.
        delta: (batch, H·W, 4·E), route ``k``'s channels at ``k·E .. k·E + E - 1``; or, with
            ``delta_weight``, δ's low-rank projection (batch, H·W, 4, R) (a strided view is read in place).
        B, C: (batch, H·W, 4, N); strided views (slices of one projection output) are read in place.
        A: (4·E, N). D, delta_bias: (4·E,) or None.
        height, width: the image the tokens tile.
        delta_weight: (4·E, R), the four routes' ``dt_projs_weight``: route ``k``'s δ is then
            ``delta[:, :, k] @ delta_weight[k·E : (k + 1)·E].T``. The Triton kernel makes it per step
            (:func:`scan_makes_delta`); other backends make the (batch, H·W, 4·E) tensor first, in float32.

    Returns:
        (batch, H·W, E) float32.

    On CUDA with Triton nothing is copied (the fused kernel reads through strides); with the chunked
    PyTorch backend (the CPU) each route is gathered channel-last, time-major
    (:func:`.torch_chunked.cross_scan_tokens_chunked`); otherwise the operands are moved to the image
    layout and scanned by :func:`cross_selective_scan_reference`.
    """
    if torch.compiler.is_compiling():  # one opaque node in a compiled region (see .opaque)
        from .opaque import cross_scan_tokens_op

        return cross_scan_tokens_op(tokens, delta, A, B, C, D, delta_bias, delta_softplus, height, width, backend,
                                    delta_weight)
    batch, length = tokens.shape[:2]
    if length != height * width:
        raise ValueError(f"{length} tokens do not tile a {height}x{width} image")
    name = backend_for(tokens, backend)
    if name == "triton":
        from .triton import selective_scan_cross_tokens_triton

        return selective_scan_cross_tokens_triton(tokens, delta, A, B, C, D, delta_bias, delta_softplus, width=width,
                                                  delta_weight=delta_weight)
    if delta_weight is not None:
        routes, rank = delta.shape[2], delta.shape[3]
        delta = torch.einsum("blkr,ker->blke", delta.float(), delta_weight.float().view(routes, -1, rank))
        delta = delta.reshape(batch, length, -1)
    if name == "torch":
        from .torch_chunked import cross_scan_tokens_chunked

        return cross_scan_tokens_chunked(tokens, delta, A, B, C, D, delta_bias, delta_softplus, height=height,
                                         width=width)

    def image(t: torch.Tensor, *routes: int) -> torch.Tensor:  # (batch, L, [4,] X) -> (batch, [4,] X, H, W)
        t = t.reshape(batch, height, width, -1).permute(0, 3, 1, 2)
        return t.reshape(batch, *routes, -1, height, width)

    y = cross_selective_scan_reference(image(tokens), image(delta, 4), A, image(B, 4), image(C, 4), D, delta_bias,
                                       delta_softplus, backend=name)
    return y.flatten(2).transpose(1, 2)


__all__ = [
    "cross_merge",
    "cross_scan",
    "cross_selective_scan_reference",
    "cross_selective_scan_tokens",
    "route_order",
    "scan_makes_delta",
]
