"""The scan launcher's choices (time chunks, route lanes, bf16 pairs), where Triton is installed."""

from __future__ import annotations

import pytest
import torch

triton_scan = pytest.importorskip("restore_cli.ops.scan.triton", exc_type=ImportError)


def test_time_chunks():
    chunks = triton_scan.default_n_chunks
    assert chunks(24, 57600, per_thread=2) == 256  # MambaIR classic: the two-channel cap
    assert chunks(6, 57600, per_thread=2) == 256  # MambaIRv2 Base
    assert chunks(24, 6400, per_thread=2) == 100  # chunks of at least 64 steps
    assert chunks(24, 10, per_thread=2) == 1
    assert chunks(9, 57600, per_sm=24) == 352  # route lanes at N 16: one wave of programs
    assert chunks(9, 57600, per_sm=32) == 470  # MambaIR light's lanes, 64 registers: a wave of 32 per SM
    # two channels per thread: whole waves of the output pass (MambaIR classic: 24 programs, 16 warps per SM)
    assert chunks(24, 57600, per_thread=2, wave_warps=16) == 264
    assert chunks(24, 57600, per_thread=2) == 256
    assert chunks(28, 921600, per_sm=128) == 604  # colour DN's four routes in blocks at 1280x720
    # the route lanes: whole waves of chunks at most 300 steps long (MambaIR light: 4K out, then 720p)
    assert chunks(9, 518400, per_sm=32, max_steps=300) == 1880
    assert chunks(9, 57600, per_sm=32, max_steps=300) == 470
    assert chunks(9, 518400, per_sm=24, max_steps=400) == 1408


def test_output_pass_register_cap():
    cap = triton_scan.output_pass_maxnreg
    # the route lanes at N 10 (MambaIR light): 64, so 32 programs fit an SM; at N 16 they would spill
    assert cap(1, cross=True, channel_last=True, route_lanes=True, n_state=10) == 64
    assert cap(1, cross=True, channel_last=True, route_lanes=True, n_state=16) is None
    assert cap(1, cross=True, channel_last=True) is None  # the four routes in blocks (MambaIR DN, JPEG)
    assert cap(2, cross=False, channel_last=True) == 168  # MambaIRv2's one route, two channels per thread
    assert cap(2, cross=True, channel_last=True) is None  # MambaIR classic


def test_route_lanes_and_pairs_where_they_pay():
    assert triton_scan.use_route_lanes(72, 32, 1)  # 9 programs instead of 12
    assert not triton_scan.use_route_lanes(96, 32, 1)  # 12 either way
    assert not triton_scan.use_route_lanes(216, 32, 1)  # 27 against 28: MambaIR DN and JPEG, slower with lanes
    assert not triton_scan.use_route_lanes(144, 32, 1)  # 18 against 20
    assert not triton_scan.use_route_lanes(360, 64, 2)  # two channels per thread
    bf16, fp32 = torch.bfloat16, torch.float32
    assert triton_scan.bc_pairs(True, (bf16, bf16), 2, cross=False)  # MambaIRv2's one route
    assert not triton_scan.bc_pairs(True, (bf16, bf16), 2, cross=True)  # the four routes
    assert not triton_scan.bc_pairs(True, (bf16, fp32), 2, cross=False)  # a float32 C beside a bf16 B
    assert not triton_scan.bc_pairs(True, (bf16, bf16), 1, cross=False)
    assert not triton_scan.bc_pairs(False, (bf16, bf16), 2, cross=False)
    # the four routes in blocks at one channel per thread (colour DN, JPEG): by default, off when switched off
    assert triton_scan.bc_pairs(True, (bf16, bf16), 1, cross=True, route_blocks=True)


def test_route_block_pairs_when_asked(monkeypatch):
    bf16, fp32 = torch.bfloat16, torch.float32
    monkeypatch.setattr(triton_scan, "ROUTE_BLOCK_PAIRS", False)
    assert not triton_scan.bc_pairs(True, (bf16, bf16), 1, cross=True, route_blocks=True)
    monkeypatch.setattr(triton_scan, "ROUTE_BLOCK_PAIRS", True)
    assert triton_scan.bc_pairs(True, (bf16, bf16), 1, cross=True, route_blocks=True)
    assert not triton_scan.bc_pairs(True, (bf16, bf16), 1, cross=True)  # lanes: per-lane tiles, no pairs
    assert not triton_scan.bc_pairs(True, (bf16, bf16), 2, cross=True, route_blocks=True)
    assert not triton_scan.bc_pairs(True, (fp32, fp32), 1, cross=True, route_blocks=True)


def test_prefetch_depth():
    prefetch = triton_scan.default_prefetch
    assert prefetch(2) == 1 and prefetch(2, route_blocks=True) == 1  # two channels per thread
    assert prefetch(1) == 2  # one route, and the four routes' lanes (MambaIR light)
    assert prefetch(1, route_blocks=True) == 3  # the four routes in blocks (MambaIR DN and JPEG)


def test_route_lanes_chunk_length():
    """Long routes on the lanes take whole waves of chunks of at most LANE_CHUNK_STEPS steps (MambaIR light
    at 4K: four waves of 470), short ones one wave (at 720p); the output pass is capped at 64 registers."""
    recorded = []

    class Recorder:
        def __getitem__(self, grid):
            return lambda *args, **kwargs: recorded.append((grid, kwargs.get("maxnreg")))

    kernels = triton_scan._scan_chunk_kernel, triton_scan._carry_scan_kernel
    triton_scan._scan_chunk_kernel = triton_scan._carry_scan_kernel = Recorder()
    try:
        for height, width in ((180, 320), (540, 960)):
            length, e, n = height * width, 72, 10
            proj = torch.empty(1, length, 4, 40, dtype=torch.bfloat16, device="meta")
            args = (torch.empty(1, length, e, dtype=torch.bfloat16, device="meta"),
                    torch.empty(1, length, 4 * e, dtype=torch.bfloat16, device="meta"),
                    torch.empty(4 * e, n, device="meta"), proj[..., :n], proj[..., 16:16 + n],
                    torch.empty(4 * e, device="meta"), torch.empty(4 * e, device="meta"), True)
            triton_scan.selective_scan_cross_tokens_triton(*args, width=width)
    finally:
        triton_scan._scan_chunk_kernel, triton_scan._carry_scan_kernel = kernels
    assert recorded[0] == ((1, 9, 469), None)  # 720p out: the chunk-end pass, one wave of 123-step chunks
    assert recorded[2] == ((1, 9, 469), 64)  # the output pass, in 64 registers
    assert recorded[3][0][:2] == (1, 9) and 1870 <= recorded[3][0][2] <= 1880  # 4K out: four waves, 276 steps
