"""MambaIR v1's four-route scan as a block-parallel Triton kernel: steps of a time block scanned at once.

:mod:`.triton` walks each chunk one step at a time: every step of a thread waits for the previous one,
and the chunk-end pass repeats the whole walk, so each state update costs ~24 instructions and two
exponentials over both passes (measured: issue-bound at 60-70% with load stalls, see that module). Here
a program takes ``T`` steps × ``BLOCK_C`` channels × N states as one tile and solves the recurrence
``h_t = a_t·h_{t-1} + b_t`` with ``tl.associative_scan`` over the time axis, using the associative
combine ``(a1, b1) ∘ (a2, b2) = (a1·a2, a2·b1 + b2)`` (mamba-ssm's CUDA kernel scans the same way across
the threads of a block). Its cumulative product carries the state entering the block:
``h_t = scan_b(t) + scan_a(t)·h_in``. The chunk-end pass needs only the block's total,
``tl.reduce`` with the same combine, and no outputs.

Same three launches as :mod:`.triton` (chunk ends, the carry across chunks, the output pass) and the
same operands, read in place through strides: tokens (batch, L, E), δ (batch, L, 4E), B and C
(batch, L, 4, N), the output the float32 sum of the four routes' outputs per pixel (relaxed atomic adds).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device
from .triton import _carry_kernel, _sm_count, _softplus


@triton.jit
def _combine(a_first, b_first, a_next, b_next):
    """Two steps of ``h -> a·h + b`` as one: first ``(a_first, b_first)``, then ``(a_next, b_next)``."""
    return a_first * a_next, a_next * b_first + b_next


@triton.jit
def _cross_block_kernel(
    u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr, y_ptr, h0_ptr, hend_ptr, dtsum_ptr,
    channels, length, height, width, blocks_per_route, chunk_len, n_chunks,
    s_ub, s_ul, s_ue, s_tb, s_tl, s_te, s_Bb, s_Bl, s_Bk, s_Bn, s_Cb, s_Cl, s_Ck, s_Cn, s_yb, s_yl,
    N: tl.constexpr, T: tl.constexpr, BLOCK_C: tl.constexpr,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    LOAD_H0: tl.constexpr, STORE_Y: tl.constexpr, STORE_END: tl.constexpr, HW_MATH: tl.constexpr,
):  # fmt: skip
    """One (batch, route, channel block, time chunk): chunk-end state and Σδ, or the outputs.

    Tiles are (T, N, BLOCK_C): time, state, channel. Steps past the chunk's end get δ = 0, which makes
    them the identity (a = 1, b = 0), so the block's last row is the chunk's last state.
    """
    pid_b = tl.program_id(0).to(tl.int64)
    route = tl.program_id(1) // blocks_per_route
    chan = (tl.program_id(1) % blocks_per_route) * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_c = chan < channels
    chan_ld = tl.minimum(chan, channels - 1)  # loads read a real channel, stores are masked
    route_chan = route * channels + chan_ld  # δ, A, D and bias channel of this route
    dim = 4 * channels
    offs_n = tl.arange(0, N)
    steps = tl.arange(0, T)

    A = tl.load(A_ptr + offs_n[:, None] * dim + route_chan[None, :]) * 1.4426950408889634  # (N, C), log2 e
    if HAS_D:
        D = tl.load(D_ptr + route_chan)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + route_chan)
    chunk_row = pid_b * n_chunks + tl.program_id(2)
    state_offs = (chunk_row * N + offs_n[:, None]) * dim + (route * channels + chan)[None, :]
    mask_state = (offs_n[:, None] < N) & mask_c[None, :]
    if LOAD_H0:
        h_in = tl.load(h0_ptr + state_offs, mask=mask_state, other=0.0)
    else:
        h_in = tl.zeros((N, BLOCK_C), dtype=tl.float32)
    dt_sum = tl.zeros((BLOCK_C,), dtype=tl.float32)

    reverse = route >= 2
    column_major = (route % 2) == 1
    u_base = u_ptr + pid_b * s_ub + chan_ld[None, :] * s_ue
    t_base = dt_ptr + pid_b * s_tb + route_chan[None, :] * s_te
    B_base = B_ptr + pid_b * s_Bb + route * s_Bk + offs_n[None, :] * s_Bn
    C_base = C_ptr + pid_b * s_Cb + route * s_Ck + offs_n[None, :] * s_Cn
    y_base = y_ptr + pid_b * s_yb + chan[None, :]

    start = tl.program_id(2) * chunk_len
    stop = start + chunk_len
    if stop > length:  # (not tl.minimum: the Triton interpreter cannot loop to its result)
        stop = length
    for t0 in range(start, stop, T):
        pos = t0 + steps
        valid = pos < stop
        pos = tl.minimum(pos, length - 1)
        pos = tl.where(reverse, length - 1 - pos, pos)
        pix = tl.where(column_major, (pos % height) * width + pos // height, pos)  # (T,)
        u = tl.load(u_base + pix[:, None] * s_ul).to(tl.float32)  # (T, C)
        dt = tl.load(t_base + pix[:, None] * s_tl).to(tl.float32)
        if HAS_BIAS:
            dt += bias[None, :]
        if SOFTPLUS:
            dt = _softplus(dt, HW_MATH)
        dt = tl.where(valid[:, None], dt, 0.0)
        B = tl.load(B_base + pix[:, None] * s_Bl).to(tl.float32)  # (T, N)
        decay = tl.exp2(dt[:, None, :] * A[None, :, :])  # (T, N, C)
        drive = B[:, :, None] * (dt * u)[:, None, :]
        if STORE_Y:
            total_decay, h_local = tl.associative_scan((decay, drive), 0, _combine)
            h = h_local + total_decay * h_in[None, :, :]
            Cm = tl.load(C_base + pix[:, None] * s_Cl).to(tl.float32)
            y = tl.sum(h * Cm[:, :, None], axis=1)  # (T, C)
            if HAS_D:
                y += u * D[None, :]
            tl.atomic_add(y_base + pix[:, None] * s_yl, y, mask=valid[:, None] & mask_c[None, :], sem="relaxed")
            h_in = tl.sum(tl.where((steps == T - 1)[:, None, None], h, 0.0), axis=0)
        else:
            block_decay, block_state = tl.reduce((decay, drive), 0, _combine)
            h_in = block_state + block_decay * h_in
            dt_sum += tl.sum(dt, axis=0)
    if STORE_END:
        tl.store(hend_ptr + state_offs, h_in, mask=mask_state)
        tl.store(dtsum_ptr + chunk_row * dim + route * channels + chan, dt_sum, mask=mask_c)


def default_chunks(programs: int, length: int, *, sm_count: int = 132, per_sm: int = 8, steps: int = 16) -> int:
    """Time chunks so that about ``per_sm`` programs run per SM, each at least 16 blocks of ``steps``."""
    wanted = triton.cdiv(per_sm * sm_count, max(1, programs))
    return max(1, min(wanted, 160, length // (16 * steps)))


def selective_scan_cross_tokens_block(
    tokens: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    width: int,
    steps: int = 16,
    block_c: int = 8,
    n_chunks: int | None = None,
    num_warps: int = 4,
) -> torch.Tensor:
    """MambaIR v1's four-route scan and merge, block-parallel in time; arguments and result as
    :func:`.triton.selective_scan_cross_tokens_triton` (``steps`` and ``block_c``: the tile's time steps and
    channels, powers of two; N must be a power of two too).

    Raises:
        ValueError: N or the tile sizes are not powers of two.
    """
    batch, length, channels = tokens.shape
    n_state = A.shape[1]
    for name, value in (("N", n_state), ("steps", steps), ("block_c", block_c)):
        if value < 1 or value & (value - 1):
            raise ValueError(f"{name} must be a power of two, not {value}")
    y = torch.zeros(batch, length, channels, dtype=torch.float32, device=tokens.device)
    if length == 0 or batch == 0:
        return y
    dim = 4 * channels
    height = length // width
    A_t = A.to(torch.float32).t().contiguous()  # (N, 4E): read along channels
    D32 = None if D is None else D.to(torch.float32).contiguous()
    bias32 = None if delta_bias is None else delta_bias.to(torch.float32).contiguous()
    blocks_per_route = triton.cdiv(channels, block_c)
    if n_chunks is None:
        sm_count = _sm_count(tokens.device.index or 0) if tokens.is_cuda else 132
        n_chunks = default_chunks(batch * 4 * blocks_per_route, length, sm_count=sm_count, steps=steps)
    chunk_len = triton.cdiv(length, max(1, min(n_chunks, length)))
    n_chunks = triton.cdiv(length, chunk_len)
    grid = (batch, 4 * blocks_per_route, n_chunks)

    def launch(h0: torch.Tensor | None, hend: torch.Tensor | None, dtsum: torch.Tensor | None) -> None:
        dummy = y
        _cross_block_kernel[grid](
            tokens, delta, A_t, B, C, dummy if D32 is None else D32, dummy if bias32 is None else bias32, y,
            dummy if h0 is None else h0, dummy if hend is None else hend, dummy if dtsum is None else dtsum,
            channels, length, height, max(width, 1), blocks_per_route, chunk_len, n_chunks,
            *tokens.stride(), *delta.stride(), *B.stride(), *C.stride(), *y.stride()[:2],
            N=n_state, T=steps, BLOCK_C=block_c, HAS_D=D32 is not None, HAS_BIAS=bias32 is not None,
            SOFTPLUS=bool(delta_softplus), LOAD_H0=h0 is not None, STORE_Y=hend is None,
            STORE_END=hend is not None, HW_MATH=tokens.is_cuda, num_warps=num_warps,
        )  # fmt: skip

    with on_tensor_device(tokens):
        if n_chunks == 1:
            launch(None, None, None)
            return y
        states = torch.empty(2, batch, n_chunks, n_state, dim, dtype=torch.float32, device=tokens.device)
        dtsum = torch.empty(batch, n_chunks, dim, dtype=torch.float32, device=tokens.device)
        launch(None, states[1], dtsum)
        carry_block = 32
        _carry_kernel[(batch, triton.cdiv(dim, carry_block))](
            A_t, states[1], dtsum, states[0], dim, n_chunks, 1, dim, N=n_state, N_PAD=n_state, BLOCK_D=carry_block,
            num_warps=1,
        )  # fmt: skip
        launch(states[0], None, None)
    return y


__all__ = ["selective_scan_cross_tokens_block"]
