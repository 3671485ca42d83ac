"""The LayerNorm kernel under Triton's interpreter on the CPU: runs wherever Triton is installed (CUDA builds
of PyTorch ship it; on a CPU-only machine ``pip install triton`` is enough) and skips otherwise."""

from __future__ import annotations

import importlib.util

import pytest
from triton_interpreter import run_in_triton_interpreter

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")


def test_padded_rows_in_float32_and_float16():
    """Aligned rows (MambaIR's blocks): the LayerNorm of the real channels, zeros after them, in the dtype
    asked. (bfloat16 is left to the GPU test: this Triton's interpreter mishandles bfloat16 casts.)"""
    out = run_in_triton_interpreter("""
import torch
import torch.nn.functional as F
from restore_cli.ops.layer_norm.triton import layer_norm_triton

torch.manual_seed(0)
x = torch.randn(2, 65, 60) * 3 + 1
w, b = torch.randn(60), torch.randn(60)
want = F.layer_norm(x, (60,), w, b)
for width, dtype, tol in [(None, torch.float32, 2e-5), (64, torch.float32, 2e-5), (64, torch.float16, 8e-3),
                          (128, torch.float32, 2e-5)]:
    y = layer_norm_triton(x, w, b, 1e-5, out_width=width, out_dtype=dtype)
    assert y.dtype == dtype and y.shape == (2, 65, width or 60), (y.dtype, y.shape)
    assert (y[..., :60].float() - want).abs().max().item() < tol
    assert not y[..., 60:].any()
# a column of ones in the padding (a following conv's bias as a weight), as the reference writes it
from restore_cli.ops.layer_norm import layer_norm_padded_reference
y = layer_norm_triton(x, w, b, 1e-5, out_width=64, ones_column=61)
assert (y - layer_norm_padded_reference(x, w, b, 1e-5, 64, ones_column=61)).abs().max().item() < 2e-5
assert (y[..., 61] == 1).all() and not y[..., 60].any() and not y[..., 62:].any()
# gated by silu of a strided half (MambaIR's out_norm(y) * silu(z))
z = torch.randn(2, 65, 120)[..., 60:]
y = layer_norm_triton(x, w, b, 1e-5, gate=z)
assert (y - want * F.silu(z)).abs().max().item() < 4e-5
print("ok")
""")
    assert out.strip().endswith("ok")
