"""LAformer (unofficial re-implementation): its size budget and RELA's rank lifting. What it shares with ACL
(shapes, padding, linear cost, training, round trip) is in ``test_linear_attention_unets.py``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restore_cli.archs import build
from restore_cli.archs.laformer import RELA
from restore_cli.ops.linear_attn import linear_attention
from restore_cli.ops.linear_attn.cost import count_macs, count_params

BUDGET_PARAMS = 4.6e6  # no LAformer numbers are public; we hold it to ACL's published size


def test_default_size_near_published() -> None:
    with torch.device("meta"):  # sizes and MACs without allocating weights
        m = build("LAformer")
    params = count_params(m)
    assert abs(params / BUDGET_PARAMS - 1) < 0.15, params
    gmacs = count_macs(m, (1, 3, 256, 256)) / 1e9
    assert 30 < gmacs < 70, gmacs


def test_rank_enhancement_lifts_the_rank() -> None:
    """With q, k fixed, linear attention mixes tokens by an N x N map of rank <= head_dim; RELA adds its
    depthwise conv on V, a banded per-channel map, and the sum is full rank. Probe both with one-hot values."""
    torch.manual_seed(0)
    h = w = 8
    n, d = h * w, 4
    rela = RELA(8, head_dim=d, squeeze_factor=2)
    q, k = torch.randn(1, 1, n, d), torch.randn(1, 1, n, d)
    probes = torch.eye(n)  # column j = a value that is 1 at token j
    with torch.no_grad():
        attn_map = linear_attention(q, k, probes[None, None])[0, 0]  # (N, N): output token x probe
        conv = F.conv2d(probes.T.reshape(n, 1, h, w), rela.rank_conv.weight[:1], padding=2)
        conv_map = conv.reshape(n, n).T
    assert torch.linalg.matrix_rank(attn_map).item() <= d
    assert torch.linalg.matrix_rank(attn_map + conv_map).item() == n
