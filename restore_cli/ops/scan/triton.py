"""Forward-only selective scan as a Triton kernel (CUDA), with the launcher beside it.

Same maths and signature as :func:`.reference.selective_scan_reference` (mamba-ssm's
``selective_scan_ref``). Each program owns one batch element, a block of ``block_d`` channels of one
B/C group and one time chunk; it keeps the ``(N, block_d)`` float32 state in registers and walks its
chunk step by step: load δ and u for its channels and the group's ``B_t``/``C_t`` (any of
fp32/bf16/fp16), add the bias, softplus, update the state with ``exp2(δ·A·log2 e)`` (as mamba-ssm's CUDA
kernel does), contract with ``C_t``, add ``D·u``, gate with ``silu(z)`` and store in ``u``'s dtype.

The tile is laid out states × channels, with ``block_d = 32 · k · num_warps``: Triton spreads a tile's
last axis over the threads, so every thread owns k channels (k = 1 or 2, see below) and all N of
their states. The per-channel work
(loads of u and δ, the softplus, the gate) is then done once per channel, and the contraction with
``C_t`` is a sum inside one thread. (The channels × states tile this kernel used before put 16 threads on
each channel, each redoing that channel's softplus, and moved values between layouts every step.) One
B/C group per program makes ``B_t`` and ``C_t`` one vector that the whole warp reads from the same
address. Measured on an H100 with bf16 inputs: MambaIR v1's four routes at 180x320 read in place went
from 6.4 ms to 2.95 ms (with relaxed atomics for the merge); the channel-first shapes of
``benchmarks/bench_scan.py`` (L = 4096) did not change (0.44 ms for 1440 channels).

Two things keep each step short. The loads of step t + 1 are issued before step t computes (software
pipelining by hand: Triton does not pipeline these per-thread loads; see ``prefetch`` below), and a
cross-scan route's pixel index advances by additions, with one integer division per chunk instead of a
division and a modulo per step. Same case, float32 inputs, H100: 3.10 ms before both, 2.57 ms with the
prefetch, 1.95 ms with both (2.14 ms with bf16 inputs).

Then the step was put on an instruction diet (``benchmarks/scan_sass.py``, sm_90, instructions per step of
the chunk-end / output pass: 192 / 276 before, 152 / 237 after; 142 / 207 with ``prefetch=2``): B_t/C_t
read as 16-byte vectors when aligned, operands carried at storage width, no masks on loads (positions and
channels clamped, stores masked), and a softplus of hardware ``ex2``/``lg2`` plus a short series instead
of libdevice's 40-instruction ``log`` (since the twentieth session one ``ex2`` and a polynomial: see
:func:`_softplus` and :func:`default_prefetch`). Timed on an H100 (2026-11-23, interleaved medians, four routes
180x320 bf16): about 1.6 ms for E = 360 and 0.66 ms for E = 120, within run-to-run noise of before. Nsight
Compute says why: both passes issue on 60-70% of cycles, half of the stall cycles wait on global loads,
and registers cap the SM at 28 warps (chunk-end pass) and ~20 (output pass). Staging B/C as float32 (40
fewer conversions per step) raised the output pass to 123 registers, 16 warps, and was slower (E = 120:
0.82 vs 0.66 ms); prefetch 0, a two-step-deep hand-over and two warps per program were no better. A
block-parallel variant (tiles of T steps × channels × N states, ``tl.associative_scan`` over time, as
mamba-ssm's CUDA kernel scans across threads) has more independent work per warp and about as many
instructions per update, and was still slower at every tile shape tried (E = 360: 2.1 ms at best; commit
43d183b, ``tools/jobs/perf8g.sh``): the scan's combine and shuffles cost what the walk's latency did.
Last, the hand-over copies of ``prefetch=1`` (which wait for the loads they copy) were replaced by two
steps unrolled over two alternating register sets (``prefetch=2``: output pass 72 registers instead of
90): H100, interleaved medians, E = 360 bf16 1.56 vs 1.63 ms, E = 120 0.66 vs 0.67 ms, fp32 1.78 vs
1.75 ms (``tools/jobs/perf8h.sh``): a few percent in bf16, noise in fp32. It is the default at one
channel per thread; two channels per thread take ``prefetch=1`` since the twentieth session
(:func:`default_prefetch`).

Two channels per thread (for groups of 256 channels or more, :func:`channels_per_thread`; since
2026-11-24): what a thread does once per step whatever its channel count (the route arithmetic, the
loads and conversions of B_t and C_t, pointer updates) is shared by two channels. Instructions per
channel-step (sm_90, bf16, four routes) 142 / 205 -> 115 / 159 for the chunk-end / output pass, at 128
registers (16 warps per SM), no spills in any dtype. It halves the programs, so twice the chunks are
wanted (their cap goes 160 -> 256). H100, bf16, the scan alone, interleaved medians
(``tools/jobs/results/perf14-scan-two-channels.txt``): four routes at 180x320, E = 360 1.445 -> 1.374 ms;
MambaIRv2's one route, E = 348 0.480 -> 0.398. In the compiled models (GPU kernel time per 720p
forward): MambaIR classic's scan 48.0 -> 47.1 ms, MambaIRv2 Base's 16.9 -> 13.1 ms. The light models'
narrower groups (E = 120, 96) timed faster alone but slower in the models, so they keep one channel per
thread. With two channels the kernel is close to the special-function unit's bound: a channel-step needed
18 MUFU operations (16 decays, the softplus's ``ex2`` and ``lg2``; 17 since the softplus has one, 16
in the four-route chunk-end pass, whose softplus exponential is on the FMA pipe), 144
cycles of a warp on its quarter of the SM's 16 SFU lanes, against 115-159 issue cycles. Four channels per
thread (103 / 139 instructions, but 250 registers: 8 warps per SM) were 8-17% slower than two.

A CUDA C kernel that walks each step once was tried too (commit 3abb494, compiled at run time by NVRTC
through ``torch.cuda._compile_kernel``, so no build step): a warp per channel, its lanes across 32 · K
consecutive steps, each state's lane maps combined by a shuffle scan, operands staged through shared
memory with vector loads and the next tile's loads in flight during the current one. Correct on the GPU
(float32 within 2.2e-7 of the reference, bf16/fp16 as this kernel, 18 shapes), but slower everywhere:
H100, bf16, 180x320, four routes E = 360 2.23 vs 1.59 ms, E = 120 1.35 vs 0.74, MambaIRv2 Base's one
route 0.81 vs 0.64 (``tools/jobs/results/perf12-cuda-scan.txt``). Nsight Compute says why: a single
walk has one warp per channel and route, 1,440 warps for MambaIR classic, i.e. 11 per SM, and each
waits on its shuffle and shared-memory chain (no eligible warp on 56% of cycles); time chunks restore
the parallelism only by walking twice, which is this kernel's design.

A sequential walk over all of L leaves most of the GPU idle at MambaIR sizes (batch 1, ~1.4k channels:
a few dozen programs, each waiting on a load every step). So L is split into chunks, in three launches:

1. every (batch, channel block, chunk) scans its chunk from a zero state and stores the final state and
   ``Σδ`` of the chunk (no output);
2. the true state entering every chunk, ``h_in[k+1] = exp2(A·log2 e·Σδ_k) · h_in[k] + h_end[k]`` (a
   product of decays <= 1, written as one ``exp2`` of a non-positive number), for all chunks at once by a
   log-depth associative scan over them (:func:`_carry_scan_kernel`);
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

from ..launch import on_tensor_device

LOG2E = math.log2(math.e)


@triton.jit
def _exp2_nonpositive_fma(x):
    """``2**x`` for ``x <= 0`` on the FMA pipe (no special-function unit): ``x`` rounded to an integer j
    by adding and subtracting 1.5 · 2^23, ``2**(x - j)`` (|x - j| <= 1/2) by a degree-5 polynomial
    interpolating at Chebyshev points, and j added to its exponent bits. Relative error below 2.4e-7 for x
    in [-125, 0] (float32 emulation against float64), as ``ex2.approx``; below -125 it returns 2^-125."""
    x = tl.maximum(x, -125.0)
    shifted = x + 12582912.0
    fraction = x - (shifted - 12582912.0)
    p = 0.0013390863314270973
    p = p * fraction + 0.009676031768321991
    p = p * fraction + 0.055503569543361664
    p = p * fraction + 0.2402210682630539
    p = p * fraction + 0.6931471824645996
    p = p * fraction + 1.0000001192092896
    bits = p.to(tl.int32, bitcast=True) + (shifted.to(tl.int32, bitcast=True) << 23)
    return bits.to(tl.float32, bitcast=True)


@triton.jit
def _softplus(x, FMA_EXP: tl.constexpr = False):
    """``log1p(exp(x))`` (torch's softplus: it returns ``x`` above 20, which this equals in float32) as
    ``max(x, 0) + log1p(exp(-|x|))``, with ``log1p`` of ``w`` in (0, 1] a polynomial: one exponential and
    12 instructions on the FMA pipe.

    ``log1p(w) = w·P(w)``, P of degree 8 interpolating ``log1p(w)/w`` at Chebyshev points of [0, 1];
    evaluated in float32 its error is below 1.7e-7 absolute and 2.5e-7 relative on the whole interval
    (checked against float64 at 200,001 points). It replaced ``ln 2 · lg2.approx(1 + e)`` with a Taylor
    series below e = 0.135, which spent a second special-function instruction per channel-step: with
    16 decays that unit is the chunk-end pass's limit (Nsight Compute, H100: the transcendental pipe ~75%
    busy, the MIO-queue stall first among the warps' stalls; ``tools/jobs/results/perf20c-ncu-scan-stalls.txt``).
    """
    # FMA_EXP: the four-route chunk-end pass at two channels per thread, whose special-function unit is
    # the busiest, takes this exponential on the FMA pipe (_exp2_nonpositive_fma): H100, bf16, the scan
    # alone, MambaIR classic 1275 -> 1238 us, colour DN 19.81 -> 19.15 ms; MambaIRv2 Base's one-route
    # scan went 363 -> 370 us with it, so the one-route passes keep ex2
    # (tools/jobs/results/perf21d-softplus-fma-exp-ab.txt), and so does one channel per thread (MambaIR
    # light, 507 -> 512 us), where the pass issues 147 instructions per channel-step against the
    # exponential unit's 128 cycles (benchmarks/scan_sass.py) and the ten extra ones only add.
    exponent = -tl.abs(x) * 1.4426950408889634
    if FMA_EXP:
        w = _exp2_nonpositive_fma(exponent)
    else:
        w = tl.exp2(exponent)
    p = 0.0051261018961668015
    p = p * w - 0.029074065387248993
    p = p * w + 0.0775160863995552
    p = p * w - 0.13602247834205627
    p = p * w + 0.19076880812644958
    p = p * w - 0.2483539879322052
    p = p * w + 0.3331812024116516
    p = p * w - 0.4999944567680359
    p = p * w + 0.9999999403953552
    return tl.maximum(x, 0.0) + p * w


@triton.jit
def _route_start(t, length, height, reverse):
    """Where step ``t`` of a cross-scan route stands: ``(s, row, col)``, ``s`` its row-major pixel index
    on the (possibly reversed) route and ``(row, col)`` = ``(s % height, s // height)`` for the column-major
    routes. Divides once per chunk; :func:`_route_advance` then moves one step without dividing."""
    s = t + reverse * (length - 1 - 2 * t)
    return s, s % height, s // height


@triton.jit
def _route_advance(s, row, col, height, reverse):
    """One step along the route: ``s`` moves by ±1, the column-major position wraps rows into columns."""
    direction = 1 - 2 * reverse
    row = row + direction
    wrap_down = row == height
    wrap_up = row < 0
    col = col + wrap_down.to(tl.int32) - wrap_up.to(tl.int32)
    row = tl.where(wrap_down, 0, tl.where(wrap_up, height - 1, row))
    return s + direction, row, col


@triton.jit
def _route_pixel(s, row, col, width, column_major, mirror, length, CLAMP: tl.constexpr):
    """Pixel index of a route position: row-major ``s``, or ``row * width + col`` for column-major routes;
    ``CLAMP``: into the image (positions past a chunk's end, whose loads go unused). ``mirror`` (1, or 0)
    turns it into the pixel of the reversed route at the same step: position ``L - 1 - s`` of either order
    is pixel ``L - 1 - p(s)``, so lanes on a route and its reverse share one walk (``ROUTE_LANES``)."""
    p = s + column_major * (row * width + col - s)
    if CLAMP:
        p = tl.minimum(tl.maximum(p, 0), length - 1)
    return p + mirror * (length - 1 - 2 * p)


@triton.jit
def _next_pixel(pos, row, col, t_next, height, width, reverse, column_major, mirror, length, CROSS: tl.constexpr,
                CLAMP: tl.constexpr):
    """The pixel of the next step: the route advanced one position (``CROSS``; ``pos, row, col`` as
    :func:`_route_advance` keeps them), or pixel ``t_next`` of the plain scan. ``CLAMP``: into the image, for
    loads ahead of a chunk's end (see :func:`_route_pixel`)."""
    if CROSS:
        pos, row, col = _route_advance(pos, row, col, height, reverse)
        pix = _route_pixel(pos, row, col, width, column_major, mirror, length, CLAMP)
    elif CLAMP:
        pix = tl.minimum(t_next, length - 1)
    else:
        pix = t_next
    return pos, row, col, pix


@triton.jit
def _load_state_vector(ptr, base, pix, s_l, offs_n, mask_n, VEC: tl.constexpr, MASK_N: tl.constexpr,
                       PAIRS: tl.constexpr):
    """B_t or C_t of one group, as stored (N values that every thread of the program reads; with
    ``ROUTE_LANES``, an (N, lanes) tile: ``pix`` and ``base`` per lane, ``offs_n`` a column).

    ``VEC``: the N values are contiguous and start at a multiple of 8 elements (``base`` and the strides
    are: the launcher checks), and ``ptr`` is the tensor's base pointer. Told so, the compiler reads them
    with 16-byte vector loads from one address; otherwise (``ptr`` a block of N pointers) they are N
    scalar loads with N 64-bit addresses, which also cost ~60 registers per thread and so occupancy.
    ``MASK_N``: N is not a power of two, and the padding lanes must read 0. With ``VEC`` all N_PAD values
    are read (the launcher checks that they lie in the tensor's memory) and the padding lanes set to 0
    afterwards: a mask on the load would split the vectors, while this zero is known to the compiler lane
    by lane (the padding states' work goes once :func:`_scan_step` zeroes their state too).
    """
    if VEC:
        if PAIRS:  # bf16, read as int32 pairs and widened by _widen_state_vector
            start = (ptr + tl.multiple_of(base + pix * s_l, 8)).to(tl.pointer_type(tl.int32))
            pairs = tl.max_contiguous(tl.multiple_of(tl.arange(0, offs_n.shape[0] // 2), 4), 4)
            v = tl.load(start + pairs)
            if MASK_N:  # the padding's halves cleared, so that they widen to 0
                low_real, high_real = tl.split(tl.reshape(mask_n, (offs_n.shape[0] // 2, 2)))
                v = tl.where(high_real, v, tl.where(low_real, v & 65535, 0))
        else:
            if len(offs_n.shape) == 2:  # (N, lanes): each lane's own route (see ROUTE_LANES)
                # N_PAD 8 or 16 (the launcher's condition) in runs of 8 (16 bytes): told of a longer run,
                # the compiler spreads it over two threads, whose halves then cost shuffles every step
                RUN: tl.constexpr = 128 // ptr.dtype.element_ty.primitive_bitwidth
                offs = tl.max_contiguous(tl.multiple_of(base + pix * s_l + tl.arange(0, RUN)[:, None], [RUN, 1]),
                                         [RUN, 1])
                v = tl.load(ptr + offs)
                if offs_n.shape[0] >= 2 * RUN:
                    high = tl.load(ptr + offs + RUN)
                    v = tl.reshape(tl.permute(tl.join(v, high), (2, 0, 1)), (2 * RUN, v.shape[1]))
                if offs_n.shape[0] >= 4 * RUN:
                    v2 = tl.load(ptr + offs + 2 * RUN)
                    v3 = tl.load(ptr + offs + 3 * RUN)
                    high = tl.reshape(tl.permute(tl.join(v2, v3), (2, 0, 1)), (2 * RUN, v.shape[1]))
                    v = tl.reshape(tl.permute(tl.join(v, high), (2, 0, 1)), (4 * RUN, v.shape[1]))
            else:
                v = tl.load(ptr + tl.max_contiguous(tl.multiple_of(base + pix * s_l + offs_n, 8), 8))
            if MASK_N:
                v = tl.where(mask_n, v, 0.0)
    else:
        if MASK_N:
            v = tl.load(ptr + pix * s_l, mask=mask_n, other=0.0)
        else:
            v = tl.load(ptr + pix * s_l)
    return v


@triton.jit
def _widen_state_vector(v):
    """B_t or C_t in float32, from what :func:`_load_state_vector` read. bf16 pairs held as int32 widen by
    one instruction each: the low value shifted up 16 bits, the high one with its low 16 bits cleared
    (the compiler's own conversion of a bf16 vector first moves each value into a register of its own:
    two instructions per value, ~30 per step of the output pass)."""
    if v.dtype == tl.int32:
        low = (v << 16).to(tl.float32, bitcast=True)
        high = (v & -65536).to(tl.float32, bitcast=True)
        v = tl.reshape(tl.join(low, high), (2 * v.shape[0],))
    return v.to(tl.float32)


@triton.jit
def _state_tile(v):
    """B_t or C_t as an (N, channels) operand: a group's vector broadcast over the channels, or as it is
    where every lane read its own (see ``ROUTE_LANES``)."""
    if len(v.shape) == 1:
        v = v[:, None]
    return v


@triton.jit
def _load_step(u_p, t_p, B_p, C_p, z_p, pix, s_ul, s_tl, s_Bl, s_Cl, s_zl, mask_n, B_o, C_o, offs_n,
               LOAD_C: tl.constexpr, HAS_Z: tl.constexpr, BC_VEC: tl.constexpr, MASK_N: tl.constexpr,
               BC_PAIRS: tl.constexpr, t_o=0, offs_r=0, mask_r=0, RANK: tl.constexpr = 0,
               R_VEC: tl.constexpr = False, R_PAIRS: tl.constexpr = False):
    """One step's operands as stored (fp32, bf16 or fp16; converted at use, so operands loaded ahead wait
    in registers at their storage width): u and δ per channel, the group's B_t (and C_t, z when needed).
    With ``RANK`` > 0, δ's place holds the group's low-rank projection at the step (``RANK`` values, read
    as B_t is), which :func:`_scan_step` maps to each channel's δ.

    No masks on the per-channel loads: ``pix`` is always a real pixel and the pointers of the channels
    past the block's end point at a real channel (the caller clamps both), so no step spends instructions
    on predicates or on zeroing registers for masked-off lanes; only the stores are masked.
    """
    u = tl.load(u_p + pix * s_ul)
    pix_bc = pix
    if len(pix.shape) == 1:  # a pixel per lane (ROUTE_LANES): B_t and C_t as (N, lanes) tiles
        pix_bc = pix[None, :]
    if RANK > 0:
        dt = _load_state_vector(t_p, t_o, pix_bc, s_tl, offs_r, mask_r, R_VEC, offs_r.shape[0] != RANK, R_PAIRS)
    else:
        dt = tl.load(t_p + pix * s_tl)
    B = _load_state_vector(B_p, B_o, pix_bc, s_Bl, offs_n, mask_n, BC_VEC, MASK_N, BC_PAIRS)
    C = B
    z = u
    if LOAD_C:
        C = _load_state_vector(C_p, C_o, pix_bc, s_Cl, offs_n, mask_n, BC_VEC, MASK_N, BC_PAIRS)
        if HAS_Z:
            z = tl.load(z_p + pix * s_zl)
    return u, dt, B, C, z


@triton.jit
def _scan_step(h, dt_sum, u, dt, B, C, z, pix, valid, A, D, bias, y_p, s_yl, mask_d, GUARD: tl.constexpr,
               HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, HAS_D: tl.constexpr,
               HAS_Z: tl.constexpr, STORE_Y: tl.constexpr, STORE_END: tl.constexpr, CROSS: tl.constexpr,
               FMA_SOFTPLUS: tl.constexpr = False, N: tl.constexpr = 0, W=0, RANK: tl.constexpr = 0):
    """One step of the recurrence for the block's channels: the new state (and ``Σδ``), and the output
    at pixel ``pix`` when storing it. ``GUARD``: the step may not exist (``valid`` false), and then it is
    the identity (δ = 0) and stores nothing. ``N``: the real states, when fewer than the tile's rows.

    The padding rows (N below its power of two: MambaIR light's 10 of 16) are set to a literal 0 after
    the update, and their terms of the contraction to -0.0 (``y + -0.0`` is ``y`` exactly, ``y + 0.0`` is
    not when y is -0.0). Both masks are constants register by register, so the compiler drops the padding's
    decay, update and contraction: sm_90, MambaIR light's lanes, 112 / 171 -> 110 / 152 instructions per
    step of the chunk-end / output pass, the output pass in 64 registers instead of 72 without the δ bias
    (with it 72, which :func:`output_pass_maxnreg` caps at 64 for the lanes). Zero B and C alone
    had not done it: ``exp2(0·δ)·h + 0·δu`` is not ``h`` for every float (infinities). H100, bf16, the scan
    alone 241 -> 240 us, in the compiled model 5.4 ms either way (latency, not issue, bounds this pass;
    ``tools/jobs/results/perf25b-*.txt``): kept for the registers and the shorter code."""
    u_f = u.to(tl.float32)
    if RANK > 0:  # δ = W · (the group's low-rank projection), W (R_PAD, channels) in float32
        terms = W * _state_tile(_widen_state_vector(dt))
        if W.shape[0] != RANK:  # padding rows: constant per register, so the compiler drops them
            terms = tl.where(tl.arange(0, W.shape[0])[:, None] < RANK, terms, -0.0)
        dt_f = tl.sum(terms, axis=0)
    else:
        dt_f = dt.to(tl.float32)
    if HAS_BIAS:
        dt_f += bias
    if SOFTPLUS:
        dt_f = _softplus(dt_f, FMA_SOFTPLUS)
    if GUARD:
        dt_f = tl.where(valid, dt_f, 0.0)
    h = tl.exp2(dt_f[None, :] * A) * h + _state_tile(_widen_state_vector(B)) * (dt_f * u_f)[None, :]
    PADDED: tl.constexpr = N > 0 and h.shape[0] > N
    if PADDED:
        real = tl.arange(0, h.shape[0])[:, None] < N
        h = tl.where(real, h, 0.0)
    if STORE_END:
        dt_sum += dt_f
    if STORE_Y:
        terms = h * _state_tile(_widen_state_vector(C))
        if PADDED:
            terms = tl.where(real, terms, -0.0)
        y = tl.sum(terms, axis=0)
        if HAS_D:
            y += u_f * D
        if HAS_Z:
            z_f = z.to(tl.float32)
            y *= z_f * tl.sigmoid(z_f)
        mask = mask_d
        if GUARD:
            mask = mask_d & valid
        if CROSS:
            # relaxed: the four routes' adds commute and nothing reads y before the kernel ends (the
            # default acq_rel ordering fences every add)
            tl.atomic_add(y_p + pix * s_yl, y, mask=mask, sem="relaxed")
        else:
            tl.store(y_p + pix * s_yl, y.to(y_p.dtype.element_ty), mask=mask)
    return h, dt_sum


@triton.jit
def _scan_chunk_kernel(
    u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr, z_ptr, y_ptr,
    h0_ptr, hend_ptr, dtsum_ptr, w_ptr,
    dim, length, per_group, blocks_per_group, chunk_len, n_chunks, width, r_offset,
    s_ub, s_ud, s_ul,
    s_tb, s_td, s_tl, s_tg,
    s_wd, s_wr,
    s_Ad, s_An,
    s_Bb, s_Bg, s_Bn, s_Bl,
    s_Cb, s_Cg, s_Cn, s_Cl,
    s_zb, s_zd, s_zl,
    s_yb, s_yd, s_yl,
    N: tl.constexpr, N_PAD: tl.constexpr, BLOCK_D: tl.constexpr,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, HAS_Z: tl.constexpr,
    LOAD_H0: tl.constexpr, STORE_Y: tl.constexpr, STORE_END: tl.constexpr, CROSS: tl.constexpr,
    PREFETCH: tl.constexpr, BC_VEC: tl.constexpr, FMA_SOFTPLUS: tl.constexpr = False,
    BC_PAIRS: tl.constexpr = False, ROUTE_LANES: tl.constexpr = 1, ZERO_Y: tl.constexpr = False,
    RANK: tl.constexpr = 0, R_PAD: tl.constexpr = 1, R_VEC: tl.constexpr = False, R_FROM_B: tl.constexpr = False,
    R_PAIRS: tl.constexpr = False,
):  # fmt: skip
    """Scan one time chunk of one (batch, group, channel block); see the module docstring for the passes.

    With ``CROSS`` (MambaIR v1's four routes over an image of ``length = height · width`` pixels), group
    ``k`` is route ``k``, and its channel ``c`` reads image channel ``c``; step ``t`` visits pixel ``t``
    (k = 0, row-major), the column-major pixel ``(t % height, t // height)`` (k = 1), or the same two with
    ``t`` reversed (k = 2, 3). u is the image (batch, per_group, length), delta, B and C are given per
    pixel, and the output, per pixel too, is the sum over the four routes (atomic adds).

    ``ROUTE_LANES`` = 4 (the cross scan at one channel per thread): the program's lanes are four groups
    of ``BLOCK_D / 4`` channels, one per route, so that a group width that is not a multiple of the
    block's (MambaIR light: 72 channels per route) leaves no idle lanes. All lanes share one forward walk,
    a lane on a reversed route mirrors its pixel (:func:`_route_pixel`), and B_t/C_t are loaded per lane.

    ``ZERO_Y`` (the cross scan's chunk-end pass): first zero the output that the output pass will add the
    routes into, pixels ``start .. stop - 1`` of the chunk's row-major range, pixel ``p`` by the lanes of
    route ``(p - start) % 4``: every pixel and channel once over the grid. The stores issue before the
    walk, whose latency hides them, in place of a fill kernel (MambaIR light at 720p: 5.4 us per block)
    and its launch before the scan. The launcher asks it at one channel per thread, in lanes or in blocks
    (:func:`zero_y_in_chunk_end`); with route blocks, ``group`` is the program's route.

    ``RANK`` > 0: δ is not given per channel but as its low-rank projection, ``RANK`` values per group and
    step (``dt_ptr`` (batch, G, RANK, L) with strides ``s_tb, s_tg, s_td, s_tl``), and ``w_ptr`` holds the
    (dim, RANK) weight that maps it to the channels (MambaIR's ``dt_projs_weight``). The step reads the
    group's ``RANK`` values as it reads B_t (``R_VEC``: as vectors, ``R_PAD`` of them) and each channel
    makes its δ with ``RANK`` fused multiply-adds, so the (L, dim) δ tensor is never written.
    ``R_FROM_B``: the projection is a slice of B's tensor with B's strides, ``r_offset`` elements after
    B (as ``SS2D.forward_fused`` lays them out), so its address is B_t's plus that offset, computed once.
    ``R_PAIRS``: bf16, read as int32 pairs and widened by hand (as ``BC_PAIRS``).
    """
    pid_b = tl.program_id(0).to(tl.int64)
    pid_g = tl.program_id(1)
    pid_c = tl.program_id(2)
    LANES: tl.constexpr = ROUTE_LANES > 1
    if LANES:
        lane = tl.arange(0, BLOCK_D)
        group = lane // (BLOCK_D // ROUTE_LANES)
        in_group = pid_g * (BLOCK_D // ROUTE_LANES) + lane % (BLOCK_D // ROUTE_LANES)
    else:
        group = pid_g // blocks_per_group
        in_group = (pid_g % blocks_per_group) * BLOCK_D + tl.arange(0, BLOCK_D)
    mask_d = in_group < per_group
    # int64 channel offsets: channel * stride exceeds 2**31 once dim * L does (e.g. 576 x 2048^2).
    offs_d = group.to(tl.int64) * per_group + in_group
    offs_n = tl.arange(0, N_PAD)
    mask_n = offs_n < N
    mask_nd = mask_n[:, None] & mask_d[None, :]

    # Padded state lanes get A = 0 and B = C = 0: their state stays 0 and adds nothing to y.
    A = tl.load(A_ptr + offs_d[None, :] * s_Ad + offs_n[:, None] * s_An, mask=mask_nd, other=0.0)
    A = A.to(tl.float32) * 1.4426950408889634  # log2(e): the decay is exp2(δ·A·log2 e)
    D = tl.zeros((BLOCK_D,), dtype=tl.float32)  # (placeholders when absent: _scan_step takes both)
    bias = D
    if HAS_D:
        D = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)

    # Chunk states are stored (batch, n_chunks, N_PAD, dim) and A is read as (N, dim): every 2D access is
    # contiguous along channels, which is what makes Triton lay the tile out channels across threads.
    chunk_row = pid_b * n_chunks + pid_c
    state_offs = (chunk_row * N_PAD + offs_n[:, None]) * dim + offs_d[None, :]
    if LOAD_H0:
        h = tl.load(h0_ptr + state_offs, mask=mask_nd, other=0.0)
    else:
        h = tl.zeros((N_PAD, BLOCK_D), dtype=tl.float32)
    dt_sum = tl.zeros((BLOCK_D,), dtype=tl.float32)

    # Loads read through channel indices clamped to the block's last real channel (see _load_step); the
    # stores use the true ones, masked.
    in_group_ld = tl.minimum(in_group, per_group - 1)
    offs_d_ld = group.to(tl.int64) * per_group + in_group_ld
    chan = in_group.to(tl.int64) if CROSS else offs_d  # the image channel a route channel reads and writes
    chan_ld = in_group_ld.to(tl.int64) if CROSS else offs_d_ld
    u_p = u_ptr + pid_b * s_ub + chan_ld * s_ud
    t_p = dt_ptr + pid_b * s_tb + offs_d_ld * s_td
    if BC_VEC:  # base pointers and aligned element offsets (see _load_state_vector)
        B_p = B_ptr
        C_p = C_ptr
        B_o = pid_b * s_Bb + group * s_Bg
        C_o = pid_b * s_Cb + group * s_Cg
        if LANES:
            B_o = B_o[None, :]
            C_o = C_o[None, :]
    else:
        if LANES:
            B_p = B_ptr + pid_b * s_Bb + group[None, :] * s_Bg + offs_n[:, None] * s_Bn
            C_p = C_ptr + pid_b * s_Cb + group[None, :] * s_Cg + offs_n[:, None] * s_Cn
        else:
            B_p = B_ptr + pid_b * s_Bb + group * s_Bg + offs_n * s_Bn
            C_p = C_ptr + pid_b * s_Cb + group * s_Cg + offs_n * s_Cn
        B_o = pid_b * 0
        C_o = pid_b * 0
    if LANES:  # from here on, the states' offsets as a column against each lane's pixel (_load_step)
        offs_n = offs_n[:, None]
        mask_n = mask_n[:, None]
    z_p = z_ptr + pid_b * s_zb + offs_d_ld * s_zd
    if RANK > 0:  # δ from its low-rank projection (see the docstring), read per group as B_t is
        offs_r = tl.arange(0, R_PAD)
        mask_r = offs_r < RANK
        # (as A: the true channels, masked, so that the compiler sees the tile contiguous along them)
        W = tl.load(w_ptr + offs_d[None, :] * s_wd + offs_r[:, None] * s_wr, mask=mask_r[:, None] & mask_d[None, :],
                    other=0.0).to(tl.float32)
        if R_FROM_B:  # a slice of B's tensor (the launcher checked): B's addresses plus an offset
            t_p = B_ptr
            s_tl = s_Bl
            t_o = B_o + r_offset
        elif R_VEC:
            t_p = dt_ptr
            t_o = pid_b * s_tb + group * s_tg
            if LANES:
                t_o = t_o[None, :]
        else:
            if LANES:
                t_p = dt_ptr + pid_b * s_tb + group[None, :] * s_tg + offs_r[:, None] * s_td
            else:
                t_p = dt_ptr + pid_b * s_tb + group * s_tg + offs_r * s_td
            t_o = pid_b * 0
        if LANES:
            offs_r = offs_r[:, None]
            mask_r = mask_r[:, None]
    else:  # (placeholders: unused without RANK)
        offs_r = offs_n
        mask_r = mask_n
        t_o = B_o
        W = A
    y_p = y_ptr + pid_b * s_yb + chan * s_yd
    # Route k of the cross scan, as integers (one route per program, or per lane with ROUTE_LANES): reversed
    # for k >= 2, column-major for odd k; unused otherwise.
    reverse = (group >= 2).to(tl.int32)
    column_major = (group % 2).to(tl.int32)
    if LANES:  # one forward walk, uniform across the lanes; each lane mirrors it or not (_route_pixel)
        mirror = reverse
        reverse = 0
    else:
        mirror = 0
    height = length // width
    MASK_N: tl.constexpr = N != N_PAD

    start = pid_c * chunk_len
    stop = start + chunk_len
    if stop > length:  # (not tl.minimum: the Triton interpreter cannot loop to its result)
        stop = length
    if ZERO_Y:
        ZERO_ROWS: tl.constexpr = 4  # pixels per store, per lane
        zero_rows = 4 * tl.arange(0, ZERO_ROWS)[:, None]  # the pixels of one route's lanes, 4 apart
        for first in range(start, stop, 4 * ZERO_ROWS):
            pix_z = first + group + zero_rows
            tl.store(y_p[None, :] + pix_z * s_yl, tl.zeros((ZERO_ROWS, BLOCK_D), dtype=tl.float32),
                     mask=(pix_z < stop) & mask_d[None, :])
    # PREFETCH = 0 loads each step's operands at the top of the step and leaves the latency to the other
    # warps on the SM. 1 loads step t + 1's operands while step t computes and hands them over at the end
    # of the step; the compiler makes that hand-over register copies, which wait for the loads, so the
    # loads are in flight only while the rest of the step runs. 2 unrolls two steps and alternates two
    # sets of registers (step t + 1's loads issued before step t computes, step t + 2's before step t + 1),
    # so no copy waits; 3 unrolls three steps over three sets, each loaded two steps ahead (see
    # default_prefetch). (Triton does not pipeline these per-thread loads itself.) Positions past the
    # chunk's end are clamped to a real pixel, their loads unused.
    if CROSS:  # integer division once per chunk, not per step
        pos, row, col = _route_start(start, length, height, reverse)
        pix = _route_pixel(pos, row, col, width, column_major, mirror, length, False)
    else:
        pos, row, col = start, start, start  # (unused: the plain scan's step t is pixel t)
        pix = start
    u, dt, B, C, z = _load_step(u_p, t_p, B_p, C_p, z_p, pix, s_ul, s_tl, s_Bl, s_Cl, s_zl, mask_n, B_o, C_o,
                                offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
    if PREFETCH == 3:
        # three sets in turn, each step's operands loaded two steps ahead (the loads wait ~two steps of
        # the other warps' work instead of one: the passes stall on them most, perf24d-ncu-*.txt)
        pos, row, col, pix_b = _next_pixel(pos, row, col, start + 1, height, width, reverse, column_major, mirror,
                                           length, CROSS, True)
        u_b, dt_b, B_b, C_b, z_b = _load_step(u_p, t_p, B_p, C_p, z_p, pix_b, s_ul, s_tl, s_Bl, s_Cl, s_zl,
                                              mask_n, B_o, C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                              t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
        for t in range(start, stop, 3):
            pos, row, col, pix_c = _next_pixel(pos, row, col, t + 2, height, width, reverse, column_major, mirror,
                                               length, CROSS, True)
            u_c, dt_c, B_c, C_c, z_c = _load_step(u_p, t_p, B_p, C_p, z_p, pix_c, s_ul, s_tl, s_Bl, s_Cl, s_zl,
                                                  mask_n, B_o, C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                                  t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
            h, dt_sum = _scan_step(h, dt_sum, u, dt, B, C, z, pix, mask_d, A, D, bias, y_p, s_yl, mask_d,
                                   False, HAS_BIAS, SOFTPLUS, HAS_D, HAS_Z, STORE_Y, STORE_END, CROSS, FMA_SOFTPLUS,
                                   N, W, RANK)
            pos, row, col, pix = _next_pixel(pos, row, col, t + 3, height, width, reverse, column_major, mirror,
                                             length, CROSS, True)
            u, dt, B, C, z = _load_step(u_p, t_p, B_p, C_p, z_p, pix, s_ul, s_tl, s_Bl, s_Cl, s_zl, mask_n, B_o,
                                        C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                        t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
            # a chunk's last group of three may lack its second or third step: δ = 0 makes those the
            # identity, their stores masked
            h, dt_sum = _scan_step(h, dt_sum, u_b, dt_b, B_b, C_b, z_b, pix_b, in_group * 0 + t + 1 < stop, A, D,
                                   bias, y_p, s_yl, mask_d, True, HAS_BIAS, SOFTPLUS, HAS_D, HAS_Z,
                                   STORE_Y, STORE_END, CROSS, FMA_SOFTPLUS, N, W, RANK)
            pos, row, col, pix_b = _next_pixel(pos, row, col, t + 4, height, width, reverse, column_major, mirror,
                                               length, CROSS, True)
            u_b, dt_b, B_b, C_b, z_b = _load_step(u_p, t_p, B_p, C_p, z_p, pix_b, s_ul, s_tl, s_Bl, s_Cl, s_zl,
                                                  mask_n, B_o, C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                                  t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
            h, dt_sum = _scan_step(h, dt_sum, u_c, dt_c, B_c, C_c, z_c, pix_c, in_group * 0 + t + 2 < stop, A, D,
                                   bias, y_p, s_yl, mask_d, True, HAS_BIAS, SOFTPLUS, HAS_D, HAS_Z,
                                   STORE_Y, STORE_END, CROSS, FMA_SOFTPLUS, N, W, RANK)
    elif PREFETCH == 2:
        for t in range(start, stop, 2):
            pos, row, col, pix_b = _next_pixel(pos, row, col, t + 1, height, width, reverse, column_major, mirror,
                                               length, CROSS, True)
            u_b, dt_b, B_b, C_b, z_b = _load_step(u_p, t_p, B_p, C_p, z_p, pix_b, s_ul, s_tl, s_Bl, s_Cl, s_zl,
                                                  mask_n, B_o, C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                                  t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
            h, dt_sum = _scan_step(h, dt_sum, u, dt, B, C, z, pix, mask_d, A, D, bias, y_p, s_yl, mask_d,
                                   False, HAS_BIAS, SOFTPLUS, HAS_D, HAS_Z, STORE_Y, STORE_END, CROSS, FMA_SOFTPLUS,
                                   N, W, RANK)
            pos, row, col, pix = _next_pixel(pos, row, col, t + 2, height, width, reverse, column_major, mirror,
                                             length, CROSS, True)
            u, dt, B, C, z = _load_step(u_p, t_p, B_p, C_p, z_p, pix, s_ul, s_tl, s_Bl, s_Cl, s_zl, mask_n, B_o,
                                        C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                        t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
            # an odd chunk's last pair has no second step: δ = 0 makes it the identity, its store is masked
            h, dt_sum = _scan_step(h, dt_sum, u_b, dt_b, B_b, C_b, z_b, pix_b, in_group * 0 + t + 1 < stop, A, D,
                                   bias, y_p, s_yl, mask_d, True, HAS_BIAS, SOFTPLUS, HAS_D, HAS_Z,
                                   STORE_Y, STORE_END, CROSS, FMA_SOFTPLUS, N, W, RANK)
    else:
        for t in range(start, stop):
            if PREFETCH == 0:
                if t > start:
                    u, dt, B, C, z = _load_step(u_p, t_p, B_p, C_p, z_p, pix, s_ul, s_tl, s_Bl, s_Cl, s_zl, mask_n,
                                                B_o, C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N, BC_PAIRS,
                                                t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
            else:
                pos, row, col, pix_next = _next_pixel(pos, row, col, t + 1, height, width, reverse, column_major,
                                                      mirror, length, CROSS, True)
                u_n, dt_n, B_n, C_n, z_n = _load_step(u_p, t_p, B_p, C_p, z_p, pix_next, s_ul, s_tl, s_Bl, s_Cl,
                                                      s_zl, mask_n, B_o, C_o, offs_n, STORE_Y, HAS_Z, BC_VEC, MASK_N,
                                                      BC_PAIRS, t_o, offs_r, mask_r, RANK, R_VEC, R_PAIRS)
            h, dt_sum = _scan_step(h, dt_sum, u, dt, B, C, z, pix, mask_d, A, D, bias, y_p, s_yl, mask_d, False,
                                   HAS_BIAS, SOFTPLUS, HAS_D, HAS_Z, STORE_Y, STORE_END, CROSS, FMA_SOFTPLUS,
                                   N, W, RANK)
            if PREFETCH == 0:
                pos, row, col, pix = _next_pixel(pos, row, col, t + 1, height, width, reverse, column_major, mirror,
                                                 length, CROSS, False)
            else:
                pix, u, dt, B, C, z = pix_next, u_n, dt_n, B_n, C_n, z_n

    if STORE_END:
        tl.store(hend_ptr + state_offs, h, mask=mask_nd)
        tl.store(dtsum_ptr + chunk_row * dim + offs_d, dt_sum, mask=mask_d)


@triton.jit
def _then(decay_a, h_a, decay_b, h_b):
    """Two carry steps in a row, ``h -> decay_b·(decay_a·h + h_a) + h_b``, as one (associative)."""
    return decay_a * decay_b, decay_b * h_a + h_b


@triton.jit
def _carry_scan_kernel(
    A_ptr, hend_ptr, dtsum_ptr, h0_ptr, dim, n_chunks, s_Ad, s_An,
    N_PAD: tl.constexpr, BLOCK_D: tl.constexpr, CHUNKS: tl.constexpr,
):  # fmt: skip
    """State entering each chunk, ``h0[k+1] = exp2(A·log2 e·Σδ_k) · h0[k] + h_end[k]``, ``h0[0] = 0``.

    Same layouts as the scan kernel: states (batch, n_chunks, N_PAD, dim), Σδ (batch, n_chunks, dim).
    One program per (batch, channel block, state) loads every chunk's ``Σδ`` and end state and combines
    them with ``tl.associative_scan`` (log depth). It replaced a walk over the chunks (one program per
    channel block, the next chunks' operands prefetched; commit e65cef2), which waited on each chunk in
    turn: H100, bf16, 180x320, the whole tokens scan with the walk / with this carry, MambaIR classic's
    four routes 1.712 / 1.642 ms, light 0.934 / 0.908, MambaIRv2 Base 0.763 / 0.648, v2 light 0.379 /
    0.331 (``tools/jobs/results/perf12-carry-scan.txt``). More than ``CHUNKS`` chunks (256 at most; only an
    explicit ``n_chunks`` asks for more) are taken a tile at a time; chunks past ``n_chunks`` in the last
    tile are identity steps.
    """
    pid_b = tl.program_id(0).to(tl.int64)
    offs_d = (tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)).to(tl.int64)
    n = tl.program_id(2)
    mask_d = offs_d < dim
    a = tl.load(A_ptr + offs_d * s_Ad + n * s_An, mask=mask_d, other=0.0).to(tl.float32) * 1.4426950408889634
    tl.store(h0_ptr + (pid_b * n_chunks * N_PAD + n) * dim + offs_d, tl.zeros((BLOCK_D,), dtype=tl.float32),
             mask=mask_d)
    h_in = tl.zeros((BLOCK_D,), dtype=tl.float32)  # the state entering this tile of chunks
    for first in range(0, n_chunks, CHUNKS):  # one tile of CHUNKS chunks at a time (one, up to 256 chunks)
        offs_k = first + tl.arange(0, CHUNKS)
        mask = (offs_k[:, None] < n_chunks) & mask_d[None, :]
        row = pid_b * n_chunks + offs_k
        dt = tl.load(dtsum_ptr + row[:, None] * dim + offs_d[None, :], mask=mask, other=0.0)
        end = tl.load(hend_ptr + (row[:, None] * N_PAD + n) * dim + offs_d[None, :], mask=mask, other=0.0)
        decay, h = tl.associative_scan((tl.exp2(dt * a[None, :]), end), 0, _then)
        h = decay * h_in[None, :] + h  # h[k]: the state after chunk k
        tl.store(h0_ptr + ((row[:, None] + 1) * N_PAD + n) * dim + offs_d[None, :], h,
                 mask=(offs_k[:, None] + 1 < n_chunks) & mask_d[None, :])
        h_in = tl.sum(tl.where(offs_k[:, None] == first + CHUNKS - 1, h, 0.0), axis=0)


CARRY_BLOCK_D = 16  # channels per carry program: 16 x up to 256 chunks x 2 operands in 4 warps


@functools.cache
def _sm_count(device_index: int) -> int:
    """Streaming multiprocessors of a CUDA device (cached: the query is not free)."""
    return torch.cuda.get_device_properties(device_index).multi_processor_count


WIDE_GROUP = 256  # channels per group from which a thread takes two of them


def channels_per_thread(per_group: int) -> int:
    """Two channels per thread for groups of at least ``WIDE_GROUP`` channels, else one.

    Two pay where there are channels enough to keep the SMs busy with half the programs (MambaIR classic
    and MambaIRv2 Base, 360 and 348 channels: see the module docstring); for the light models (120 and
    96 channels) the GPU kernel time of the whole model rose with them (H100, bf16 + compile, 180x320:
    MambaIR light's scan 9.2 -> 10.7 ms, MambaIRv2 light's model 14.6 -> 16.5 ms), though the scan alone
    timed back to back had looked faster.
    """
    return 2 if per_group >= WIDE_GROUP else 1


def default_prefetch(per_thread: int, *, route_blocks: bool = False) -> int:
    """How the step operands are loaded ahead (the kernel's ``PREFETCH``): 1 at two channels per thread,
    2 at one, 3 (two steps ahead, three register sets) for the four routes in blocks of channels at one
    channel per thread (``route_blocks``: MambaIR's DN and JPEG models, 216 channels per route).

    Three sets: Nsight Compute put most of the one-channel passes' stalls on loads (long scoreboard 2.4
    to 3.6 cycles per issued instruction; ``tools/jobs/results/perf24d-*.txt``). H100, bf16, the scan
    alone, interleaved medians (``perf24e-prefetch3.txt``): colour DN at 720x1280 14.54 -> 13.93 ms
    (its output pass at 120 registers instead of 80); slower elsewhere: MambaIR light's route lanes 240
    -> 263 us, classic 1225 -> 1578, MambaIRv2 Base 314 -> 321, MambaIRv2 light 62 -> 63.

    Since the softplus spends one exponential, not two (twentieth session), the two-channel kernel with
    two alternating register sets (2) lets ptxas place the loads where their latency shows (Nsight Compute,
    MambaIR classic's chunk-end pass: long-scoreboard stalls 0.3 -> 4.0 cycles per instruction, 657 ->
    819 us); one step ahead with a hand-over copy (1) does not. H100, bf16, the scan alone, interleaved
    medians, previous kernel -> this one (``tools/jobs/results/perf20g-softplus-ab.txt``): four routes
    at 180x320, E = 360 1366 -> 1272 us (prefetch 2: 1556, ``perf20e-softplus-ab.txt``), E = 120 506 ->
    505 us (prefetch 1: 522, ``perf20i-prefetch-per-pass.txt``); colour DN at 720x1280 21.23 -> 19.81 ms;
    MambaIRv2 Base's one route 385 -> 363 us.
    """
    return 1 if per_thread >= 2 else 3 if route_blocks else 2


ROUTES = 4  # MambaIR v1's cross scan
LANE_CHUNK_STEPS = 300  # the route lanes' longest time chunk, where more than one wave of chunks is needed
LANE_OUTPUT_REGISTERS = 64  # the route lanes' output pass at N <= LANE_SMALL_STATE (see output_pass_maxnreg)
LANE_SMALL_STATE = 10


def zero_y_in_chunk_end(*, route_lanes: bool, route_blocks: bool) -> bool:
    """Whether the four-route scan's chunk-end pass zeroes the output the routes add into (``ZERO_Y``) in
    place of a fill kernel before the scan: at one channel per thread, in lanes or in blocks, where the
    pass is issue-bound and a few stores per 16 pixels are cheap. Not at two channels per thread (MambaIR
    classic: its chunk-end pass 2.2 ms slower per forward, the fill kernel 1.2 ms; perf26d-in-model.txt).
    The fill kernel of colour DN's (L, 216) float32 output took 8.7 of 730 ms per compiled 1280x720
    forward (tools/jobs/results/perf29c-profile-dn.txt)."""
    return route_lanes or route_blocks


def use_route_lanes(per_group: int, block_d: int, per_thread: int) -> bool:
    """Whether the four-route scan puts the routes side by side in each program's lanes (``ROUTE_LANES``):
    at one channel per thread, where that takes fewer programs than a block of ``block_d`` channels per
    route (MambaIR light, 72 channels per route in blocks of 32: 9 programs per chunk instead of 12, whose
    last block per route has 8 working lanes of 32).

    The lanes of a route and of its reverse share one forward walk (a reversed route's pixel at a step
    mirrors the forward one's: :func:`_route_pixel`), so the route arithmetic stays uniform; what each lane
    pays is its own B_t/C_t addresses: per step (sm_90, bf16, N 10) 112 / 171 instructions for the
    chunk-end / output pass against 104 / 168, on 3/4 of the warps. H100, bf16, interleaved medians
    (``tools/jobs/results/perf23d-*.txt``): MambaIR light's scan alone 293 -> 255 us; in the compiled
    model (180x320) 6.5 -> 5.7 ms per forward, all kernels 12.4 -> 11.5 ms; the 720p benchmark 11.8 ms.

    Only where the lanes save at least a fifth of the programs: the per-lane loads cost more than a few
    idle lanes. MambaIR's colour DN and JPEG models (216 channels: 27 programs of lanes against 28 blocks)
    took 512 -> 735 ms of scan per compiled 1280x720 forward with them (output pass 80 -> 96 registers;
    ``tools/jobs/results/perf24a-*.txt``), which the twenty-third session took for a regression of its
    other changes.
    """
    lanes_per_route = block_d // ROUTES
    lane_programs = triton.cdiv(per_group, lanes_per_route)
    return per_thread == 1 and 5 * lane_programs <= 4 * ROUTES * triton.cdiv(per_group, block_d)


#: Whether :func:`bc_pairs` takes the four routes in blocks at one channel per thread (colour DN, JPEG):
#: on since the thirty-second session measured it (see there); the switch stays for A/Bs and tests.
ROUTE_BLOCK_PAIRS = True


def bc_pairs(bc_vec: bool, dtypes: tuple[torch.dtype, ...], per_thread: int, *, cross: bool,
             route_blocks: bool = False) -> bool:
    """Whether the kernel reads B_t and C_t (``dtypes``: both bf16) as int32 pairs and widens them by hand
    (``BC_PAIRS``): MambaIRv2's one route at two channels per thread.

    The compiler's widening of a bf16 vector spends two instructions per value, this one (see
    :func:`_widen_state_vector`): per step of the output pass at two channels per thread (sm_90,
    ``benchmarks/scan_sass.py``) 324 -> 287 instructions for the four routes, 293 -> 277 for MambaIRv2's
    one route. H100, bf16, the scan alone, interleaved medians (``tools/jobs/results/perf23b-scan-ab.txt``):
    MambaIRv2 Base 331 -> 315 us, MambaIR classic and colour DN unchanged (their passes wait on the
    exponential unit and on loads more than on issue); in the compiled MambaIRv2 Base (180x320, GPU time
    per forward, ``perf23b-in-model.txt``) the scan 12.2 -> 11.4 ms. At one channel per thread MambaIRv2
    light went 62 -> 67 us (``perf23a-scan-ab.txt``), so narrow groups keep the compiler's widening.

    Not for the four routes: they gained nothing from the pairs (above), so that kernel reads B/C as
    before. (They were withdrawn from it at the end of the twenty-third session under suspicion of a
    colour-DN slowdown that the twenty-fourth traced to the route lanes.)

    The four routes in blocks at one channel per thread (``route_blocks``: colour DN and JPEG, 216 channels
    per route, three register sets, δ from its rank-12 projection) were never measured with them: the
    twenty-third session's "colour DN" case was four routes of 360 channels at two per thread, which the
    DN model does not run. There (sm_90, bf16, ``benchmarks/scan_sass.py --set BLOCK_D=32 --set RANK=12
    --set R_PAD=16 --set R_VEC=True --set R_FROM_B=True --set R_PAIRS=True --set HAS_BIAS=True --set
    ZERO_Y=True --set PREFETCH=3 [--set BC_PAIRS=True]``) the pairs take a step of the chunk-end / output
    pass from 162 / 237 to 154 / 215 instructions at the same 96 / 127 registers, and that pass issues more
    instructions per step than its 17 exponentials occupy the special-function unit (136 cycles of a
    warp). Measured through the engine (H100, bf16, default path, two alternations each,
    ``tools/jobs/route_block_pairs_ab.py``, ``tools/jobs/results/perf32a-ab.txt``): colour DN at 1280x720
    whole 678.3 / 678.5 -> 662.0 / 661.3 ms, in 512 px tiles 758.8 / 753.5 -> 742.0 / 746.2 ms. So they are
    on (:data:`ROUTE_BLOCK_PAIRS`).
    """
    if not (bc_vec and all(dtype == torch.bfloat16 for dtype in dtypes)):
        return False
    if cross:
        return ROUTE_BLOCK_PAIRS and route_blocks and per_thread == 1
    return per_thread >= 2


def output_pass_maxnreg(per_thread: int, *, cross: bool, channel_last: bool, route_lanes: bool = False,
                        n_state: int = 16) -> int | None:
    """A register cap for the output pass, or None to leave it to ptxas.

    The route lanes at a small state (MambaIR light, N 10) are capped at 64 registers, below ptxas's 72
    (with the δ bias), without spills: 32 one-warp programs per SM instead of 28, and the launcher then
    runs one wave of 32 (:data:`LANE_OUTPUT_REGISTERS`). H100, bf16, the scan alone at 180x320
    (``tools/jobs/results/perf25d-*.txt``): 238 us at 352 chunks (24 per SM), 226 at 409 (28), 308 at 420
    (past the wave); capped, 234 at 352 and **218 at 469**; at 4K (540x960) 2217 us at 1405 chunks, 2004
    capped at 1876 (four waves). With lane chunks of at most 300 steps (:data:`LANE_CHUNK_STEPS`, was 400),
    against the previous launcher (``perf25e-*.txt``): the scan alone 240 -> 221 us, at 4K 2229 -> 2074 us;
    in the compiled model (GPU time per forward) at 180x320 the scan 5.4 -> 4.9 ms, all kernels 11.1 ->
    10.6 ms, at 540x960 51.8 -> 48.0 and 97.3 -> 93.8 ms. At N 16 (MambaIR's real-denoising UNet, its
    72-channel level) the pass needs 96 registers and 64 would spill (``benchmarks/scan_sass.py --maxnreg
    64``): it keeps 24 programs per SM (4694 -> 4607 us at 720x1280 with the shorter chunks).

    Above ptxas's own choice:

    At two channels per thread ptxas fits the output pass in 128 registers (16 warps per SM) by sinking
    the next step's loads to the end of the step (``nvdisasm``, four routes: the loads at instructions
    277-291 of a 313-instruction step), so the prefetch hides little of their latency. Allowed more, it
    issues them early. That pays for MambaIRv2's one-route pass over channel-last tokens: H100, bf16,
    the scan alone, E 352, 364 -> 332 us with a cap of 168 (200 and 255: the same); for the four routes
    the cap was slower (MambaIR classic 1237 -> 1242 us at 168, 1443 at 200; colour DN 19.17 -> 19.40 ms),
    and so it was at one channel per thread (one route of 96 channels, 16 states: 125 -> 131 us), where
    ptxas already keeps the loads early (``tools/jobs/results/perf22c-output-regs-ab.txt``). In the
    compiled MambaIRv2 Base (180x320, GPU time per forward): the scan 13.2 -> 12.1 ms, all kernels 60.5 -> 59.3 ms
    (``perf22g-v2-base-in-model.txt``). The channel-first one-route layout was not measured, so it keeps
    ptxas's choice.
    """
    if route_lanes and n_state <= LANE_SMALL_STATE:
        return LANE_OUTPUT_REGISTERS
    return 168 if per_thread >= 2 and not cross and channel_last else None


def default_block_d(per_group: int = WIDE_GROUP, num_warps: int = 1) -> int:
    """Channels per program: :func:`channels_per_thread` on each of ``32 · num_warps`` threads."""
    return 32 * channels_per_thread(per_group) * num_warps


def default_n_chunks(programs: int, length: int, *, sm_count: int = 132, per_sm: int = 48,
                     per_thread: int = 1, wave_warps: int | None = None, max_steps: int | None = None) -> int:
    """Time chunks so that about ``per_sm`` programs run per SM, with chunks no shorter than 64 steps.

    ``programs`` is batch x channel blocks; ``per_thread`` the channels each thread owns. Splitting costs
    a second pass over the sequence, so it only pays where those cannot fill the GPU on their own. At one
    channel per thread (the light models' narrow route groups) there is no cap beyond those two: a cap of
    160, set while the carry between chunks was a sequential walk, left MambaIRv2 light's one-route scan
    (3 channel blocks) 480 warps on 132 SMs; lifting it took its scan from 3.4 to 1.3 ms per forward and
    MambaIR light's from 9.4 to 7.6 ms (compiled, bf16, 180x320, H100,
    ``tools/jobs/results/perf15-scan-chunk-cap.txt``). With two channels per thread (the wide models) the
    cap is 256: more was no better for MambaIR classic and 3% slower for MambaIRv2 Base there (and in
    ``perf14-scan-two-channels.txt``).

    ``wave_warps`` (two channels per thread): the warps per SM that the output pass's registers allow;
    the count is then rounded to whole waves of programs, a wave ending together instead of a last,
    partial one running on few warps per SM. H100, bf16, the scan alone (``perf23h-chunks-wide.txt``):
    MambaIR classic (24 programs per chunk, 16 warps per SM, waves of 88 chunks) 1238 us at 256 chunks,
    1225 at 264, 1206-1210 at 88-176; the four routes at E 360 on 1280x720 19.05 ms at 256, 18.57 at 264,
    18.33 at 528; MambaIRv2 Base (6 programs, 12 warps per SM at its register cap: one wave is 264
    chunks) 319 / 318 us. Taken as 264 (three waves) for classic (``perf23i-*.txt``): 1239 -> 1225 us
    alone, its scan 42.2 -> 41.3 ms per compiled forward. (Withdrawn at the end of the twenty-third
    session with a colour-DN slowdown that was the route lanes', :func:`use_route_lanes`; restored in the
    twenty-fourth. Colour DN has 216 channels per route, one per thread, so this does not touch it.)

    ``max_steps`` (the route lanes: ``LANE_CHUNK_STEPS``): a long sequence takes whole multiples of that
    count, until chunks are at most ``max_steps`` long. MambaIR light at 4K (540x960 in, 352 chunks a wave)
    2.36-2.40 ms at one wave, 2.42 at two, 2.32 at three, 2.18-2.19 at four
    (``perf24i-light-4k-chunks.txt``, ``perf24k-*.txt``); at 720p (chunks of 164 steps) one wave stays
    best (528 chunks: 240 -> 298 us, ``perf24i-light-variants.txt``). With waves of 469 (see
    :func:`output_pass_maxnreg`), four waves of 276 steps beat three of 368 (2004 against 2061 us,
    ``perf25d-*.txt``), hence 300 steps at most.
    """
    max_chunks = 256 if per_thread >= 2 else length
    wanted = triton.cdiv(per_sm * sm_count, max(1, programs))
    n_chunks = min(wanted, max_chunks)
    if per_thread >= 2 and wave_warps:
        wave = max(1, sm_count * wave_warps // max(1, programs))
        n_chunks = wave * max(1, round(n_chunks / wave))
    if max_steps and length > max_steps * n_chunks:
        n_chunks *= triton.cdiv(length, max_steps * n_chunks)
    return max(1, min(n_chunks, length // 64))


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
    prefetch: int | None = None,
) -> torch.Tensor:
    """Selective scan on CUDA; semantics and shapes as :func:`.reference.selective_scan_reference`.

    Args:
        u, delta: (batch, dim, L), fp32, bf16 or fp16 (they may differ).
        A: (dim, N), real.
        B, C: (batch, N, L) or grouped (batch, G, N, L); channel ``c`` uses group ``c // (dim // G)``.
        D, delta_bias: (dim,) or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        z: optional (batch, dim, L) gate; the output is multiplied by ``silu(z)``.
        block_d: channels per program (default :func:`default_block_d` of the group's channels).
        n_chunks: time chunks scanned in parallel (default :func:`default_n_chunks`; 1 = one pass).
        num_warps: warps per program.
        prefetch: how step operands are loaded (see the kernel): 0 at the top of each step, 1 one step
            ahead with a hand-over copy, 2 one step ahead in two alternating register sets; default
            :func:`default_prefetch` of the channels per thread.

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
         block_d=block_d, n_chunks=n_chunks, num_warps=num_warps, prefetch=prefetch)  # fmt: skip
    return y


def selective_scan_cross_tokens_triton(
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
    block_d: int | None = None,
    n_chunks: int | None = None,
    num_warps: int = 1,
    prefetch: int | None = None,
    route_lanes: bool | None = None,
    delta_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """MambaIR v1's four-route scan and merge on channel-last tokens, read in place (:mod:`.cross`).

    Every operand is used through strides, so the projections' outputs need no copy; each scan step
    loads ``block_d`` neighbouring channels of one pixel, one coalesced read whatever the route (in the
    channel-first layout a column-major step touches one cache line per channel).

    Args:
        tokens: (batch, L, E) pixels in row-major order, any channel stride.
        delta: (batch, L, 4·E), route ``k``'s channels at ``k·E .. k·E + E - 1``.
        B, C: (batch, L, 4, N) per pixel and route (e.g. slices of one projection output).
        A: (4·E, N). D, delta_bias: (4·E,) or None.
        route_lanes: the four routes side by side in each program's lanes (None: where
            :func:`use_route_lanes` says so).
        delta_weight: (4·E, R): ``delta`` is then δ's low-rank projection (batch, L, 4, R), route ``k``'s
            δ being ``delta[:, :, k] @ delta_weight[k·E : (k + 1)·E].T``, made in the kernel.

    Returns:
        (batch, L, E) float32, the sum of the four routes' outputs at each pixel.
    """
    batch, length, channels = tokens.shape
    y = torch.empty(batch, length, channels, dtype=torch.float32, device=tokens.device)  # zeroed by _run
    delta = delta.transpose(1, 2) if delta_weight is None else delta.permute(0, 2, 3, 1)
    _run(tokens.transpose(1, 2), delta, A, B.permute(0, 2, 3, 1), C.permute(0, 2, 3, 1), D,
         delta_bias, delta_softplus, None, y.transpose(1, 2), per_group=channels, width=width, block_d=block_d,
         n_chunks=n_chunks, num_warps=num_warps, prefetch=prefetch, route_lanes=route_lanes,
         delta_weight=delta_weight)  # fmt: skip
    return y


def selective_scan_tokens_triton(
    u: torch.Tensor,
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
    prefetch: int | None = None,
) -> torch.Tensor:
    """One-route scan on channel-last operands, read and written in place (MambaIRv2's sorted tokens).

    Args:
        u, delta: (batch, L, dim), channel stride 1.
        B, C: (batch, L, N), state stride 1 (e.g. column slices of one projection output).
        A: (dim, N). D, delta_bias: (dim,) or None.
        block_d, n_chunks, num_warps, prefetch: launch settings, as for :func:`selective_scan_triton`.

    Returns:
        (batch, L, dim) contiguous, in ``u``'s dtype. Each step reads ``block_d`` neighbouring channels
        of one token, one coalesced load, where the channel-first layout touches a cache line per channel.
    """
    batch, length, dim = u.shape
    y = torch.empty(batch, length, dim, dtype=u.dtype, device=u.device)
    _run(u.transpose(1, 2), delta.transpose(1, 2), A, B.transpose(1, 2)[:, None], C.transpose(1, 2)[:, None], D,
         delta_bias, delta_softplus, None, y.transpose(1, 2), per_group=dim, width=0, block_d=block_d,
         n_chunks=n_chunks, num_warps=num_warps, prefetch=prefetch)  # fmt: skip
    return y


def _rows_readable(t: torch.Tensor, dim: int, n_pad: int) -> bool:
    """Whether ``n_pad`` elements from the start of every row of ``t`` along ``dim`` (stride 1; a row may
    be shorter) lie within ``t``'s storage, so that a kernel may read them whole."""
    if t.numel() == 0:
        return False
    last_start = t.storage_offset() + sum((size - 1) * stride for i, (size, stride) in
                                          enumerate(zip(t.shape, t.stride(), strict=True)) if i != dim)
    return last_start + n_pad <= t.untyped_storage().nbytes() // t.element_size()


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
    prefetch: int | None = None,
    route_lanes: bool | None = None,
    delta_weight: torch.Tensor | None = None,
) -> None:
    """Launch the scan into ``y``: one pass, or chunk-end states, carry, and a second pass.

    ``delta`` carries the channel count (route channels in cross mode, where ``width > 0``); B and C are
    (batch, G, N, L) with G = channels // per_group. In cross mode ``y`` may hold anything: it is zeroed
    here (one chunk) or by the chunk-end pass, and the routes' outputs are added into it. With
    ``delta_weight`` (channels, R), ``delta`` is δ's low-rank projection (batch, G, R, L), mapped to the
    channels in the kernel (its ``RANK``).
    """
    if prefetch not in (None, 0, 1, 2, 3):
        raise ValueError(f"prefetch must be 0, 1, 2 or 3, not {prefetch}")
    if delta_weight is None:
        batch, dim, length = delta.shape
        rank = 0
        delta_strides = (*delta.stride(), 0)  # (batch, channel, step; no group)
    else:
        batch, _, rank, length = delta.shape
        dim = delta_weight.shape[0]
        if delta_weight.shape[1] != rank or delta.shape[1] != B.shape[1]:
            raise ValueError(f"delta's projection {tuple(delta.shape)} does not fit its weight "
                             f"{tuple(delta_weight.shape)} and B {tuple(B.shape)}")
        # (R, dim): read along channels, as A is (see the kernel), or Triton lays the tile out across R
        delta_weight = delta_weight.to(torch.float32).t().contiguous()
        s_b, s_g, s_r, s_l = delta.stride()
        delta_strides = (s_b, s_r, s_l, s_g)
    n_state = A.shape[1]  # before A is transposed below
    if length == 0 or batch == 0:
        return
    A = A.to(torch.float32).t().contiguous()  # (N, dim): read along channels (see the kernel)
    n_pad = triton.next_power_of_2(n_state)
    block_d = block_d or default_block_d(per_group, num_warps)
    per_thread = block_d // (32 * num_warps)  # channels each thread owns
    blocks_per_group = triton.cdiv(per_group, block_d)
    n_groups = dim // per_group
    if route_lanes is None:
        route_lanes = width > 0 and use_route_lanes(per_group, block_d, per_thread)
    route_blocks = width > 0 and not route_lanes and per_thread == 1  # (MambaIR DN/JPEG: see default_prefetch)
    if prefetch is None:
        prefetch = default_prefetch(per_thread, route_blocks=route_blocks)
    if route_lanes and (width == 0 or n_groups != ROUTES or per_thread != 1 or block_d % ROUTES):
        raise ValueError("route_lanes needs the four-route scan at one channel per thread")
    # programs per batch element and chunk
    programs = triton.cdiv(per_group, block_d // ROUTES) if route_lanes else n_groups * blocks_per_group
    maxnreg = output_pass_maxnreg(per_thread, cross=width > 0, channel_last=u.stride(1) == 1,
                                  route_lanes=route_lanes, n_state=n_state)
    if n_chunks is None:
        sm_count = 132  # H100; only the Triton interpreter (TRITON_INTERPRET=1) runs on CPU tensors
        if u.is_cuda:
            sm_count = _sm_count(u.device.index if u.device.index is not None else torch.cuda.current_device())
        # route lanes: one wave of programs, as many as the output pass's registers let an SM hold (32 at
        # its cap of 64: see output_pass_maxnreg); MambaIR light's scan alone 257 us at the usual 48 per SM,
        # 242 us at 24 (tools/jobs/results/perf23e-chunks-light.txt), 218 us at 32 with the cap (perf25d-*)
        # at two channels per thread, whole waves of the output pass (ptxas gives it 128 registers unless
        # output_pass_maxnreg caps it higher)
        wave_warps = 65536 // (32 * (maxnreg or 128))
        # the four routes in blocks at one channel per thread (MambaIR DN/JPEG, prefetch 3): 128 per SM.
        # Colour DN at 720x1280 (28 programs per chunk) 13.92 ms at the usual 48 per SM (227 chunks), 12.45 at
        # 300, 12.31 at 450, 12.20 at 600, 12.13 at 900 (tools/jobs/results/perf24g-dn-chunks.txt)
        per_sm = (wave_warps if maxnreg else 24) if route_lanes else 128 if route_blocks else 48
        n_chunks = default_n_chunks(batch * programs, length, sm_count=sm_count, per_thread=per_thread,
                                    per_sm=per_sm, wave_warps=wave_warps,
                                    max_steps=LANE_CHUNK_STEPS if route_lanes else None)
    chunk_len = triton.cdiv(length, max(1, min(n_chunks, length)))
    n_chunks = triton.cdiv(length, chunk_len)

    D32 = None if D is None else D.to(torch.float32).contiguous()
    bias32 = None if delta_bias is None else delta_bias.to(torch.float32).contiguous()
    zz = u if z is None else z
    # B_t and C_t as vector loads where N is contiguous and every offset a multiple of 8 elements
    # (MambaIR v1's fused path pads its projection rows to make it so); for an N below its power of two,
    # only where all N_PAD values from each start lie in the tensor's memory (see _load_state_vector).
    bc_vec = (n_pad >= 8 and B.stride(2) == 1 and C.stride(2) == 1
              and all(st % 8 == 0 for i, st in enumerate(B.stride() + C.stride()) if i % 4 != 2)
              and (n_state == n_pad or (_rows_readable(B, 2, n_pad) and _rows_readable(C, 2, n_pad))))
    if route_lanes and n_pad > 16:
        bc_vec = False  # (the lanes' vector loads are written for N_PAD 8 and 16)
    # δ's low-rank projection, read as B_t is: as vectors (at least 8 values, as the lanes' loads read)
    # where its rows are contiguous, aligned and readable whole, else value by value
    r_pad = max(8, triton.next_power_of_2(rank)) if rank else 1
    r_vec = bool(rank) and (delta.stride(2) == 1 and delta.data_ptr() % 16 == 0
                            and all(st % 8 == 0 for i, st in enumerate(delta.stride()) if i != 2)
                            and _rows_readable(delta, 2, r_pad) and not (route_lanes and r_pad > 16))
    if rank and not r_vec:
        r_pad = triton.next_power_of_2(rank)
    r_offset = (delta.data_ptr() - B.data_ptr()) // B.element_size() if rank else 0
    r_from_b = (r_vec and bc_vec and delta.dtype == B.dtype and r_offset > 0 and r_offset % 8 == 0
                and delta.stride() == B.stride())
    r_pairs = r_vec and delta.dtype == torch.bfloat16 and not route_lanes
    grid = (batch, programs, n_chunks)
    common = dict(N=n_state, N_PAD=n_pad, BLOCK_D=block_d, num_warps=num_warps,
                  BC_PAIRS=bc_pairs(bc_vec, (B.dtype, C.dtype), per_thread, cross=width > 0,
                                    route_blocks=route_blocks),
                  ROUTE_LANES=ROUTES if route_lanes else 1)
    # the four-route chunk-end pass at two channels per thread is bound by the exponential unit: its
    # softplus exponential goes to the FMA pipe (see _softplus); at one channel the pass is issue-bound
    fma_softplus = width > 0 and per_thread >= 2

    def launch(h0: torch.Tensor | None, hend: torch.Tensor | None, dtsum: torch.Tensor | None) -> None:
        """One pass over all chunks: store chunk-end states (``hend``) or the output (``h0`` given)."""
        dummy = y
        _scan_chunk_kernel[grid](
            u, delta, A, B, C, dummy if D32 is None else D32, dummy if bias32 is None else bias32, zz, y,
            dummy if h0 is None else h0, dummy if hend is None else hend, dummy if dtsum is None else dtsum,
            dummy if delta_weight is None else delta_weight,
            dim, length, per_group, blocks_per_group, chunk_len, n_chunks, max(width, 1), r_offset if r_from_b else 0,
            *u.stride(), *delta_strides, *(delta_weight.stride()[::-1] if rank else (0, 0)),
            *A.stride()[::-1], *B.stride(), *C.stride(), *zz.stride(), *y.stride(),
            HAS_D=D32 is not None, HAS_BIAS=bias32 is not None, SOFTPLUS=bool(delta_softplus),
            HAS_Z=z is not None, LOAD_H0=h0 is not None, STORE_Y=hend is None, STORE_END=hend is not None,
            CROSS=width > 0, PREFETCH=prefetch, BC_VEC=bc_vec, FMA_SOFTPLUS=fma_softplus and hend is not None,
            ZERO_Y=zero_in_chunk_end and hend is not None, RANK=rank, R_PAD=r_pad, R_VEC=r_vec,
            R_FROM_B=r_from_b, R_PAIRS=r_pairs,
            **common, **({} if hend is not None or maxnreg is None else {"maxnreg": maxnreg}),
        )  # fmt: skip

    # The routes add into y, zeroed first: by the chunk-end pass (ZERO_Y) where there is one and
    # zero_y_in_chunk_end says so, else here.
    zero_in_chunk_end = zero_y_in_chunk_end(route_lanes=route_lanes, route_blocks=route_blocks) and n_chunks > 1
    if width > 0 and not zero_in_chunk_end:
        y.zero_()
    with on_tensor_device(u):
        if n_chunks == 1:
            launch(None, None, None)
            return
        states = torch.empty(2, batch, n_chunks, n_pad, dim, dtype=torch.float32, device=u.device)
        dtsum = torch.empty(batch, n_chunks, dim, dtype=torch.float32, device=u.device)
        launch(None, states[1], dtsum)
        _carry_scan_kernel[(batch, triton.cdiv(dim, CARRY_BLOCK_D), n_state)](
            A, states[1], dtsum, states[0], dim, n_chunks, *A.stride()[::-1], N_PAD=n_pad, BLOCK_D=CARRY_BLOCK_D,
            CHUNKS=min(triton.next_power_of_2(n_chunks), 256), num_warps=4)
        launch(states[0], None, None)


__all__ = [
    "bc_pairs",
    "channels_per_thread",
    "default_block_d",
    "default_n_chunks",
    "default_prefetch",
    "output_pass_maxnreg",
    "selective_scan_cross_tokens_triton",
    "selective_scan_tokens_triton",
    "selective_scan_triton",
]
