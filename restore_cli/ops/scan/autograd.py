"""Differentiable selective scan: the fast forward of a backend plus an analytic, chunked backward.

The fast backends (:mod:`.torch_chunked`, :mod:`.triton`) are forward-only, and autograd through the
per-step reference is far too slow to train with, so :class:`SelectiveScanFn` pairs the chosen
backend's no-grad forward with a backward written out by hand. It saves only the inputs.

The maths (per batch element, channel ``c`` and state ``n``; ``a_t = exp(δ_t·A)``, ``x_t = δ_t·u_t·B_t``)::

    h_t = a_t ⊙ h_{t-1} + x_t                      y_t = Σ_n C_t h_t + D·u_t
    g_t = ∂L/∂h_t = C_t·dy_t + a_{t+1} ⊙ g_{t+1}     (the same recurrence, run backwards in time)
    ∂L/∂A   = Σ_t g_t ⊙ a_t h_{t-1} · δ_t           ∂L/∂δ_t = Σ_n g_t ⊙ (A·a_t h_{t-1} + u_t B_t)
    ∂L/∂u_t = δ_t Σ_n g_t B_t + D·dy_t              ∂L/∂B_t = Σ_c g_t δ_t u_t,  ∂L/∂C_t = Σ_c h_t dy_t

(sums over ``c`` run over the channels of B/C's group), then the chain rule through ``softplus``,
``delta_bias`` and the ``silu(z)`` gate.

The backward runs the chunked scheme of :mod:`.torch_chunked` twice, in pure PyTorch ops (so it runs
on the CPU and on CUDA alike):

1. forward in time over blocks of tokens, keeping only the state entering every chunk,
   ``(batch, dim, L / chunk, N)``: the scan within all chunks of a block at once (one step per
   position within a chunk), then one small carry step per chunk;
2. backward in time over the same blocks: recompute ``h`` for the block from those states, scan ``g``
   within every chunk in reverse, carry ``g`` across chunks in reverse, and reduce the products above
   over the right axes (batched matrix products for the sums over ``N`` and over a group's channels).

Only products of decays ``a <= 1`` are ever formed (running products within a chunk, and
``exp(A·Σδ) <= 1`` across a chunk), so nothing overflows where the reference does not. Working memory
is a few ``(block, batch, dim, N)`` float32 buffers: the whole ``(dim, L, N)`` tensor never exists.
Everything accumulates in float32 (float64 for float64 inputs) and each gradient is returned in its
input's dtype.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .torch_chunked import _as_grouped

LOG2E = math.log2(math.e)

#: Tokens per chunk: the inner loops run ``chunk - 1`` steps, each over all chunks of a block.
DEFAULT_CHUNK = {"cpu": 16, "cuda": 32}
#: Elements of one ``(block, batch, dim, N)`` working buffer; the backward holds four of them.
DEFAULT_BUDGET = {"cpu": 1 << 21, "cuda": 1 << 26}


def _time_major(x: torch.Tensor, padded: int, dtype: torch.dtype) -> torch.Tensor:
    """(batch, X, L) -> (batch, padded, X) in ``dtype``, zero past L (padding scans as δ = 0, input 0)."""
    batch, width, length = x.shape
    out = x.new_empty(batch, padded, width, dtype=dtype)
    out[:, length:] = 0
    out[:, :length].copy_(x.transpose(1, 2))
    return out


def _channel_major(x: torch.Tensor, length: int) -> torch.Tensor:
    """(batch, padded, X) time-major -> (batch, X, length), contiguous."""
    return x[:, :length].transpose(1, 2).contiguous()


def _chunks(x: torch.Tensor, start: int, stop: int, chunk: int) -> torch.Tensor:
    """View time-major ``x[:, start:stop]`` (batch, span, G, X) as (chunk, batch, G, n_chunks, X)."""
    batch, _, groups, width = x.shape
    return x[:, start:stop].view(batch, (stop - start) // chunk, chunk, groups, width).permute(2, 0, 3, 1, 4)


def _running_products(a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out[t] = a[0]·…·a[t]`` along dim 0 (decay products <= 1); a loop beats ``cumprod`` ~15x on CPU."""
    out[0] = a[0]
    for t in range(1, a.shape[0]):
        torch.mul(out[t - 1], a[t], out=out[t])
    return out


class _Scan:
    """The inputs of one scan in the chunked time-major layout, shared by the forward and backward passes.

    Per-channel tensors are (batch, padded, G, H) with H = dim // G channels per group, B and C are
    (batch, padded, G, N), and A is (G, 1, N, H): channels of a group innermost, so elementwise ops run
    over long contiguous rows, as in :mod:`.torch_chunked`.
    """

    def __init__(
        self,
        u: torch.Tensor,
        delta: torch.Tensor,
        A: torch.Tensor,
        B: torch.Tensor,
        C: torch.Tensor,
        delta_bias: torch.Tensor | None,
        delta_softplus: bool,
        *,
        chunk: int | None,
        budget: int | None,
    ) -> None:
        self.batch, self.dim, self.length = u.shape
        self.n_state = A.shape[1]
        Bg, Cg = _as_grouped(B, self.dim), _as_grouped(C, self.dim)
        self.groups = Bg.shape[1]
        self.per_group = self.dim // self.groups
        self.dtype = torch.float64 if u.dtype == torch.float64 else torch.float32
        device = u.device.type
        chunk = chunk or DEFAULT_CHUNK.get(device, DEFAULT_CHUNK["cuda"])
        budget = budget or DEFAULT_BUDGET.get(device, DEFAULT_BUDGET["cuda"])
        self.chunk = max(1, min(chunk, self.length))
        self.padded = -(-self.length // self.chunk) * self.chunk
        per_token = max(1, self.batch * self.dim * self.n_state)
        self.span = max(1, budget // (per_token * self.chunk)) * self.chunk  # tokens per block
        self.n_chunks = self.padded // self.chunk

        f = self.dtype
        self.u32 = u.to(f)
        dt = delta.to(f)
        if delta_bias is not None:
            dt = dt + delta_bias.to(f)[:, None]
        self.dt_raw = dt  # before softplus: its derivative is sigmoid(dt_raw)
        self.dt = F.softplus(dt) if delta_softplus else dt
        shape = (self.batch, self.padded, self.groups, self.per_group)
        self.dt_t = _time_major(self.dt, self.padded, f).view(shape)
        self.u_t = _time_major(self.u32, self.padded, f).view(shape)
        self.du_t = self.dt_t * self.u_t
        self.B_t = _time_major(Bg.flatten(1, 2), self.padded, f).view(*shape[:3], self.n_state)
        self.C_t = _time_major(Cg.flatten(1, 2), self.padded, f).view(*shape[:3], self.n_state)
        A_gnh = A.to(f).view(self.groups, self.per_group, self.n_state).transpose(1, 2)
        self.A = A_gnh.contiguous()[:, None]  # (G, 1, N, H)
        self.A2 = (A_gnh * LOG2E).contiguous()[:, None]  # the decay is exp2(δ·A·log2 e)

    def blocks(self, *, reverse: bool = False) -> list[tuple[int, int]]:
        """Token ranges ``[start, stop)`` of the blocks, each a whole number of chunks."""
        spans = [(s, min(self.padded, s + self.span)) for s in range(0, self.padded, self.span)]
        return spans[::-1] if reverse else spans

    def buffer(self, n: int = 1) -> torch.Tensor:
        """Flat working memory for ``n`` (chunk, batch, G, chunks_per_block, N, H) tensors."""
        return self.u32.new_empty(n, self.span * self.batch * self.dim * self.n_state, dtype=self.dtype)

    def shape(self, start: int, stop: int) -> tuple[int, ...]:
        """Shape of a working tensor for the block ``[start, stop)``."""
        return (self.chunk, self.batch, self.groups, (stop - start) // self.chunk, self.n_state, self.per_group)

    def local_scan(self, buf: torch.Tensor, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Decays ``a`` and the states of every chunk of the block scanned from zero, in ``buf[0:2]``."""
        shape = self.shape(start, stop)
        numel = math.prod(shape)
        dt_b = _chunks(self.dt_t, start, stop, self.chunk)
        a = buf[0, :numel].view(shape)
        torch.exp2(torch.mul(dt_b.unsqueeze(-2), self.A2, out=a), out=a)
        h = buf[1, :numel].view(shape)
        torch.mul(_chunks(self.du_t, start, stop, self.chunk).unsqueeze(-2),
                  _chunks(self.B_t, start, stop, self.chunk).unsqueeze(-1), out=h)  # fmt: skip
        for t in range(1, self.chunk):
            h[t].addcmul_(a[t], h[t - 1])
        return a, h

    def chunk_states(self) -> torch.Tensor:
        """State entering every chunk, (batch, G, n_chunks + 1, N, H); the last one leaves the sequence."""
        states = self.u32.new_empty(
            self.batch, self.groups, self.n_chunks + 1, self.n_state, self.per_group, dtype=self.dtype
        )
        states[:, :, 0] = 0
        buf = self.buffer(2)
        for start, stop in self.blocks():
            _, h = self.local_scan(buf, start, stop)
            # Decay over a whole chunk: one exp of A·Σδ <= 0, so it cannot overflow.
            total = torch.exp2(_chunks(self.dt_t, start, stop, self.chunk).sum(0).unsqueeze(-2) * self.A2)
            k0 = start // self.chunk
            for k in range((stop - start) // self.chunk):
                torch.addcmul(h[-1, :, :, k], total[:, :, k], states[:, :, k0 + k], out=states[:, :, k0 + k + 1])
        return states

    def output(self, states: torch.Tensor) -> torch.Tensor:
        """The scan's ``Σ_n C_t h_t`` as (batch, dim, L), from :meth:`chunk_states` (no D, no gate)."""
        y_t = self.u32.new_empty(self.batch, self.padded, self.groups, self.per_group, dtype=self.dtype)
        buf = self.buffer(3)
        for start, stop in self.blocks():
            a, h = self.local_scan(buf, start, stop)
            h.addcmul_(_running_products(a, buf[2, : a.numel()].view(a.shape)),
                       states[:, :, start // self.chunk : stop // self.chunk])  # fmt: skip
            y = torch.matmul(_chunks(self.C_t, start, stop, self.chunk).unsqueeze(-2), h).squeeze(-2)
            _chunks(y_t, start, stop, self.chunk).copy_(y)
        return _channel_major(y_t.flatten(2), self.length)

    def backward(self, dy: torch.Tensor, *, want_y: bool) -> dict[str, torch.Tensor]:
        """Gradients of the scan part (``y_t = Σ_n C_t h_t``) for the output gradient ``dy`` (batch, dim, L).

        Returns time-major ``dt``, ``u`` (batch, padded, G, H), ``B``, ``C`` (batch, padded, G, N), ``A``
        as (G, N, H), and with ``want_y`` the scan output ``y`` (batch, padded, G, H), recomputed on the way.
        """
        states = self.chunk_states()
        shape_t = (self.batch, self.padded, self.groups, self.per_group)
        dy_t = _time_major(dy.to(self.dtype), self.padded, self.dtype).view(shape_t)
        new = self.u32.new_empty
        out = {
            "dt": new(shape_t, dtype=self.dtype),
            "u": new(shape_t, dtype=self.dtype),
            "B": new(*shape_t[:3], self.n_state, dtype=self.dtype),
            "C": new(*shape_t[:3], self.n_state, dtype=self.dtype),
            "A": self.u32.new_zeros(self.groups, self.n_state, self.per_group, dtype=self.dtype),
        }
        if want_y:
            out["y"] = new(shape_t, dtype=self.dtype)
        buf = self.buffer(4)
        r = self.u32.new_zeros(self.batch, self.groups, self.n_state, self.per_group, dtype=self.dtype)
        T = self.chunk
        for start, stop in self.blocks(reverse=True):
            a, h = self.local_scan(buf, start, stop)
            numel = a.numel()
            n_blk = (stop - start) // T
            h0 = states[:, :, start // T : stop // T]  # (b, G, n, N, H): state entering each chunk
            prod = _running_products(a, buf[2, :numel].view(a.shape))  # decay from each chunk's start
            h.addcmul_(prod, h0)  # true states

            dy_b = _chunks(dy_t, start, stop, T)
            C_b = _chunks(self.C_t, start, stop, T)
            g = buf[3, :numel].view(a.shape)
            torch.mul(C_b.unsqueeze(-1), dy_b.unsqueeze(-2), out=g)
            for t in range(T - 2, -1, -1):  # reverse scan within every chunk, from zero past its end
                g[t].addcmul_(a[t + 1], g[t + 1])
            # r_in[k] = a_s g_s at the first token s after chunk k (true values), carried backwards;
            # a_s g_s = a_s g_loc_s + (decay over chunk k+1) · r_in[k+1].
            r_in = torch.empty_like(h0)
            first = a[0] * g[0]
            for k in range(n_blk - 1, -1, -1):
                r_in[:, :, k] = r
                r = torch.addcmul(first[:, :, k], prod[-1, :, :, k], r)
            # Decay from each position to its chunk's end, excluding itself: q_t = Π_{s>t} a_s (into prod).
            prod[-1] = 1
            for t in range(T - 2, -1, -1):
                torch.mul(prod[t + 1], a[t + 1], out=prod[t])
            g.addcmul_(prod, r_in)  # true g

            # s = g ⊙ a_t h_{t-1}, in a's buffer.
            a[1:].mul_(h[:-1])
            a[0].mul_(h0)
            a.mul_(g)
            dt_b = _chunks(self.dt_t, start, stop, T)
            # Σ_n A s as N strided multiply-adds: cheaper than a full-size product and a reduction.
            d_dt = a[..., 0, :] * self.A[..., 0, :]
            for n in range(1, self.n_state):
                d_dt.addcmul_(a[..., n, :], self.A[..., n, :])
            out["A"] += a.mul_(dt_b.unsqueeze(-2)).sum(0).sum((0, 2))  # sum over time first: contiguous

            # Σ_n g B as (1, N) x (N, H) products; the sums over a group's channels (H, innermost) as a
            # product and a reduction, which beats matrix-vector products there by about 3x.
            gB = torch.matmul(_chunks(self.B_t, start, stop, T).unsqueeze(-2), g).squeeze(-2)
            _chunks(out["dt"], start, stop, T).copy_(d_dt.addcmul_(gB, _chunks(self.u_t, start, stop, T)))
            torch.mul(gB, dt_b, out=_chunks(out["u"], start, stop, T))
            du_b = _chunks(self.du_t, start, stop, T)
            torch.sum(torch.mul(g, du_b.unsqueeze(-2), out=prod), -1, out=_chunks(out["B"], start, stop, T))
            torch.sum(torch.mul(h, dy_b.unsqueeze(-2), out=prod), -1, out=_chunks(out["C"], start, stop, T))
            if want_y:
                _chunks(out["y"], start, stop, T).copy_(torch.matmul(C_b.unsqueeze(-2), h).squeeze(-2))
        return out


def _forward_fast(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None,
    delta_bias: torch.Tensor | None,
    delta_softplus: bool,
    z: torch.Tensor | None,
    backend: str,
) -> torch.Tensor:
    """The no-grad forward of ``backend``; float64 inputs use this module's own chunked scan in float64."""
    args = (u, delta, A, B, C, D, delta_bias, delta_softplus)
    if u.dtype == torch.float64:  # the fast backends accumulate in float32 only
        scan = _Scan(u, delta, A, B, C, delta_bias, delta_softplus, chunk=None, budget=None)
        y = scan.output(scan.chunk_states())
        if D is not None:
            y = y + scan.u32 * D.to(scan.dtype)[:, None]
        return y if z is None else y * F.silu(z.to(scan.dtype))
    if backend == "triton":
        from .triton import selective_scan_triton

        return selective_scan_triton(*args, z=z)
    from .torch_chunked import selective_scan_chunked

    return selective_scan_chunked(*args, z=z)


def selective_scan_backward(
    dout: torch.Tensor,
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    z: torch.Tensor | None = None,
    *,
    chunk: int | None = None,
    budget: int | None = None,
) -> tuple[torch.Tensor | None, ...]:
    """Gradients of :func:`.reference.selective_scan_reference` for the output gradient ``dout``.

    Args:
        dout: (batch, dim, L), the gradient of the scan's output.
        u, delta, A, B, C, D, delta_bias, delta_softplus, z: the forward's arguments.
        chunk: tokens per chunk (default per device, :data:`DEFAULT_CHUNK`).
        budget: elements per working buffer (default per device, :data:`DEFAULT_BUDGET`).

    Returns:
        ``(du, ddelta, dA, dB, dC, dD, ddelta_bias, dz)``, each in its input's dtype and shape; the entries
        of inputs that are None are None.
    """
    scan = _Scan(u, delta, A, B, C, delta_bias, delta_softplus, chunk=chunk, budget=budget)
    f = scan.dtype
    dout = dout.to(f)
    _, dim, length = u.shape
    if z is not None:
        z32 = z.to(f)
        gate = torch.sigmoid(z32)
        dy = dout * z32 * gate
    else:
        dy = dout
    parts = scan.backward(dy, want_y=z is not None)

    du = _channel_major(parts["u"].flatten(2), length)
    d_dt = _channel_major(parts["dt"].flatten(2), length)
    ddelta = d_dt * torch.sigmoid(scan.dt_raw) if delta_softplus else d_dt
    dD = dz = None
    if D is not None:
        D32 = D.to(f)
        du.addcmul_(dy, D32[:, None])
        dD = (dy * scan.u32).sum((0, 2))
    if z is not None:
        y = _channel_major(parts["y"].flatten(2), length)
        if D is not None:
            y.addcmul_(scan.u32, D32[:, None])
        # d silu(z)/dz = σ(z)·(1 + z·(1 - σ(z)))
        dz = dout * y * gate * (1 + z32 * (1 - gate))
    dA = parts["A"].transpose(1, 2).reshape(dim, scan.n_state)

    def bc_grad(part: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """(batch, padded, G, N) time-major -> B's or C's own layout and dtype."""
        grad = part[:, :length].permute(0, 2, 3, 1)
        return (grad[:, 0] if like.dim() == 3 else grad).to(like.dtype)

    return (
        du.to(u.dtype),
        ddelta.to(delta.dtype),
        dA.to(A.dtype),
        bc_grad(parts["B"], B),
        bc_grad(parts["C"], C),
        None if D is None else dD.to(D.dtype),
        None if delta_bias is None else ddelta.sum((0, 2)).to(delta_bias.dtype),
        None if z is None else dz.to(z.dtype),
    )


class SelectiveScanFn(torch.autograd.Function):
    """Selective scan with the fast forward of ``backend`` and an analytic backward.

    Only the inputs are saved; the backward recomputes the states it needs in chunks. With the
    ``triton`` backend the backward is :mod:`.triton_backward`'s kernels, else (and for float64)
    :func:`selective_scan_backward` in PyTorch ops.
    """

    @staticmethod
    def forward(
        ctx,
        u: torch.Tensor,
        delta: torch.Tensor,
        A: torch.Tensor,
        B: torch.Tensor,
        C: torch.Tensor,
        D: torch.Tensor | None,
        delta_bias: torch.Tensor | None,
        z: torch.Tensor | None,
        delta_softplus: bool,
        backend: str,
    ) -> torch.Tensor:
        """Run the backend's forward (autograd is off here) and keep the inputs for the backward."""
        ctx.save_for_backward(u, delta, A, B, C, D, delta_bias, z)
        ctx.delta_softplus = delta_softplus
        ctx.backend = backend
        return _forward_fast(u, delta, A, B, C, D, delta_bias, delta_softplus, z, backend)

    @staticmethod
    def backward(ctx, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """Analytic gradients; None for inputs that do not need one."""
        u, delta, A, B, C, D, delta_bias, z = ctx.saved_tensors
        backward = selective_scan_backward
        if ctx.backend == "triton" and u.dtype != torch.float64:
            from .triton_backward import selective_scan_backward_triton as backward
        grads = backward(dout, u, delta, A, B, C, D, delta_bias, ctx.delta_softplus, z)
        return *(g if need else None for g, need in zip(grads, ctx.needs_input_grad[:8], strict=True)), None, None


def selective_scan_fn(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    z: torch.Tensor | None = None,
    backend: str = "torch",
) -> torch.Tensor:
    """Differentiable selective scan; shapes and semantics as :func:`.reference.selective_scan_reference`.

    Args:
        u, delta: (batch, dim, L).
        A: (dim, N).
        B, C: (batch, N, L) or grouped (batch, G, N, L); channel ``c`` uses group ``c // (dim // G)``.
        D, delta_bias: (dim,) or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        z: optional (batch, dim, L) gate; the output is multiplied by ``silu(z)``.
        backend: the forward, ``"torch"`` (chunked PyTorch) or ``"triton"`` (CUDA tensors only).

    Returns:
        (batch, dim, L) in ``u``'s dtype.
    """
    return SelectiveScanFn.apply(u, delta, A, B, C, D, delta_bias, z, delta_softplus, backend)


__all__ = ["SelectiveScanFn", "selective_scan_backward", "selective_scan_fn"]
