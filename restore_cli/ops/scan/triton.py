"""Forward-only selective scan as a Triton kernel (CUDA), with the launcher beside it.

Same maths and signature as :func:`.reference.selective_scan_reference` (mamba-ssm's
``selective_scan_ref``). Each program owns one batch element, a block of ``block_d`` channels and one
time chunk; it keeps the ``(block_d, N)`` float32 state in registers and walks its chunk step by step:
load δ, u and its group's ``B_t``/``C_t`` (any of fp32/bf16/fp16), add the bias, softplus, update the
state with ``exp2(δ·A·log2 e)`` (as mamba-ssm's CUDA kernel does), contract with ``C_t``, add ``D·u``,
gate with ``silu(z)`` and store in ``u``'s dtype.

A sequential walk over all of L leaves most of the GPU idle at MambaIR sizes (batch 1, ~1.4k channels:
a few hundred programs, each waiting on a load every step). So L is split into chunks, in three launches:

1. every (batch, channel block, chunk) scans its chunk from a zero state and stores the final state and
   ``Σδ`` of the chunk (no output);
2. one program per (batch, channel block) carries the true state across chunks,
   ``h_in[k+1] = exp2(A·log2 e·Σδ_k) · h_in[k] + h_end[k]`` (a product of decays <= 1, written as one
   ``exp2`` of a non-positive number);
3. every chunk is scanned again from its true initial state, now storing the output.

That doubles the arithmetic but multiplies the parallelism by the number of chunks; with one chunk only
step 3 runs. Triton is imported here only, and this module only by the dispatcher for CUDA tensors.
"""

from __future__ import annotations

import functools
import math

import torch
import triton
import triton.language as tl

LOG2E = math.log2(math.e)


@triton.jit
def _softplus(x):
    """``log1p(exp(x))`` below 20, ``x`` above (torch's threshold).

    ``log1p`` via Goldberg's ``log(w) · e / (w - 1)`` with ``w = 1 + e``: accurate for tiny ``e`` where
    ``log(1 + e)`` rounds to 0, and it needs no libdevice (which the Triton interpreter lacks).
    """
    e = tl.exp(tl.minimum(x, 20.0))
    w = 1.0 + e
    log1p_e = tl.where(w == 1.0, e, tl.log(w) * (e / (w - 1.0)))
    return tl.where(x <= 20.0, log1p_e, x)


@triton.jit
def _scan_chunk_kernel(
    u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr, z_ptr, y_ptr,
    h0_ptr, hend_ptr, dtsum_ptr,
    dim, length, per_group, chunk_len, n_chunks, width,
    s_ub, s_ud, s_ul,
    s_tb, s_td, s_tl,
    s_Ad, s_An,
    s_Bb, s_Bg, s_Bn, s_Bl,
    s_Cb, s_Cg, s_Cn, s_Cl,
    s_zb, s_zd, s_zl,
    s_yb, s_yd, s_yl,
    N: tl.constexpr, N_PAD: tl.constexpr, BLOCK_D: tl.constexpr,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, HAS_Z: tl.constexpr,
    LOAD_H0: tl.constexpr, STORE_Y: tl.constexpr, STORE_END: tl.constexpr, CROSS: tl.constexpr,
):  # fmt: skip
    """Scan one time chunk of one (batch, channel block); see the module docstring for the passes.

    With ``CROSS`` (MambaIR v1's four routes over an image of ``length = height · width`` pixels), channel
    ``c`` belongs to route ``k = c // per_group`` and reads image channel ``c % per_group``; its step ``t``
    visits pixel ``t`` (k = 0, row-major), the column-major pixel ``(t % height, t // height)`` (k = 1), or
    the same two with ``t`` reversed (k = 2, 3). u is the image (batch, per_group, length), delta, B and C
    are given per pixel, and the output, per pixel too, is the sum over the four routes (atomic adds).
    """
    pid_b = tl.program_id(0).to(tl.int64)
    pid_d = tl.program_id(1)
    pid_c = tl.program_id(2)
    # int64 channel offsets: channel * stride exceeds 2**31 once dim * L does (e.g. 576 x 2048^2).
    offs_d = (pid_d * BLOCK_D + tl.arange(0, BLOCK_D)).to(tl.int64)
    offs_n = tl.arange(0, N_PAD)
    mask_d = offs_d < dim
    mask_dn = mask_d[:, None] & (offs_n < N)[None, :]
    group = offs_d // per_group

    # Padded state lanes get A = 0 and B = C = 0: their state stays 0 and adds nothing to y.
    A = tl.load(A_ptr + offs_d[:, None] * s_Ad + offs_n[None, :] * s_An, mask=mask_dn, other=0.0)
    A = A.to(tl.float32) * 1.4426950408889634  # log2(e): the decay is exp2(δ·A·log2 e)
    if HAS_D:
        D = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)

    # Per-(batch, channel, state) layout of the chunk states: (batch, dim, n_chunks, N_PAD), contiguous.
    state_offs = ((pid_b * dim + offs_d[:, None]) * n_chunks + pid_c) * N_PAD + offs_n[None, :]
    if LOAD_H0:
        h = tl.load(h0_ptr + state_offs, mask=mask_dn, other=0.0)
    else:
        h = tl.zeros((BLOCK_D, N_PAD), dtype=tl.float32)
    dt_sum = tl.zeros((BLOCK_D,), dtype=tl.float32)

    chan = offs_d % per_group if CROSS else offs_d  # the image channel a route channel reads and writes
    u_p = u_ptr + pid_b * s_ub + chan * s_ud
    t_p = dt_ptr + pid_b * s_tb + offs_d * s_td
    B_p = B_ptr + pid_b * s_Bb + group[:, None] * s_Bg + offs_n[None, :] * s_Bn
    C_p = C_ptr + pid_b * s_Cb + group[:, None] * s_Cg + offs_n[None, :] * s_Cn
    z_p = z_ptr + pid_b * s_zb + offs_d * s_zd
    y_p = y_ptr + pid_b * s_yb + chan * s_yd
    if CROSS:
        reverse = group >= 2
        column_major = (group % 2) == 1
        height = length // width

    start = pid_c * chunk_len
    stop = tl.minimum(start + chunk_len, length)
    for t in range(start, stop):
        if CROSS:  # per-channel pixel index of step t on the channel's route
            step = tl.where(reverse, length - 1 - t, t)
            pix = tl.where(column_major, (step % height) * width + step // height, step)
            pix_n = pix[:, None]
        else:
            pix = t
            pix_n = t
        u = tl.load(u_p + pix * s_ul, mask=mask_d, other=0.0).to(tl.float32)
        dt = tl.load(t_p + pix * s_tl, mask=mask_d, other=0.0).to(tl.float32)
        if HAS_BIAS:
            dt += bias
        if SOFTPLUS:
            dt = _softplus(dt)
        B = tl.load(B_p + pix_n * s_Bl, mask=mask_dn, other=0.0).to(tl.float32)
        h = tl.exp2(dt[:, None] * A) * h + (dt * u)[:, None] * B
        if STORE_END:
            dt_sum += dt
        if STORE_Y:
            C = tl.load(C_p + pix_n * s_Cl, mask=mask_dn, other=0.0).to(tl.float32)
            y = tl.sum(h * C, axis=1)
            if HAS_D:
                y += u * D
            if HAS_Z:
                z = tl.load(z_p + pix * s_zl, mask=mask_d, other=0.0).to(tl.float32)
                y *= z * tl.sigmoid(z)
            if CROSS:
                tl.atomic_add(y_p + pix * s_yl, y, mask=mask_d)
            else:
                tl.store(y_p + pix * s_yl, y.to(y_ptr.dtype.element_ty), mask=mask_d)

    if STORE_END:
        tl.store(hend_ptr + state_offs, h, mask=mask_dn)
        tl.store(dtsum_ptr + (pid_b * dim + offs_d) * n_chunks + pid_c, dt_sum, mask=mask_d)


@triton.jit
def _carry_kernel(
    A_ptr, hend_ptr, dtsum_ptr, h0_ptr, dim, n_chunks, s_Ad, s_An,
    N: tl.constexpr, N_PAD: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    """State entering each chunk: ``h0[k+1] = exp2(A·log2 e·Σδ_k) · h0[k] + h_end[k]``, ``h0[0] = 0``."""
    pid_b = tl.program_id(0).to(tl.int64)
    offs_d = (tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)).to(tl.int64)
    offs_n = tl.arange(0, N_PAD)
    mask_d = offs_d < dim
    mask_dn = mask_d[:, None] & (offs_n < N)[None, :]
    A = tl.load(A_ptr + offs_d[:, None] * s_Ad + offs_n[None, :] * s_An, mask=mask_dn, other=0.0)
    A = A.to(tl.float32) * 1.4426950408889634
    row = (pid_b * dim + offs_d[:, None]) * n_chunks
    h = tl.zeros((BLOCK_D, N_PAD), dtype=tl.float32)
    for k in range(n_chunks):
        offs = (row + k) * N_PAD + offs_n[None, :]
        tl.store(h0_ptr + offs, h, mask=mask_dn)
        dt_sum = tl.load(dtsum_ptr + (pid_b * dim + offs_d) * n_chunks + k, mask=mask_d, other=0.0)
        h = tl.exp2(dt_sum[:, None] * A) * h + tl.load(hend_ptr + offs, mask=mask_dn, other=0.0)


@functools.cache
def _sm_count(device_index: int) -> int:
    """Streaming multiprocessors of a CUDA device (cached: the query is not free)."""
    return torch.cuda.get_device_properties(device_index).multi_processor_count


def default_block_d(n_state: int) -> int:
    """Channels per program: a (block_d, N) state of about 512 floats, 16 per thread of one warp.

    Measured on an H100 (benchmarks/bench_scan.py --sweep, MambaIR v1/v2 shapes, L = 4096): one warp
    per program beat two or four, and 16-32 channels beat 4-8 once the sequence is split into chunks.
    """
    return max(1, min(64, 512 // triton.next_power_of_2(n_state)))


def default_n_chunks(batch: int, dim: int, length: int, block_d: int, *, sm_count: int = 132) -> int:
    """Time chunks so that about 10 programs run per SM, with chunks no shorter than 64 steps.

    Splitting costs a second pass over the sequence, so it only pays where batch x channel blocks
    cannot fill the GPU on their own. On an H100 at L = 4096 this took MambaIR v1 (dim 1440) from
    1.6 ms in one pass to about 0.45 ms, and a v2-like dim 348 from 2.7 ms to about 0.26 ms.
    """
    programs = batch * triton.cdiv(dim, block_d)
    wanted = triton.cdiv(10 * sm_count, programs)
    return max(1, min(wanted, length // 64))


def selective_scan_triton(
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
    block_d: int | None = None,
    n_chunks: int | None = None,
    num_warps: int = 1,
) -> torch.Tensor:
    """Selective scan on CUDA; semantics and shapes as :func:`.reference.selective_scan_reference`.

    Args:
        u, delta: (batch, dim, L), fp32, bf16 or fp16 (they may differ).
        A: (dim, N), real.
        B, C: (batch, N, L) or grouped (batch, G, N, L); channel ``c`` uses group ``c // (dim // G)``.
        D, delta_bias: (dim,) or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        z: optional (batch, dim, L) gate; the output is multiplied by ``silu(z)``.
        block_d: channels per program (default :func:`default_block_d`).
        n_chunks: time chunks scanned in parallel (default :func:`default_n_chunks`; 1 = one pass).
        num_warps: warps per program.

    Returns:
        (batch, dim, L) in ``u``'s dtype, accumulated in float32.

    Raises:
        ValueError: shapes that do not fit together.
    """
    batch, dim, length = u.shape
    if B.dim() == 3:
        B, C = B[:, None], C[:, None]
    if dim % B.shape[1]:
        raise ValueError(f"dim {dim} is not divisible by the number of groups {B.shape[1]}")
    y = torch.empty(batch, dim, length, dtype=u.dtype, device=u.device)
    _run(u, delta, A, B, C, D, delta_bias, delta_softplus, z, y, per_group=dim // B.shape[1], width=0,
         block_d=block_d, n_chunks=n_chunks, num_warps=num_warps)  # fmt: skip
    return y


def selective_scan_cross_triton(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    block_d: int | None = None,
    n_chunks: int | None = None,
    num_warps: int = 1,
) -> torch.Tensor:
    """MambaIR v1's four-route scan and merge in one kernel; see :mod:`.cross` for the semantics.

    Args:
        x: (batch, E, H, W) image, the ``u`` of every route.
        delta: (batch, 4, E, H, W) per pixel and route.
        A: (4·E, N). D, delta_bias: (4·E,) or None.
        B, C: (batch, 4, N, H, W) per pixel and route.

    Returns:
        (batch, E, H, W) float32, the sum of the four routes' outputs at each pixel.
    """
    batch, channels, height, width = x.shape
    length = height * width
    y = torch.zeros(batch, channels, length, dtype=torch.float32, device=x.device)
    _run(x.reshape(batch, channels, length), delta.reshape(batch, 4 * channels, length), A,
         B.reshape(batch, 4, -1, length), C.reshape(batch, 4, -1, length), D, delta_bias, delta_softplus,
         None, y, per_group=channels, width=width, block_d=block_d, n_chunks=n_chunks,
         num_warps=num_warps)  # fmt: skip
    return y.view(batch, channels, height, width)


def _run(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None,
    delta_bias: torch.Tensor | None,
    delta_softplus: bool,
    z: torch.Tensor | None,
    y: torch.Tensor,
    *,
    per_group: int,
    width: int,
    block_d: int | None,
    n_chunks: int | None,
    num_warps: int,
) -> None:
    """Launch the scan into ``y``: one pass, or chunk-end states, carry, and a second pass.

    ``delta`` carries the channel count (route channels in cross mode, where ``width > 0``); B and C are
    (batch, G, N, L) with G = channels // per_group.
    """
    batch, dim, length = delta.shape
    n_state = A.shape[1]
    if length == 0 or batch == 0:
        return
    A = A.to(torch.float32)
    n_pad = triton.next_power_of_2(n_state)
    block_d = block_d or default_block_d(n_state)
    if n_chunks is None:
        sm_count = 132  # H100; only the Triton interpreter (TRITON_INTERPRET=1) runs on CPU tensors
        if u.is_cuda:
            sm_count = _sm_count(u.device.index if u.device.index is not None else torch.cuda.current_device())
        n_chunks = default_n_chunks(batch, dim, length, block_d, sm_count=sm_count)
    chunk_len = triton.cdiv(length, max(1, min(n_chunks, length)))
    n_chunks = triton.cdiv(length, chunk_len)

    D32 = None if D is None else D.to(torch.float32).contiguous()
    bias32 = None if delta_bias is None else delta_bias.to(torch.float32).contiguous()
    zz = u if z is None else z
    grid = (batch, triton.cdiv(dim, block_d), n_chunks)
    common = dict(N=n_state, N_PAD=n_pad, BLOCK_D=block_d, num_warps=num_warps)

    def launch(h0: torch.Tensor | None, hend: torch.Tensor | None, dtsum: torch.Tensor | None) -> None:
        """One pass over all chunks: store chunk-end states (``hend``) or the output (``h0`` given)."""
        dummy = y
        _scan_chunk_kernel[grid](
            u, delta, A, B, C, dummy if D32 is None else D32, dummy if bias32 is None else bias32, zz, y,
            dummy if h0 is None else h0, dummy if hend is None else hend, dummy if dtsum is None else dtsum,
            dim, length, per_group, chunk_len, n_chunks, max(width, 1),
            *u.stride(), *delta.stride(), *A.stride(), *B.stride(), *C.stride(), *zz.stride(), *y.stride(),
            HAS_D=D32 is not None, HAS_BIAS=bias32 is not None, SOFTPLUS=bool(delta_softplus),
            HAS_Z=z is not None, LOAD_H0=h0 is not None, STORE_Y=hend is None, STORE_END=hend is not None,
            CROSS=width > 0, **common,
        )  # fmt: skip

    if n_chunks == 1:
        launch(None, None, None)
        return
    states = torch.empty(2, batch, dim, n_chunks, n_pad, dtype=torch.float32, device=u.device)
    dtsum = torch.empty(batch, dim, n_chunks, dtype=torch.float32, device=u.device)
    launch(None, states[1], dtsum)
    _carry_kernel[grid[:2]](A, states[1], dtsum, states[0], dim, n_chunks, *A.stride(), **common)
    launch(states[0], None, None)


__all__ = ["default_block_d", "default_n_chunks", "selective_scan_cross_triton", "selective_scan_triton"]
