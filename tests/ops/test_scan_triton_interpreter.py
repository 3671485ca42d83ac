"""The Triton scan kernels on the CPU, through Triton's interpreter (``TRITON_INTERPRET=1``).

Kernel changes can be checked for correctness without a GPU. Runs where Triton is installed (CUDA
builds of PyTorch ship it; on a CPU-only machine ``pip install triton`` is enough) and skips otherwise.
Each case runs in a subprocess, since the interpreter must be switched on before Triton compiles
anything in the process.
"""

from __future__ import annotations

import importlib.util
import textwrap

import pytest
from triton_interpreter import run_in_triton_interpreter

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")

SCRIPT = textwrap.dedent('''
    import torch
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens
    from restore_cli.ops.scan.reference import selective_scan_reference
    from restore_cli.ops.scan.triton import (selective_scan_cross_tokens_triton, selective_scan_tokens_triton,
                                             selective_scan_triton)

    def rel(a, b):  # NaN (an element never written) counts as the worst error, not as max()'s no-op
        error = ((a.float() - b.float()).norm() / b.float().norm()).item()
        return error if error == error else float("inf")

    _empty = torch.empty
    def _empty_nan(*args, **kwargs):  # memory from empty may hold anything: NaN here, so a missed store shows
        t = _empty(*args, **kwargs)
        return t.fill_(float("nan")) if t.is_floating_point() else t
    torch.empty = _empty_nan

    gen = torch.Generator().manual_seed(0)
    worst = 0.0
    # MambaIR v1's four routes, channel-last, B/C as slices of one projection: at an odd offset (scalar
    # loads), and padded as SS2D.forward_fused lays them out (N = 8, rows of 24: vector loads)
    for height, width, first, row, n in ((5, 7, 3, 11, 4), (4, 9, 0, 24, 8)):
        b, e = 2, 8
        L = height * width
        tokens = torch.randn(b, L, e, generator=gen)
        delta = torch.randn(b, L, 4 * e, generator=gen) * 0.5
        A = -torch.rand(4 * e, n, generator=gen) - 0.5
        proj = torch.randn(b, L, 4, row, generator=gen)
        B, C = proj[..., first:first + n], proj[..., first + n:first + 2 * n]
        D, bias = torch.randn(4 * e, generator=gen), torch.randn(4 * e, generator=gen) * 0.1
        ref = cross_selective_scan_tokens(tokens, delta, A, B, C, D, bias, True, height=height, width=width,
                                          backend="reference")
        for chunks in (1, 3):
            for prefetch in (0, 1, 2, 3):
                got = selective_scan_cross_tokens_triton(tokens, delta, A, B, C, D, bias, True, width=width,
                                                         n_chunks=chunks, prefetch=prefetch)
                worst = max(worst, rel(got, ref))
        # two channels per thread (block_d 64 on one warp): the chunk-end pass's softplus on the FMA pipe
        got = selective_scan_cross_tokens_triton(tokens, delta, A, B, C, D, bias, True, width=width, n_chunks=3,
                                                 block_d=64)
        worst = max(worst, rel(got, ref))
    # d_state 10 in SS2D.forward_fused's rows [B, pad, C, pad, ...]: read as 16 values, the padding (NaN
    # here) zeroed in registers; 40 channels per route (a block of 32 and one of 8 real channels)
    height, width, b, e, n = 4, 5, 1, 40, 10
    L = height * width
    tokens = torch.randn(b, L, e, generator=gen)
    delta = torch.randn(b, L, 4 * e, generator=gen) * 0.5
    A = -torch.rand(4 * e, n, generator=gen) - 0.5
    proj = torch.full((b, L, 4, 40), float("nan"))
    proj[..., :n] = torch.randn(b, L, 4, n, generator=gen)
    proj[..., 16:16 + n] = torch.randn(b, L, 4, n, generator=gen)
    B, C = proj[..., :n], proj[..., 16:16 + n]
    D = torch.randn(4 * e, generator=gen)
    ref = cross_selective_scan_tokens(tokens, delta, A, B.contiguous(), C.contiguous(), D, None, True, height=height,
                                      width=width, backend="reference")
    got = selective_scan_cross_tokens_triton(tokens, delta, A, B, C, D, None, True, width=width, n_chunks=2)
    worst = max(worst, rel(got, ref))
    # the four routes side by side in the lanes (ROUTE_LANES, 8 channels each: what the launcher picks for
    # these narrow groups), and a block of channels per route
    for prefetch, route_lanes in ((0, True), (2, True), (3, True), (2, False), (3, False)):
        got = selective_scan_cross_tokens_triton(tokens, delta, A, B, C, D, None, True, width=width, n_chunks=2,
                                                 prefetch=prefetch, route_lanes=route_lanes)
        worst = max(worst, rel(got, ref))
    # the plain scan, grouped B/C and a gate; N = 5 pads to 8 (masked state lanes), 12 channels in
    # blocks of 8 leave 4 clamped lanes
    for n in (4, 5):
        u, dt = torch.randn(1, 12, 23, generator=gen), torch.randn(1, 12, 23, generator=gen) * 0.5
        A = -torch.rand(12, n, generator=gen) - 0.5
        B, C = torch.randn(1, 2, n, 23, generator=gen), torch.randn(1, 2, n, 23, generator=gen)
        z = torch.randn(1, 12, 23, generator=gen)
        ref = selective_scan_reference(u, dt, A, B, C, None, None, True, z=z)
        for chunks in (1, 4, 23):  # 23: chunks of one step
            for prefetch in (0, 1, 2, 3):
                got = selective_scan_triton(u, dt, A, B, C, None, None, True, z=z, n_chunks=chunks,
                                            prefetch=prefetch, block_d=8)
                worst = max(worst, rel(got, ref))
    # MambaIRv2's one route over channel-last tokens: 260 channels, two per thread (the output pass launched
    # with its register cap, the last block clamped); 70 channels, one per thread
    for dim in (260, 70):
        u, dt = torch.randn(1, 9, dim, generator=gen), torch.randn(1, 9, dim, generator=gen) * 0.5
        A = -torch.rand(dim, 16, generator=gen) - 0.5
        proj = torch.randn(1, 9, 40, generator=gen)
        D = torch.randn(dim, generator=gen)
        got = selective_scan_tokens_triton(u, dt, A, proj[..., :16], proj[..., 16:32], D, None, True, n_chunks=2)
        ref = selective_scan_reference(u.transpose(1, 2), dt.transpose(1, 2), A, proj[..., :16].transpose(1, 2),
                                       proj[..., 16:32].transpose(1, 2), D, None, True).transpose(1, 2)
        worst = max(worst, rel(got, ref))
    # δ given as its low-rank projection (RANK), sliced from the rows after B and C as SS2D.forward_fused
    # lays them out (vector loads, the address B's plus an offset): rank 12 in rows of 48 (route blocks, and
    # two channels per thread), rank 4 in rows of 40 with N = 10 (route lanes), rank 12 at an odd offset
    # (scalar loads)
    for n, rank, row, start in ((16, 12, 48, 32), (10, 4, 40, 32), (16, 12, 47, 33)):
        height, width, b, e = 4, 5, 2, 40
        L = height * width
        tokens = torch.randn(b, L, e, generator=gen)
        A = -torch.rand(4 * e, n, generator=gen) - 0.5
        proj = torch.full((b, L, 4, row), float("nan"))
        proj[..., :n] = torch.randn(b, L, 4, n, generator=gen)
        proj[..., 16:16 + n] = torch.randn(b, L, 4, n, generator=gen)
        proj[..., start:start + rank] = torch.randn(b, L, 4, rank, generator=gen)
        proj[..., start + rank:] = 0.0
        B, C, low = proj[..., :n], proj[..., 16:16 + n], proj[..., start:start + rank]
        W = torch.randn(4 * e, rank, generator=gen) * 0.3
        D, bias = torch.randn(4 * e, generator=gen), torch.randn(4 * e, generator=gen) * 0.1
        delta = torch.einsum("blkr,ker->blke", low, W.view(4, e, rank)).reshape(b, L, 4 * e)
        ref = cross_selective_scan_tokens(tokens, delta, A, B.contiguous(), C.contiguous(), D, bias, True,
                                          height=height, width=width, backend="reference")
        for block_d in (None, 64):
            got = selective_scan_cross_tokens_triton(tokens, low, A, B, C, D, bias, True, width=width, n_chunks=2,
                                                     block_d=block_d, delta_weight=W)
            worst = max(worst, rel(got, ref))
    print(f"WORST {worst:.3e}")
    # bf16 B/C: the four routes with N = 8, 10 and 5 (padding NaN; the output is float32) at one and two
    # channels per thread, and the one route, whose two-channel kernel reads them as int32 pairs widened by
    # hand (N 16, and N 10 and 5 with NaN padding: an odd N clears a pair's upper half), at two channels per
    # thread and at one (bf16 output: its rounding alone is ~2e-3; swapped or misplaced states are O(1))
    worst_bf16 = 0.0
    for n, row, c_start in ((8, 24, 8), (10, 40, 16), (5, 24, 8)):
        height, width, b, e = 4, 5, 1, 40
        L = height * width
        tokens = torch.randn(b, L, e, generator=gen).bfloat16()
        delta = (torch.randn(b, L, 4 * e, generator=gen) * 0.5).bfloat16()
        A = -torch.rand(4 * e, n, generator=gen) - 0.5
        proj = torch.full((b, L, 4, row), float("nan")).bfloat16()
        proj[..., :n] = torch.randn(b, L, 4, n, generator=gen).bfloat16()
        proj[..., c_start:c_start + n] = torch.randn(b, L, 4, n, generator=gen).bfloat16()
        B, C = proj[..., :n], proj[..., c_start:c_start + n]
        D = torch.randn(4 * e, generator=gen)
        ref = cross_selective_scan_tokens(tokens.float(), delta.float(), A, B.float().contiguous(),
                                          C.float().contiguous(), D, None, True, height=height, width=width,
                                          backend="reference")
        for block_d in (32, 64):  # one channel per thread, two
            got = selective_scan_cross_tokens_triton(tokens, delta, A, B, C, D, None, True, width=width, n_chunks=2,
                                                     block_d=block_d)
            worst = max(worst, rel(got, ref))
    # the four routes in blocks at one channel per thread (96 channels a route: no lanes), δ from its
    # rank-12 projection in B's rows (bf16, as colour DN runs), B/C as the compiler widens them and as
    # int32 pairs (ROUTE_BLOCK_PAIRS); N 16 and 10 (NaN padding)
    import restore_cli.ops.scan.triton as scan_triton
    default_pairs = scan_triton.ROUTE_BLOCK_PAIRS
    for n in (16, 10):
        height, width, b, e, rank = 4, 5, 1, 96, 12
        L = height * width
        tokens = torch.randn(b, L, e, generator=gen).bfloat16()
        A = -torch.rand(4 * e, n, generator=gen) - 0.5
        proj = torch.full((b, L, 4, 48), float("nan")).bfloat16()
        proj[..., :n] = torch.randn(b, L, 4, n, generator=gen).bfloat16()
        proj[..., 16:16 + n] = torch.randn(b, L, 4, n, generator=gen).bfloat16()
        proj[..., 32:32 + rank] = torch.randn(b, L, 4, rank, generator=gen).bfloat16()
        proj[..., 32 + rank:] = 0.0
        B, C, low = proj[..., :n], proj[..., 16:16 + n], proj[..., 32:32 + rank]
        W = torch.randn(4 * e, rank, generator=gen) * 0.3
        D, bias = torch.randn(4 * e, generator=gen), torch.randn(4 * e, generator=gen) * 0.1
        delta = torch.einsum("blkr,ker->blke", low.float(), W.view(4, e, rank)).reshape(b, L, 4 * e)
        ref = cross_selective_scan_tokens(tokens.float(), delta, A, B.float().contiguous(), C.float().contiguous(),
                                          D, bias, True, height=height, width=width, backend="reference")
        for pairs in (False, True):
            scan_triton.ROUTE_BLOCK_PAIRS = pairs
            got = selective_scan_cross_tokens_triton(tokens, low, A, B, C, D, bias, True, width=width, n_chunks=2,
                                                     delta_weight=W)
            worst = max(worst, rel(got, ref))
        scan_triton.ROUTE_BLOCK_PAIRS = default_pairs
    for dim, n in ((260, 16), (70, 16), (260, 10), (260, 5)):
        u = torch.randn(1, 9, dim, generator=gen).bfloat16()
        dt = (torch.randn(1, 9, dim, generator=gen) * 0.5).bfloat16()
        A = -torch.rand(dim, n, generator=gen) - 0.5
        proj = torch.full((1, 9, 40), float("nan")).bfloat16()
        proj[..., :n] = torch.randn(1, 9, n, generator=gen).bfloat16()
        proj[..., 16:16 + n] = torch.randn(1, 9, n, generator=gen).bfloat16()
        B, C = proj[..., :n], proj[..., 16:16 + n]
        D = torch.randn(dim, generator=gen)
        got = selective_scan_tokens_triton(u, dt, A, B, C, D, None, True, n_chunks=2)
        u32, dt32, B32, C32 = (t.float().transpose(1, 2) for t in (u, dt, B, C))
        ref = selective_scan_reference(u32, dt32, A, B32, C32, D, None, True).transpose(1, 2)
        worst_bf16 = max(worst_bf16, rel(got, ref))
    print(f"WORST {worst:.3e} BF16 {worst_bf16:.3e}")
''')


def test_triton_scan_kernels_match_the_reference_in_the_interpreter():
    stdout = run_in_triton_interpreter(SCRIPT)
    worst, worst_bf16 = (float(x) for x in stdout.split("WORST")[-1].split("BF16"))
    assert worst <= 1e-5, stdout
    assert worst_bf16 <= 5e-3, stdout


SOFTPLUS_SCRIPT = textwrap.dedent('''
    import torch
    import triton
    import triton.language as tl
    from restore_cli.ops.scan.triton import _exp2_nonpositive_fma, _softplus

    @triton.jit
    def elementwise(x_ptr, exp2_ptr, soft_ptr, soft_fma_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + offs, mask=offs < n)
        tl.store(exp2_ptr + offs, _exp2_nonpositive_fma(-tl.abs(x) * 5.0), mask=offs < n)
        tl.store(soft_ptr + offs, _softplus(x), mask=offs < n)
        tl.store(soft_fma_ptr + offs, _softplus(x, True), mask=offs < n)

    x = torch.cat([torch.linspace(-40, 40, 20001), torch.tensor([0.0, 20.0, -20.0, 1e-6, -1e-6])])
    exp2, soft, soft_fma = (torch.empty_like(x) for _ in range(3))
    elementwise[(triton.cdiv(x.numel(), 1024),)](x, exp2, soft, soft_fma, x.numel(), BLOCK=1024)
    x64 = x.double()
    want_exp2 = torch.exp2((-x.abs() * 5.0).double()).clamp(min=2.0 ** -125)  # of the same float32 argument
    want_soft = torch.nn.functional.softplus(x64)
    print("EXP2", ((exp2.double() - want_exp2).abs() / want_exp2).max().item())
    for name, got in (("SOFT", soft), ("SOFTFMA", soft_fma)):  # relative, absolute below 1
        print(name, ((got.double() - want_soft).abs() / want_soft.clamp(min=1.0)).max().item())
''')


def test_softplus_and_exp2_on_the_fma_pipe_are_float32_accurate():
    """The scan's softplus (either exponential) and the polynomial ``exp2`` of the four-route chunk-end pass
    against float64, over the whole range a δ takes (large |x|, 0, torch's threshold at 20)."""
    stdout = run_in_triton_interpreter(SOFTPLUS_SCRIPT)
    errors = dict(line.split() for line in stdout.splitlines() if line.split()[0] in ("EXP2", "SOFT", "SOFTFMA"))
    assert float(errors["EXP2"]) < 5e-7, stdout
    assert float(errors["SOFT"]) < 5e-7 and float(errors["SOFTFMA"]) < 5e-7, stdout
