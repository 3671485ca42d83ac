"""GPU scan backends (our Triton kernel, the chunked scan on CUDA) against the float32 reference.

Skipped without CUDA. Tolerances are relative to the reference output's largest magnitude: float32
allows for ``exp2`` with log2(e) folded into A (as mamba-ssm's CUDA kernel does); bf16/fp16 outputs are
one rounding of a float32 result computed from the same low-precision inputs.
"""

from __future__ import annotations

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TOLERANCE = {torch.float32: 2e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def make_inputs(batch, dim, n_state, length, groups, *, dtype, seed):
    """Random CUDA inputs with MambaIR-like decays; ``groups=None`` gives ungrouped B and C."""
    gen = torch.Generator().manual_seed(seed)
    bc_shape = (batch, n_state, length) if groups is None else (batch, groups, n_state, length)
    inputs = {
        "u": torch.randn(batch, dim, length, generator=gen).to(dtype),
        "delta": (torch.randn(batch, dim, length, generator=gen) * 0.5 - 1.0).to(dtype),
        "A": -torch.exp(torch.randn(dim, n_state, generator=gen)),
        "B": torch.randn(*bc_shape, generator=gen).to(dtype),
        "C": torch.randn(*bc_shape, generator=gen).to(dtype),
        "D": torch.randn(dim, generator=gen),
        "delta_bias": torch.randn(dim, generator=gen) * 0.1,
        "z": torch.randn(batch, dim, length, generator=gen).to(dtype),
    }
    return {k: v.cuda() for k, v in inputs.items()}


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Max absolute error relative to the reference's largest magnitude."""
    return ((out.float() - ref.float()).abs().max() / ref.float().abs().max().clamp_min(1e-12)).item()


SHAPES = [  # (batch, dim, N, L, groups)
    (1, 48, 16, 300, 4),
    (2, 20, 16, 129, None),
    (2, 24, 5, 77, 3),
    (1, 36, 16, 1, 1),
    (3, 8, 8, 1000, 2),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}-d{}-N{}-L{}-G{}".format(*s))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("options", ["plain", "D-bias-softplus", "z"])
def test_triton_matches_reference(shape, dtype, options):
    pytest.importorskip("triton")
    from restore_cli.ops.scan.reference import selective_scan_reference
    from restore_cli.ops.scan.triton import selective_scan_triton

    inputs = make_inputs(*shape, dtype=dtype, seed=sum(shape[:4]))
    core = {k: inputs[k] for k in ("u", "delta", "A", "B", "C")}
    extra = {
        "plain": {"delta_softplus": True},
        "D-bias-softplus": {"D": inputs["D"], "delta_bias": inputs["delta_bias"], "delta_softplus": True},
        "z": {"D": inputs["D"], "z": inputs["z"], "delta_softplus": True},
    }[options]
    ref = selective_scan_reference(**core, **extra)
    for kwargs in ({}, {"n_chunks": 1}, {"n_chunks": 7, "block_d": 4}, {"block_d": 16, "num_warps": 2}, {"block_d": 32},
                   {"block_d": 64, "n_chunks": 3},
                   {"n_chunks": 7, "prefetch": 1}, {"n_chunks": 5, "prefetch": 0}):
        out = selective_scan_triton(**core, **extra, **kwargs)
        assert out.dtype == dtype and out.shape == ref.shape
        assert rel_err(out, ref) <= TOLERANCE[dtype], kwargs


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_dispatch_on_cuda(dtype):
    from restore_cli.ops.scan import selective_scan, triton_available
    from restore_cli.ops.scan.reference import selective_scan_reference

    inputs = make_inputs(2, 32, 16, 257, 4, dtype=dtype, seed=11)
    inputs.pop("z")
    ref = selective_scan_reference(**inputs, delta_softplus=True)
    backends = ["auto", "torch"] + (["triton"] if triton_available() else [])
    for backend in backends:
        out = selective_scan(**inputs, delta_softplus=True, backend=backend)
        assert out.dtype == dtype
        assert rel_err(out, ref) <= TOLERANCE[dtype], backend


@pytest.mark.parametrize(("height", "width"), [(8, 8), (5, 13), (1, 9)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_cross_triton_matches_reference(height, width, dtype):
    pytest.importorskip("triton")
    from restore_cli.ops.scan.cross import cross_selective_scan_reference, cross_selective_scan_tokens

    gen = torch.Generator().manual_seed(height * 31 + width)
    batch, channels, n_state = 2, 12, 16
    x = torch.randn(batch, channels, height, width, generator=gen).to(dtype).cuda()
    delta = (torch.randn(batch, 4, channels, height, width, generator=gen) * 0.5 - 1).to(dtype).cuda()
    B = torch.randn(batch, 4, n_state, height, width, generator=gen).to(dtype).cuda()
    C = torch.randn(batch, 4, n_state, height, width, generator=gen).to(dtype).cuda()
    A = -torch.exp(torch.randn(4 * channels, n_state, generator=gen)).cuda()
    D = torch.randn(4 * channels, generator=gen).cuda()
    bias = (torch.randn(4 * channels, generator=gen) * 0.1).cuda()
    ref = cross_selective_scan_reference(x, delta, A, B, C, D, bias, True)

    def tokens(t: torch.Tensor) -> torch.Tensor:  # (batch, [4,] X, H, W) -> (batch, H·W, [4,] X)
        return t.flatten(-2).movedim(-1, 1)

    out = cross_selective_scan_tokens(tokens(x), tokens(delta).flatten(2), A, tokens(B), tokens(C), D, bias, True,
                                      height=height, width=width, backend="triton")
    out = out.transpose(1, 2).reshape(batch, channels, height, width)
    assert out.dtype == torch.float32 and out.shape == (batch, channels, height, width)
    assert rel_err(out, ref) <= 2e-5


@pytest.mark.parametrize(("height", "width"), [(8, 8), (5, 13), (1, 9), (33, 47)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("layout", ["unaligned", "aligned"])
@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_cross_tokens_triton_reads_strided_channel_last_operands(height, width, dtype, layout, prefetch):
    """The channel-last entry reads B and C as slices of one projection output, with no copies.

    ``aligned`` is SS2D.forward_fused's layout ([B, C, rank, padding], rows a multiple of 8), which the
    kernel reads as 16-byte vectors; ``unaligned`` ([rank, B, C]) takes scalar loads.
    """
    pytest.importorskip("triton")
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens

    gen = torch.Generator().manual_seed(height * 17 + width)
    batch, channels, n_state, rank = 2, 24, 16, 3
    length = height * width
    tokens = torch.randn(batch, length, 2 * channels, generator=gen).to(dtype).cuda()[..., :channels]  # strided
    row = rank + 2 * n_state if layout == "unaligned" else -(-(rank + 2 * n_state) // 8) * 8
    proj = torch.randn(batch, length, 4, row, generator=gen).to(dtype).cuda()
    delta = (torch.randn(batch, length, 4 * channels, generator=gen) * 0.5 - 1).to(dtype).cuda()
    A = -torch.exp(torch.randn(4 * channels, n_state, generator=gen)).cuda()
    D = torch.randn(4 * channels, generator=gen).cuda()
    bias = (torch.randn(4 * channels, generator=gen) * 0.1).cuda()
    first = rank if layout == "unaligned" else 0
    args = (tokens, delta, A, proj[..., first : first + n_state], proj[..., first + n_state : first + 2 * n_state],
            D, bias, True)
    ref = cross_selective_scan_tokens(*args, height=height, width=width, backend="reference")
    if prefetch == 2:  # the default, through the dispatcher
        out = cross_selective_scan_tokens(*args, height=height, width=width, backend="triton")
    else:
        from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton

        out = selective_scan_cross_tokens_triton(*args, width=width, prefetch=prefetch)
    assert out.dtype == torch.float32 and out.shape == (batch, length, channels)
    assert rel_err(out, ref) <= 2e-5


@pytest.mark.parametrize(("channels", "n_state", "row"), [(216, 16, 48), (216, 10, 48), (96, 16, 48), (24, 16, 47)])
@pytest.mark.parametrize("n_chunks", [1, None])
def test_cross_tokens_route_blocks_with_bf16_pairs(channels, n_state, row, n_chunks, monkeypatch):
    """``ROUTE_BLOCK_PAIRS`` (on by default, a switch for A/Bs): the four routes in blocks at one channel per
    thread read bf16 B/C as int32 pairs widened by hand; the same results as the reference (and unaligned
    rows, which keep scalar loads, are untouched)."""
    from restore_cli.ops.scan import triton as scan_triton

    monkeypatch.setattr(scan_triton, "ROUTE_BLOCK_PAIRS", True)
    test_cross_tokens_triton_makes_delta_from_its_low_rank_projection(torch.bfloat16, channels, n_state, 12, row,
                                                                       n_chunks)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("channels", "n_state", "rank", "row"), [(72, 10, 4, 40), (216, 16, 12, 48), (260, 16, 12, 48),
                                                              (40, 16, 5, 40), (24, 16, 12, 47)])
@pytest.mark.parametrize("n_chunks", [1, None])
def test_cross_tokens_triton_makes_delta_from_its_low_rank_projection(dtype, channels, n_state, rank, row, n_chunks):
    """The kernel's ``RANK``: δ given as its per-route low-rank projection, a slice of the projection rows
    after B and C (SS2D.forward_fused's [B, pad, C, pad, rank, pad] rows; 47 wide: unaligned, scalar loads),
    and mapped to the channels in the kernel, against the scan of that δ made beforehand in float32.
    Channels 72 (route lanes, MambaIR light), 216 (blocks of one channel per thread, colour DN), 260 (two
    per thread, MambaIR classic); the padding is NaN in memory, so a padding value used anywhere shows."""
    pytest.importorskip("triton")
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens

    gen = torch.Generator().manual_seed(channels + rank)
    batch, height, width = 2, 11, 13
    length = height * width
    n8, start = 16, 32 if row % 8 == 0 else 33
    tokens = torch.randn(batch, length, channels, generator=gen).to(dtype).cuda()
    proj = torch.full((batch, length, 4, row), float("nan"))
    proj[..., :n_state] = torch.randn(batch, length, 4, n_state, generator=gen)
    proj[..., n8 : n8 + n_state] = torch.randn(batch, length, 4, n_state, generator=gen)
    proj[..., start : start + rank] = torch.randn(batch, length, 4, rank, generator=gen)
    proj[..., start + rank :] = 0.0  # (zero weight rows upstream: the padding SS2D's projection writes)
    proj = proj.to(dtype).cuda()
    B, C, low = proj[..., :n_state], proj[..., n8 : n8 + n_state], proj[..., start : start + rank]
    weight = (torch.randn(4 * channels, rank, generator=gen) * 0.5).cuda()
    A = -torch.exp(torch.randn(4 * channels, n_state, generator=gen)).cuda()
    D = torch.randn(4 * channels, generator=gen).cuda()
    bias = (torch.randn(4 * channels, generator=gen) * 0.1 - 1).cuda()
    delta = torch.einsum("blkr,ker->blke", low.float(), weight.view(4, channels, rank)).flatten(2)
    common = dict(height=height, width=width)
    ref = cross_selective_scan_tokens(tokens.float(), delta, A, B.float().contiguous(), C.float().contiguous(), D,
                                      bias, True, backend="reference", **common)
    if n_chunks is None:
        out = cross_selective_scan_tokens(tokens, low, A, B, C, D, bias, True, backend="triton", delta_weight=weight,
                                          **common)
    else:
        from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton

        out = selective_scan_cross_tokens_triton(tokens, low, A, B, C, D, bias, True, width=width, n_chunks=n_chunks,
                                                 delta_weight=weight)
    assert out.dtype == torch.float32 and out.shape == (batch, length, channels)
    assert rel_err(out, ref) <= 2e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("channels", [72, 260])
def test_cross_tokens_state_count_below_a_power_of_two(dtype, channels):
    """MambaIR light's d_state of 10 in SS2D.forward_fused's rows ([B, pad, C, pad, rank, pad], each part
    from a multiple of 8): B and C are read as 16 values and the 6 past N zeroed, here NaN in memory so
    that a padding value used anywhere shows. B/C of exactly N per row take the scalar loads; same result."""
    pytest.importorskip("triton")
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens
    from restore_cli.ops.scan.triton import _rows_readable

    gen = torch.Generator().manual_seed(channels)
    batch, n_state, height, width = 2, 10, 9, 14
    length = height * width
    tokens = torch.randn(batch, length, channels, generator=gen).to(dtype).cuda()
    proj = torch.full((batch, length, 4, 48), float("nan"), dtype=dtype).cuda()
    proj[..., :n_state] = torch.randn(batch, length, 4, n_state, generator=gen).to(dtype).cuda()
    proj[..., 16 : 16 + n_state] = torch.randn(batch, length, 4, n_state, generator=gen).to(dtype).cuda()
    B, C = proj[..., :n_state], proj[..., 16 : 16 + n_state]
    delta = (torch.randn(batch, length, 4 * channels, generator=gen) * 0.5 - 1).to(dtype).cuda()
    A = -torch.exp(torch.randn(4 * channels, n_state, generator=gen)).cuda()
    D = torch.randn(4 * channels, generator=gen).cuda()
    bias = (torch.randn(4 * channels, generator=gen) * 0.1).cuda()
    assert _rows_readable(B.permute(0, 2, 3, 1), 2, 16) and _rows_readable(C.permute(0, 2, 3, 1), 2, 16)
    assert not _rows_readable(B.contiguous().permute(0, 2, 3, 1), 2, 16)
    ref = cross_selective_scan_tokens(tokens, delta, A, B.contiguous(), C.contiguous(), D, bias, True, height=height,
                                      width=width, backend="reference")
    for b, c in ((B, C), (B.contiguous(), C.contiguous())):  # whole vectors, then scalar loads
        out = cross_selective_scan_tokens(tokens, delta, A, b, c, D, bias, True, height=height, width=width,
                                          backend="triton")
        assert out.isfinite().all() and rel_err(out, ref) <= 2e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize(("channels", "n_state", "n_chunks"), [(72, 10, None), (12, 16, 5), (20, 5, 1), (72, 32, 3)])
def test_cross_tokens_route_lanes(dtype, channels, n_state, n_chunks):
    """The four routes side by side in a program's lanes (``ROUTE_LANES``: one forward walk, mirrored per
    lane), as MambaIR light's 72 channels per route take them: against the reference, and against the
    block-per-route kernel. Widths that leave masked lanes, N of 5 (padded) and 32 (scalar B/C loads)."""
    pytest.importorskip("triton")
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens
    from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton, use_route_lanes

    assert use_route_lanes(72, 32, 1) and not use_route_lanes(96, 32, 1) and not use_route_lanes(360, 64, 2)
    gen = torch.Generator().manual_seed(channels + n_state)
    batch, height, width = 2, 11, 13
    length = height * width
    n8 = -(-n_state // 8) * 8
    tokens = torch.randn(batch, length, channels, generator=gen).to(dtype).cuda()
    proj = torch.randn(batch, length, 4, 2 * n8 + 16, generator=gen).to(dtype).cuda()
    B, C = proj[..., :n_state], proj[..., n8 : n8 + n_state]
    delta = (torch.randn(batch, length, 4 * channels, generator=gen) * 0.5 - 1).to(dtype).cuda()
    A = -torch.exp(torch.randn(4 * channels, n_state, generator=gen)).cuda()
    D = torch.randn(4 * channels, generator=gen).cuda()
    bias = (torch.randn(4 * channels, generator=gen) * 0.1).cuda()
    args = (tokens, delta, A, B, C, D, bias, True)
    ref = cross_selective_scan_tokens(*args, height=height, width=width, backend="reference")
    lanes = selective_scan_cross_tokens_triton(*args, width=width, n_chunks=n_chunks, route_lanes=True)
    blocks = selective_scan_cross_tokens_triton(*args, width=width, n_chunks=n_chunks, route_lanes=False)
    assert lanes.isfinite().all() and rel_err(lanes, ref) <= 2e-5
    assert rel_err(lanes, blocks) <= 2e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_cross_tokens_two_channels_per_thread(dtype):
    """Route groups of 256+ channels take two channels per thread (``channels_per_thread``); 260 channels
    leave a last block of 4 real channels and 60 clamped lanes."""
    pytest.importorskip("triton")
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens
    from restore_cli.ops.scan.triton import channels_per_thread

    assert channels_per_thread(260) == 2 and channels_per_thread(120) == 1
    gen = torch.Generator().manual_seed(260)
    batch, channels, n_state, height, width = 1, 260, 16, 9, 14
    length = height * width
    tokens = torch.randn(batch, length, channels, generator=gen).to(dtype).cuda()
    proj = torch.randn(batch, length, 4, 40, generator=gen).to(dtype).cuda()
    delta = (torch.randn(batch, length, 4 * channels, generator=gen) * 0.5 - 1).to(dtype).cuda()
    A = -torch.exp(torch.randn(4 * channels, n_state, generator=gen)).cuda()
    D = torch.randn(4 * channels, generator=gen).cuda()
    bias = (torch.randn(4 * channels, generator=gen) * 0.1).cuda()
    args = (tokens, delta, A, proj[..., :n_state], proj[..., n_state : 2 * n_state], D, bias, True)
    ref = cross_selective_scan_tokens(*args, height=height, width=width, backend="reference")
    out = cross_selective_scan_tokens(*args, height=height, width=width, backend="triton")
    assert rel_err(out, ref) <= 2e-5


@pytest.mark.parametrize(("dim", "n_state", "length"), [(348, 16, 3000), (24, 8, 129), (40, 5, 1), (96, 16, 9000)])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_tokens_triton_reads_and_writes_channel_last(dim, n_state, length, dtype):
    """MambaIRv2's layout: (batch, L, dim) tokens, B and C column slices of one projection output."""
    pytest.importorskip("triton")
    from restore_cli.ops.scan import selective_scan_tokens
    from restore_cli.ops.scan.reference import selective_scan_reference

    gen = torch.Generator().manual_seed(dim + length)
    batch = 2
    u = torch.randn(batch, length, dim, generator=gen).to(dtype).cuda()
    delta = (torch.randn(batch, length, dim, generator=gen) * 0.5 - 1).to(dtype).cuda()
    proj = torch.randn(batch, length, -(-2 * n_state // 8) * 8 + 8, generator=gen).to(dtype).cuda()
    B, C = proj[..., :n_state], proj[..., n_state : 2 * n_state].float()  # C: a new float32 tensor
    A = -torch.exp(torch.randn(dim, n_state, generator=gen)).cuda()
    D = torch.randn(dim, generator=gen).cuda()
    bias = (torch.randn(dim, generator=gen) * 0.1).cuda()
    with torch.inference_mode():
        out = selective_scan_tokens(u, delta, A, B, C, D, bias, True)
    ref = selective_scan_reference(u.transpose(1, 2), delta.transpose(1, 2), A, B.transpose(1, 2),
                                   C.transpose(1, 2), D, bias, True).transpose(1, 2)
    assert out.dtype == dtype and out.shape == (batch, length, dim) and out.is_contiguous()
    assert rel_err(out, ref) <= TOLERANCE[dtype]


@pytest.mark.parametrize("n_chunks", [2, 3, 160, 400, 600])
def test_chunk_carry_over_many_chunks_matches_reference(n_chunks):
    """The carry between chunks is a log-depth scan over up to 256 chunks at a time; more chunks (an
    explicit ``n_chunks``) are taken a tile at a time, the state carried between tiles."""
    pytest.importorskip("triton")
    from restore_cli.ops.scan.reference import selective_scan_reference
    from restore_cli.ops.scan.triton import selective_scan_triton

    inputs = make_inputs(1, 40, 16, 3000, None, dtype=torch.float32, seed=n_chunks)
    core = {k: inputs[k] for k in ("u", "delta", "A", "B", "C")}
    extra = {"D": inputs["D"], "delta_bias": inputs["delta_bias"], "delta_softplus": True}
    ref = selective_scan_reference(**core, **extra)
    out = selective_scan_triton(**core, **extra, n_chunks=n_chunks)
    assert rel_err(out, ref) <= TOLERANCE[torch.float32]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_tokens_scan_reads_row_padded_operands_and_never_their_padding(dtype):
    """Operands whose rows are padded (as Inductor's stride padding leaves them: 348 channels in rows of
    352) give the same result as contiguous ones, and the padding, NaN here, is never read."""
    pytest.importorskip("triton")
    from restore_cli.ops.scan import selective_scan_tokens

    gen = torch.Generator().manual_seed(7)
    batch, length, dim, n_state = 2, 2000, 348, 16

    def row_padded(t: torch.Tensor) -> torch.Tensor:
        wide = torch.full((*t.shape[:-1], t.shape[-1] + 4), float("nan"), dtype=t.dtype, device=t.device)
        wide[..., : t.shape[-1]] = t
        return wide[..., : t.shape[-1]]

    u = torch.randn(batch, length, dim, generator=gen).to(dtype).cuda()
    delta = (torch.randn(batch, length, dim, generator=gen) * 0.5 - 1).to(dtype).cuda()
    proj = torch.randn(batch, length, 40, generator=gen).to(dtype).cuda()
    B, C = proj[..., :n_state], proj[..., n_state : 2 * n_state].float()
    A = -torch.exp(torch.randn(dim, n_state, generator=gen)).cuda()
    D, bias = torch.randn(dim, generator=gen).cuda(), (torch.randn(dim, generator=gen) * 0.1).cuda()
    with torch.inference_mode():
        expected = selective_scan_tokens(u, delta, A, B, C, D, bias, True)
        got = selective_scan_tokens(row_padded(u), row_padded(delta), A, B, C, D, bias, True)
    assert got.isfinite().all()
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.slow
def test_triton_offsets_do_not_overflow_past_2_to_the_31():
    """dim * L > 2**31 (a 2048 px MambaIRUNet level): int32 channel offsets used to fault."""
    from restore_cli.ops.scan.torch_chunked import selective_scan_chunked
    from restore_cli.ops.scan.triton import selective_scan_triton

    dim, n_state, length = 520, 4, 1 << 22  # 2.18e9 elements per (dim, L) tensor
    if torch.cuda.get_device_properties(0).total_memory < 40 * 2**30:
        pytest.skip("needs about 20 GiB of GPU memory")
    gen = torch.Generator(device="cuda").manual_seed(0)
    u = torch.randn(1, dim, length, device="cuda", dtype=torch.bfloat16, generator=gen)
    delta = torch.full_like(u, -2.0)
    A = -torch.ones(dim, n_state, device="cuda")
    B = torch.randn(1, n_state, length, device="cuda", dtype=torch.bfloat16, generator=gen)
    C = torch.randn(1, n_state, length, device="cuda", dtype=torch.bfloat16, generator=gen)
    y = selective_scan_triton(u, delta, A, B, C, None, None, True)
    last = slice(dim - 2, dim)  # the channels whose offsets overflowed int32
    ref = selective_scan_chunked(u[:, last], delta[:, last], A[last], B, C, None, None, True)
    assert rel_err(y[:, last].float(), ref.float()) < TOLERANCE[torch.bfloat16]
