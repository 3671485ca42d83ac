"""ACL (unofficial re-implementation): its default size against the published one. What it shares with
LAformer (shapes, padding, linear cost, training, round trip) is in ``test_linear_attention_unets.py``."""

from __future__ import annotations

import torch

from restore_cli.archs import build
from restore_cli.ops.linear_attn.cost import count_macs, count_params

PUBLISHED_PARAMS = 4.6e6  # ACL CVPR 2025 poster
PUBLISHED_GFLOPS = 55.0  # poster; input size not stated, we compare GMACs at 256 x 256


def test_default_size_near_published() -> None:
    with torch.device("meta"):  # sizes and MACs without allocating weights
        m = build("ACL")
    params = count_params(m)
    assert abs(params / PUBLISHED_PARAMS - 1) < 0.15, params
    gmacs = count_macs(m, (1, 3, 256, 256)) / 1e9
    assert abs(gmacs / PUBLISHED_GFLOPS - 1) < 0.25, gmacs
