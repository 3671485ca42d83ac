"""The scan launcher's choices (time chunks, route lanes, bf16 pairs), where Triton is installed."""

from __future__ import annotations

import pytest
import torch

triton_scan = pytest.importorskip("restore_cli.ops.scan.triton", exc_type=ImportError)


def test_two_channel_chunks_come_in_whole_waves_of_the_output_pass():
    chunks = triton_scan.default_n_chunks
    # MambaIR classic / colour DN: 24 programs, 16 warps per SM on 132 SMs -> waves of 88 chunks
    assert chunks(24, 57600, per_thread=2, wave_warps=16) == 264
    assert chunks(24, 921600, per_thread=2, wave_warps=16) == 264
    assert chunks(24, 57600, per_thread=2) == 256  # without the wave: the cap
    # MambaIRv2 Base: 6 programs, 12 warps per SM at its register cap -> one wave of 264
    assert chunks(6, 57600, per_thread=2, wave_warps=12) == 264
    # never below the 64-step floor's bound, never zero
    assert chunks(24, 6400, per_thread=2, wave_warps=16) == 100
    assert chunks(24, 10, per_thread=2, wave_warps=16) == 1
    # one channel per thread ignores waves (MambaIR light's route lanes: 9 programs, 24 per SM)
    assert chunks(9, 57600, per_sm=24, wave_warps=16) == 352


def test_route_lanes_and_pairs_where_they_pay():
    assert triton_scan.use_route_lanes(72, 32, 1)  # 9 programs instead of 12
    assert not triton_scan.use_route_lanes(96, 32, 1)  # 12 either way
    assert not triton_scan.use_route_lanes(360, 64, 2)  # two channels per thread
    bf16, fp32 = torch.bfloat16, torch.float32
    assert triton_scan.bc_pairs(True, (bf16, bf16), 2)
    assert not triton_scan.bc_pairs(True, (bf16, fp32), 2)  # a float32 C beside a bf16 B
    assert not triton_scan.bc_pairs(True, (bf16, bf16), 1)
    assert not triton_scan.bc_pairs(False, (bf16, bf16), 2)
