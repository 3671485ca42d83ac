"""Shifted-window attention (:mod:`restore_cli.ops.window_attention`): the reference against MambaIRv2's
official layer path on the CPU; the Triton kernel against the reference on a GPU, and through Triton's
interpreter on a CPU where Triton is installed."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest
import torch
from triton_interpreter import run_in_triton_interpreter

from restore_cli.archs.mambair_v2 import WindowAttention
from restore_cli.archs.windows import relative_position_index, shifted_window_mask, window_partition, window_reverse
from restore_cli.ops.window_attention import attention_bias, window_attention, window_attention_reference

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _official(module: WindowAttention, qkv: torch.Tensor, shift: int) -> torch.Tensor:
    """What ``AttentiveLayer`` did before the kernel: roll, cut, attend (with projection), paste, roll back."""
    _, h, w, c3 = qkv.shape
    ws, c = module.window_size, c3 // 3
    if shift:
        qkv = torch.roll(qkv, shifts=(-shift, -shift), dims=(1, 2))
    windows = window_partition(qkv, ws).reshape(-1, ws * ws, c3)
    mask = shifted_window_mask(h, w, ws).to(qkv.dtype) if shift else None
    out = window_reverse(module(windows, relative_position_index(ws), mask).view(-1, ws, ws, c), ws, h, w)
    return torch.roll(out, shifts=(shift, shift), dims=(1, 2)) if shift else out


def _case(b, h, w, heads, head_dim, ws, dtype=torch.float64, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    qkv = torch.randn(b, h, w, 3 * heads * head_dim, generator=gen, dtype=torch.float64)
    table = torch.randn((2 * ws - 1) ** 2, heads, generator=gen, dtype=torch.float64)
    bias = attention_bias(table, relative_position_index(ws))
    return qkv.to(device, dtype), table, bias.to(device)


@pytest.mark.parametrize("shift", [0, 2])
def test_reference_is_the_official_layer_path(shift):
    """The reference (plus the output projection) computes what the official roll/partition/attention does,
    with the bias gathered from the table and the shift mask."""
    torch.manual_seed(0)
    heads, head_dim, ws = 3, 5, 4
    module = WindowAttention(heads * head_dim, ws, heads).double()
    qkv, table, _ = _case(2, 8, 12, heads, head_dim, ws)
    with torch.no_grad():
        module.relative_position_bias_table.copy_(table)
        bias = attention_bias(module.relative_position_bias_table, relative_position_index(ws))
        got = module.proj(window_attention_reference(qkv, bias, num_heads=heads, window_size=ws, shift=shift,
                                                     scale=module.scale))
        expected = _official(module, qkv, shift)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_auto_backend_on_the_cpu_is_the_reference_and_bad_shapes_are_refused():
    qkv, _, bias = _case(1, 8, 8, 2, 4, 4)
    args = dict(num_heads=2, window_size=4, shift=2, scale=0.5)
    torch.testing.assert_close(window_attention(qkv, bias, **args), window_attention_reference(qkv, bias, **args))
    with pytest.raises(ValueError, match="does not split"):
        window_attention(qkv[:, :6], bias, **args)
    with pytest.raises(ValueError, match="unknown window-attention backend"):
        window_attention(qkv, bias, **args, backend="cuda")


GPU_CASES = [  # (batch, H, W, heads, head_dim, ws): MambaIRv2 Base/Large (29), light (12), Small (33)
    (1, 32, 48, 6, 29, 16),
    (2, 16, 32, 4, 12, 16),
    (1, 32, 16, 4, 33, 16),
    (1, 24, 16, 2, 16, 8),
]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("case", GPU_CASES, ids=str)
@pytest.mark.parametrize("shift", [False, True], ids=["plain", "shifted"])
@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-5), (torch.bfloat16, 1e-2),
                                                  (torch.float16, 2e-3)], ids=["fp32", "bf16", "fp16"])
def test_kernel_matches_the_reference(case, shift, dtype, tolerance):
    b, h, w, heads, head_dim, ws = case
    qkv, _, bias = _case(b, h, w, heads, head_dim, ws, dtype=dtype, device="cuda")
    args = dict(num_heads=heads, window_size=ws, shift=ws // 2 if shift else 0, scale=head_dim**-0.5)
    expected = window_attention_reference(qkv.double(), bias.double(), **args)
    with torch.inference_mode():
        got = window_attention(qkv, bias, **args, backend="triton")
    assert got.dtype == dtype and got.shape == expected.shape and got.is_contiguous()
    rel = ((got.double() - expected).norm() / expected.norm()).item()
    assert rel < tolerance, rel


@pytest.mark.gpu
@needs_cuda
def test_kernel_reads_qkv_through_strides_and_runs_as_one_operator_when_compiled():
    """A qkv image that is a slice of a wider tensor (row padding) gives the same result, and inside a
    compiled region the kernel is one opaque operator."""
    heads, head_dim, ws = 6, 29, 16
    qkv, _, bias = _case(1, 32, 32, heads, head_dim, ws, dtype=torch.bfloat16, device="cuda")
    wide = torch.full((*qkv.shape[:-1], qkv.shape[-1] + 6), float("nan"), dtype=qkv.dtype, device="cuda")
    wide[..., : qkv.shape[-1]] = qkv
    args = dict(num_heads=heads, window_size=ws, shift=8, scale=head_dim**-0.5)
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    with torch.inference_mode():
        dense = window_attention(qkv, bias, **args)
        strided = window_attention(wide[..., : qkv.shape[-1]], bias, **args)
        compiled = torch.compile(lambda t: window_attention(t, bias, **args), backend=backend, fullgraph=True)(qkv)
    assert torch.equal(dense, strided)
    assert torch.equal(dense, compiled)
    targets = {str(node.target) for node in graphs[0].graph.nodes if node.op == "call_function"}
    assert "restore.window_attention.default" in targets


INTERPRETER_SCRIPT = textwrap.dedent("""
    import torch
    from restore_cli.archs.windows import relative_position_index
    from restore_cli.ops.window_attention import attention_bias, window_attention_reference
    from restore_cli.ops.window_attention.triton import window_attention_triton

    gen = torch.Generator().manual_seed(0)
    for b, h, w, heads, head_dim, ws, shift, dtype, tolerance in [
            (1, 8, 16, 2, 5, 4, 2, torch.float32, 1e-6), (2, 16, 8, 3, 12, 8, 4, torch.float32, 1e-6),
            (1, 8, 8, 2, 16, 4, 0, torch.float32, 1e-6), (1, 16, 16, 2, 7, 8, 4, torch.float16, 2e-3)]:
        qkv = torch.randn(b, h, w, 3 * heads * head_dim, generator=gen)
        bias = attention_bias(torch.randn((2 * ws - 1) ** 2, heads, generator=gen), relative_position_index(ws))
        args = dict(num_heads=heads, window_size=ws, shift=shift, scale=head_dim ** -0.5)
        expected = window_attention_reference(qkv.double(), bias.double(), **args)
        for block_n in (16, 64):  # several key blocks (the online softmax's rescaling) or one
            got = window_attention_triton(qkv.to(dtype), bias, **args, block_m=16, block_n=block_n)
            rel = ((got.double() - expected).norm() / expected.norm()).item()
            assert rel < tolerance, (b, h, w, heads, head_dim, ws, shift, dtype, block_n, rel)
    print("ok")
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_kernel_in_the_triton_interpreter():
    """The kernel's index arithmetic (roll, windows, the recomputed shift mask) on the CPU, in float32 and
    float16 (the interpreter does not model bfloat16 dots)."""
    assert run_in_triton_interpreter(INTERPRETER_SCRIPT).strip() == "ok"
