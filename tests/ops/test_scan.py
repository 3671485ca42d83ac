"""Every CPU scan backend against the per-step reference, plus the pure backend choice.

The reference (:mod:`restore_cli.ops.scan.reference`) is the spec; the chunked scan must match it to
~1e-5 of the output's scale in float32 whatever the chunk/block split, and bit-for-bit up to one
rounding of the output in bf16/fp16 (both compute in float32 from the same low-precision inputs).
"""

from __future__ import annotations

import pytest
import torch

from restore_cli.errors import BackendUnavailableError
from restore_cli.ops.scan import select_backend, selective_scan
from restore_cli.ops.scan.reference import selective_scan_reference
from restore_cli.ops.scan.torch_chunked import selective_scan_chunked

TOLERANCE = {torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}


def make_inputs(batch, dim, n_state, length, groups, *, dtype=torch.float32, softplus=True, seed=0):
    """Random scan inputs; ``groups=None`` gives ungrouped (batch, N, L) B and C.

    Without softplus, delta is drawn positive so that exp(delta * A) <= 1 as in real models.
    """
    gen = torch.Generator().manual_seed(seed)
    bc_shape = (batch, n_state, length) if groups is None else (batch, groups, n_state, length)
    delta = torch.randn(batch, dim, length, generator=gen) * 0.5 - 1.0
    if not softplus:
        delta = torch.rand(batch, dim, length, generator=gen)
    return {
        "u": torch.randn(batch, dim, length, generator=gen).to(dtype),
        "delta": delta.to(dtype),
        "A": -torch.exp(torch.randn(dim, n_state, generator=gen)),
        "B": torch.randn(*bc_shape, generator=gen).to(dtype),
        "C": torch.randn(*bc_shape, generator=gen).to(dtype),
    }


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Max absolute error relative to the reference's largest magnitude."""
    scale = ref.float().abs().max().clamp_min(1e-12)
    return ((out.float() - ref.float()).abs().max() / scale).item()


SHAPES = [  # (batch, dim, N, L, groups)
    (2, 8, 4, 37, 2),
    (1, 6, 3, 1, None),
    (3, 12, 5, 100, 3),
    (2, 16, 16, 130, None),
    (1, 8, 4, 64, 1),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}-d{}-N{}-L{}-G{}".format(*s))
@pytest.mark.parametrize(("chunk", "block"), [(16, 128), (4, 8), (1, 1), (7, 20), (64, 64)])
def test_chunked_matches_reference_all_options(shape, chunk, block):
    inputs = make_inputs(*shape, softplus=False)  # delta > 0: fine with and without softplus
    dim = shape[1]
    gen = torch.Generator().manual_seed(1)
    D = torch.randn(dim, generator=gen)
    bias = torch.randn(dim, generator=gen) * 0.1
    z = torch.randn(shape[0], dim, shape[3], generator=gen)
    for extra in ({}, {"D": D}, {"D": D, "delta_bias": bias, "delta_softplus": True}, {"z": z, "D": D}):
        ref = selective_scan_reference(**inputs, **extra)
        out = selective_scan_chunked(**inputs, **extra, chunk=chunk, block=block)
        assert out.shape == ref.shape and out.dtype == ref.dtype
        assert rel_err(out, ref) <= 1e-5, extra.keys()


@pytest.mark.parametrize("softplus", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
def test_dispatch_backends_match_reference(dtype, softplus):
    inputs = make_inputs(2, 12, 8, 75, 3, dtype=dtype, softplus=softplus, seed=3)
    gen = torch.Generator().manual_seed(4)
    extra = {"D": torch.randn(12, generator=gen), "delta_bias": torch.randn(12, generator=gen) * 0.1}
    ref = selective_scan_reference(**inputs, **extra, delta_softplus=softplus)
    for backend in ("auto", "torch", "reference"):
        out = selective_scan(**inputs, **extra, delta_softplus=softplus, backend=backend)
        assert out.dtype == dtype
        assert rel_err(out, ref) <= TOLERANCE[dtype], backend


def test_half_precision_computes_in_float32():
    """bf16 inputs give the float32 result of the same (rounded) inputs, rounded once at the end."""
    inputs = make_inputs(1, 8, 4, 200, 2, dtype=torch.bfloat16, seed=5)
    as_f32 = {k: v.float() for k, v in inputs.items()}
    out = selective_scan_chunked(**inputs, delta_softplus=True, chunk=8, block=32)
    exact = selective_scan_reference(**as_f32, delta_softplus=True)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, exact.to(torch.bfloat16), rtol=1e-2, atol=1e-2)


def test_long_sequence_strong_decay_is_stable():
    """Large |δ·A| (decays that underflow) gives no NaN/inf and still matches the reference."""
    inputs = make_inputs(1, 4, 4, 3000, None, seed=6)
    inputs["A"] = -torch.linspace(1.0, 60.0, 16).view(4, 4)
    inputs["delta"] = inputs["delta"] * 4 + 3  # softplus(δ) up to ~10: single-step decays below 1e-200
    ref = selective_scan_reference(**inputs, delta_softplus=True)
    out = selective_scan_chunked(**inputs, delta_softplus=True, chunk=16, block=256)
    assert torch.isfinite(out).all()
    assert rel_err(out, ref) <= 1e-5


def test_slow_decay_long_memory():
    """Near-zero decay rates: the state carries across many chunks and blocks."""
    inputs = make_inputs(1, 4, 2, 1000, None, softplus=False, seed=7)
    inputs["delta"] = inputs["delta"] * 1e-3
    ref = selective_scan_reference(**inputs)
    out = selective_scan_chunked(**inputs, chunk=5, block=50)
    assert rel_err(out, ref) <= 1e-5


def test_empty_sequence():
    inputs = make_inputs(2, 4, 3, 0, None)
    assert selective_scan_chunked(**inputs).shape == (2, 4, 0)


def test_bad_arguments_raise():
    inputs = make_inputs(1, 6, 3, 10, 2)
    with pytest.raises(ValueError, match="chunk"):
        selective_scan_chunked(**inputs, chunk=0)
    inputs["B"] = inputs["C"] = torch.randn(1, 4, 3, 10)
    with pytest.raises(ValueError, match="divisible"):
        selective_scan_chunked(**inputs)


# --- select_backend: a pure function of (device type, request, what is installed) ---


@pytest.mark.parametrize(
    ("device", "has_triton", "has_mamba", "expected"),
    [
        ("cpu", False, False, "torch"),
        ("cpu", True, True, "torch"),
        ("cuda", True, True, "triton"),
        ("cuda", True, False, "triton"),
        ("cuda", False, True, "mamba"),
        ("cuda", False, False, "torch"),
        ("mps", True, True, "torch"),
    ],
)
def test_auto_choice(device, has_triton, has_mamba, expected):
    name, reason = select_backend(device, "auto", has_triton=has_triton, has_mamba=has_mamba)
    assert name == expected
    assert reason


@pytest.mark.parametrize("requested", ["torch", "reference"])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_portable_backends_always_honoured(device, requested):
    assert select_backend(device, requested) == (requested, "requested")


@pytest.mark.parametrize(
    ("device", "requested", "has_triton", "has_mamba", "match"),
    [
        ("cpu", "triton", True, True, "needs CUDA"),
        ("cpu", "mamba", True, True, "needs CUDA"),
        ("cuda", "triton", False, True, "needs Triton"),
        ("cuda", "mamba", True, False, "mamba-ssm"),
        ("cuda", "cuda-magic", True, True, "unknown scan backend"),
    ],
)
def test_unavailable_requests_raise(device, requested, has_triton, has_mamba, match):
    with pytest.raises(BackendUnavailableError, match=match):
        select_backend(device, requested, has_triton=has_triton, has_mamba=has_mamba)


def test_available_gpu_requests_honoured():
    assert select_backend("cuda", "triton", has_triton=True)[0] == "triton"
    assert select_backend("cuda", "mamba", has_mamba=True)[0] == "mamba"


def test_dispatch_refuses_gpu_backend_for_cpu_tensors():
    inputs = make_inputs(1, 4, 2, 5, None)
    with pytest.raises(BackendUnavailableError):
        selective_scan(**inputs, backend="triton")


# --- MambaIR v1 four-route cross scan (the CPU side; the fused Triton kernel is in test_scan_gpu.py) ---


def upstream_four_routes(x, delta, A, B, C, D, bias, softplus=True):
    """MambaIR v1 ``SS2D.forward_core``'s data movement, written as upstream does, on per-pixel inputs."""
    batch, _, height, width = x.shape
    length = height * width

    def routes(t):  # route k reads its own per-pixel slice in its own order
        out = []
        for k in range(4):
            seq = t[:, k] if k % 2 == 0 else torch.transpose(t[:, k], 2, 3).contiguous()
            seq = seq.reshape(batch, -1, length)
            out.append(seq if k < 2 else torch.flip(seq, dims=[-1]))
        return torch.stack(out, dim=1)

    x_hwwh = torch.stack(
        [x.view(batch, -1, length), torch.transpose(x, 2, 3).contiguous().view(batch, -1, length)], dim=1
    )
    xs = torch.cat([x_hwwh, torch.flip(x_hwwh, dims=[-1])], dim=1)
    out_y = selective_scan_reference(
        xs.reshape(batch, -1, length), routes(delta).reshape(batch, -1, length), A, routes(B), routes(C),
        D, bias, softplus,
    ).view(batch, 4, -1, length)  # fmt: skip
    inv_y = torch.flip(out_y[:, 2:4], dims=[-1])
    wh_y = torch.transpose(out_y[:, 1].reshape(batch, -1, width, height), 2, 3).reshape(batch, -1, length)
    invwh_y = torch.transpose(inv_y[:, 1].reshape(batch, -1, width, height), 2, 3).reshape(batch, -1, length)
    return (out_y[:, 0] + inv_y[:, 0] + wh_y + invwh_y).view(batch, -1, height, width)


def make_cross_inputs(batch, channels, n_state, height, width, seed=0):
    """Per-pixel, per-route inputs for the cross scan."""
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, channels, height, width, generator=gen),
        torch.randn(batch, 4, channels, height, width, generator=gen) * 0.5 - 1,
        -torch.exp(torch.randn(4 * channels, n_state, generator=gen)),
        torch.randn(batch, 4, n_state, height, width, generator=gen),
        torch.randn(batch, 4, n_state, height, width, generator=gen),
        torch.randn(4 * channels, generator=gen),
        torch.randn(4 * channels, generator=gen) * 0.1,
    )


@pytest.mark.parametrize(("height", "width"), [(4, 4), (3, 7), (1, 5), (6, 1)])
def test_cross_reference_matches_upstream(height, width):
    from restore_cli.ops.scan.cross import cross_selective_scan_reference

    args = make_cross_inputs(2, 5, 4, height, width, seed=height * 10 + width)
    expected = upstream_four_routes(*args)
    assert rel_err(cross_selective_scan_reference(*args, True), expected) <= 1e-6
    out = cross_selective_scan_reference(*args, True, backend="auto")  # auto on CPU: the chunked scan
    assert out.dtype == torch.float32
    assert rel_err(out, expected) <= 1e-5


@pytest.mark.parametrize(("height", "width"), [(4, 4), (3, 7), (1, 5), (6, 1), (9, 31)])
def test_cross_tokens_entry_matches_upstream_on_channel_last_operands(height, width):
    """The channel-last entry (the fused path on CUDA and CPU) computes the same four-route scan as upstream.

    9x31 = 279 tokens spans several chunks and blocks of the CPU scan, with a partial last chunk.
    """
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens

    x, delta, A, B, C, D, bias = make_cross_inputs(2, 5, 4, height, width, seed=height + width)
    expected = upstream_four_routes(x, delta, A, B, C, D, bias)

    def tokens(t: torch.Tensor) -> torch.Tensor:  # (batch, [4,] X, H, W) -> (batch, H·W, [4,] X)
        return t.flatten(-2).movedim(-1, 1)

    proj = torch.cat([tokens(B), tokens(C)], dim=-1)  # (batch, L, 4, 2N): B and C as strided slices
    out = cross_selective_scan_tokens(tokens(x), tokens(delta).flatten(2), A, proj[..., :4], proj[..., 4:], D, bias,
                                      True, height=height, width=width, backend="torch")
    assert out.shape == (2, height * width, 5)
    assert rel_err(out, tokens(expected)) <= 1e-5
    expected = upstream_four_routes(x, delta.abs(), A, B, C, None, None, softplus=False)
    no_skip = cross_selective_scan_tokens(tokens(x), tokens(delta.abs()).flatten(2), A, proj[..., :4], proj[..., 4:],
                                          height=height, width=width, backend="torch")
    assert rel_err(no_skip, tokens(expected)) <= 1e-5
    with pytest.raises(ValueError, match="do not tile"):
        cross_selective_scan_tokens(tokens(x), tokens(delta).flatten(2), A, proj[..., :4], proj[..., 4:],
                                    height=height + 1, width=width)


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_cross_tokens_entry_takes_delta_as_its_low_rank_projection(backend):
    """Given ``delta_weight``, ``delta`` is δ's low-rank projection per route (as ``SS2D.forward_fused`` slices
    it from its projection): the result is the scan of the δ it maps to, on every backend."""
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens

    height, width, channels, n_state, rank = 5, 6, 7, 4, 3
    x, _, A, B, C, D, bias = make_cross_inputs(2, channels, n_state, height, width, seed=3)
    gen = torch.Generator().manual_seed(4)
    low = torch.randn(2, height * width, 4, rank, generator=gen)
    weight = torch.randn(4 * channels, rank, generator=gen) * 0.5
    delta = torch.einsum("blkr,ker->blke", low, weight.view(4, channels, rank)).flatten(2)

    def tokens(t: torch.Tensor) -> torch.Tensor:  # (batch, [4,] X, H, W) -> (batch, H·W, [4,] X)
        return t.flatten(-2).movedim(-1, 1)

    common = dict(height=height, width=width, backend=backend)
    expected = cross_selective_scan_tokens(tokens(x), delta, A, tokens(B), tokens(C), D, bias, True, **common)
    out = cross_selective_scan_tokens(tokens(x), low, A, tokens(B), tokens(C), D, bias, True, delta_weight=weight,
                                      **common)
    assert rel_err(out, expected) <= 1e-6
    assert rel_err(out, cross_selective_scan_tokens(tokens(x), delta * 1.5, A, tokens(B), tokens(C), D, bias, True,
                                                    **common)) > 1e-3  # (δ matters)


def test_the_scan_makes_delta_where_the_triton_kernel_has_room_for_it(monkeypatch):
    """δ is made in the kernel on the Triton backend only: for narrow route groups (one channel per thread)
    always, for wide ones (two per thread, where it costs MambaIR classic 13%) only once the δ tensor would
    take a GiB."""
    from restore_cli.ops.scan import cross

    assert not cross.scan_makes_delta(torch.empty(1, 64, 120))  # CPU: the chunked scan takes δ itself
    pytest.importorskip("triton")
    monkeypatch.setattr(cross, "backend_for", lambda t, backend="auto": "triton")

    def tokens(length: int, channels: int) -> torch.Tensor:
        return torch.empty(1, length, channels, dtype=torch.bfloat16, device="meta")

    assert cross.scan_makes_delta(tokens(57600, 120)) and cross.scan_makes_delta(tokens(921600, 216))
    assert not cross.scan_makes_delta(tokens(57600, 360))  # MambaIR classic at 720p
    assert cross.scan_makes_delta(tokens(518400, 360))  # ... and on a whole 4K image (1.4 GiB of δ)


def test_cross_scan_and_merge_are_inverse_routes():
    from restore_cli.ops.scan.cross import cross_merge, cross_scan, route_order

    x = torch.randn(2, 3, 4, 6)
    routes = cross_scan(x)
    assert routes.shape == (2, 4, 3, 24)
    torch.testing.assert_close(cross_merge(routes, 4, 6), 4 * x)
    # route_order of a map repeated on the four routes is the cross scan of that map
    torch.testing.assert_close(route_order(x[:, None].expand(2, 4, 3, 4, 6)), routes)


def test_tokens_entry_is_the_scan_of_the_transposed_operands():
    """Off CUDA the channel-last entry scans transposed views; results in (batch, L, dim)."""
    from restore_cli.ops.scan import selective_scan_tokens

    torch.manual_seed(0)
    b, length, dim, n = 2, 37, 6, 4
    u, delta = torch.randn(b, length, dim), torch.randn(b, length, dim) * 0.5 - 1
    proj = torch.randn(b, length, 2 * n + 3)
    A, D, bias = -torch.rand(dim, n) - 0.5, torch.randn(dim), torch.randn(dim) * 0.1
    out = selective_scan_tokens(u, delta, A, proj[..., :n], proj[..., n : 2 * n], D, bias, True)
    ref = selective_scan_reference(u.transpose(1, 2), delta.transpose(1, 2), A, proj[..., :n].transpose(1, 2),
                                   proj[..., n : 2 * n].transpose(1, 2), D, bias, True)
    assert out.shape == (b, length, dim)
    torch.testing.assert_close(out, ref.transpose(1, 2), rtol=1e-5, atol=1e-5)


def test_backend_probes_are_constants_inside_a_compiled_graph() -> None:
    """Traced, the mamba-ssm probe's failing import split every compiled MambaIR block into three graphs
    (PyTorch 2.11, CUDA): the probes must be answered at trace time, without a graph break."""
    from restore_cli.ops.launch import triton_available
    from restore_cli.ops.scan import mamba_available

    def shifted(x: torch.Tensor) -> torch.Tensor:
        return x + int(mamba_available()) + 2 * int(triton_available())

    x = torch.zeros(3)
    compiled = torch.compile(shifted, fullgraph=True, backend="eager")
    assert torch.equal(compiled(x), shifted(x))
