"""Rows picked by index (:mod:`restore_cli.ops.gather_rows`) and the route classes (argmax,
:func:`restore_cli.ops.class_order.route_classes`): the references on the CPU, the Triton kernels under
Triton's interpreter and on a GPU."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from triton_interpreter import run_in_triton_interpreter

from restore_cli.ops.class_order import route_classes
from restore_cli.ops.gather_rows import gather_rows, gather_rows_reference


def _operands(device: str = "cpu", dtype: torch.dtype = torch.bfloat16):
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randn(2, 37, 20, generator=gen).to(dtype)
    order = torch.stack([torch.randperm(37, generator=gen) for _ in range(2)])
    table = torch.randn(9, 10, generator=gen).to(dtype)
    classes = torch.randint(0, 9, (2, 37), generator=gen)
    proj = torch.randn(2, 37, 24, generator=gen).to(dtype)  # the addend: columns 8..18 of wider rows
    return [t.to(device) for t in (tokens, order, table, classes, proj)]


def test_reference_picks_each_image_s_rows_or_a_table_s() -> None:
    tokens, order, table, classes, proj = _operands()
    picked = gather_rows(tokens, order)
    for b in range(2):
        for i in (0, 5, 36):
            assert torch.equal(picked[b, i], tokens[b, order[b, i]])
    summed = gather_rows(table, classes, addend=proj[..., 8:18])
    assert summed.dtype == torch.float32
    want = proj[..., 8:18].float() + table[classes].float()
    assert torch.equal(summed, want)


def test_bad_shapes_are_refused() -> None:
    tokens, order, table, classes, proj = _operands()
    with pytest.raises(ValueError, match="cannot pick"):
        gather_rows(tokens[:1], order)
    with pytest.raises(ValueError, match="addend"):
        gather_rows(table, classes, addend=proj)
    with pytest.raises(ValueError, match="unknown gather backend"):
        gather_rows(tokens, order, backend="cuda")


def test_route_classes_are_the_first_argmax() -> None:
    logits = torch.tensor([[0.5, 2.0, 2.0, -1.0], [3.0, 3.0, 3.0, 3.0]])
    assert route_classes(logits).tolist() == [1, 0]
    x = torch.randn(2, 50, 16)
    assert torch.equal(route_classes(x), torch.log_softmax(x, -1).argmax(-1))


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_triton_kernels_in_the_interpreter() -> None:
    out = run_in_triton_interpreter("""
import torch
from restore_cli.ops.gather_rows import gather_rows_reference
from restore_cli.ops.gather_rows.triton import gather_rows_triton
from restore_cli.ops.class_order.triton import route_classes_triton

gen = torch.Generator().manual_seed(0)
tokens = torch.randn(2, 37, 20, generator=gen)
order = torch.stack([torch.randperm(37, generator=gen) for _ in range(2)])
assert torch.equal(gather_rows_triton(tokens, order), gather_rows_reference(tokens, order))
table = torch.randn(9, 10, generator=gen).bfloat16()
classes = torch.randint(0, 9, (2, 37), generator=gen)
proj = torch.randn(2, 37, 24, generator=gen).bfloat16()
got = gather_rows_triton(table, classes, addend=proj[..., 8:18])
assert got.dtype == torch.float32 and torch.equal(got, gather_rows_reference(table, classes, addend=proj[..., 8:18]))
logits = torch.randn(3, 41, 64, generator=gen).bfloat16()
logits[0, 0, 7] = logits[0, 0, 30] = 100  # a tie: the first wins
got = route_classes_triton(logits)
assert got.dtype == torch.int64 and torch.equal(got, logits.argmax(-1)) and got[0, 0].item() == 7
assert torch.equal(route_classes_triton(logits[..., :50]), logits[..., :50].argmax(-1))  # 50 of 64 columns
print("ok")
""")
    assert out.strip().endswith("ok")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_triton_kernels_on_a_gpu(dtype: torch.dtype) -> None:
    pytest.importorskip("triton")
    tokens, order, table, classes, proj = _operands("cuda", dtype)
    with torch.no_grad():
        assert torch.equal(gather_rows(tokens, order), gather_rows_reference(tokens, order))
        got = gather_rows(table, classes, addend=proj[..., 8:18])
        assert torch.equal(got, gather_rows_reference(table, classes, addend=proj[..., 8:18]))
        big = torch.randn(1, 57600, 352, device="cuda").to(dtype)  # MambaIRv2 Base's aligned 720p rows
        rows = torch.randperm(57600, device="cuda")[None]
        assert torch.equal(gather_rows(big, rows), big[:, rows[0]])
        logits = torch.randn(2, 57600, 64, device="cuda").to(dtype)
        assert torch.equal(route_classes(logits), logits.argmax(-1))
