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
    assert chunks(9, 57600, per_sm=24) == 352  # MambaIR light's route lanes: one wave of programs
    # two channels per thread: whole waves of the output pass (MambaIR classic: 24 programs, 16 warps per SM)
    assert chunks(24, 57600, per_thread=2, wave_warps=16) == 264
    assert chunks(24, 57600, per_thread=2) == 256
    assert chunks(28, 921600, per_sm=128) == 604  # colour DN's four routes in blocks at 1280x720


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


def test_prefetch_depth():
    prefetch = triton_scan.default_prefetch
    assert prefetch(2) == 1 and prefetch(2, route_blocks=True) == 1  # two channels per thread
    assert prefetch(1) == 2  # one route, and the four routes' lanes (MambaIR light)
    assert prefetch(1, route_blocks=True) == 3  # the four routes in blocks (MambaIR DN and JPEG)
