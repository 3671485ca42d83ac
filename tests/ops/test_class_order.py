"""Tokens grouped by class (:mod:`restore_cli.ops.class_order`): the reference's contract on the CPU; the
counting-sort kernels against it on a GPU (and as one operator when compiled) and through Triton's
interpreter on a CPU where Triton is installed."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest
import torch
from triton_interpreter import run_in_triton_interpreter

from restore_cli.ops.class_order import kernels_pay, stable_class_order, stable_class_order_reference

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# (rows, tokens, classes): one block, several, a partial last block; the last, more blocks (625) than one
# offsets step takes (512)
CASES = [(1, 7, 3), (2, 300, 16), (3, 1000, 64), (1, 600, 256), (2, 513, 5), (1, 20000, 64), (2, 9000, 128),
         (1, 20000, 256)]


def _classes(rows, n, t, seed=0):
    g = torch.Generator().manual_seed(seed)
    classes = torch.randint(0, t, (rows, n), generator=g)
    classes[:, : n // 4] = t // 2  # a long run of one class
    return classes


@pytest.mark.parametrize(("rows", "n", "t"), CASES[:5])
def test_reference_groups_by_class_in_token_order_and_inverts(rows, n, t):
    classes = _classes(rows, n, t)
    order, inverse = stable_class_order_reference(classes, t)
    sorted_classes = classes.gather(1, order)
    assert bool((sorted_classes[:, 1:] >= sorted_classes[:, :-1]).all())
    same = sorted_classes[:, 1:] == sorted_classes[:, :-1]
    assert bool((order[:, 1:] > order[:, :-1])[same].all())  # ties keep token order
    assert torch.equal(order.gather(1, inverse), torch.arange(n).expand(rows, n))


def test_auto_backend_on_the_cpu_is_the_reference_and_bad_backends_are_refused():
    classes = _classes(2, 50, 8)
    got, want = stable_class_order(classes, 8), stable_class_order_reference(classes, 8)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    with pytest.raises(ValueError, match="class-order backend"):
        stable_class_order(classes, 8, backend="cub")


def test_auto_takes_the_kernels_only_where_they_were_measured_faster():
    assert kernels_pay(61440, 64) and kernels_pay(4 * 49152, 64)  # 18 against 28 us, 38 against 51 us
    assert kernels_pay(4 * 49152, 33)  # 33 classes run on a 64-wide class axis
    assert not kernels_pay(4 * 49152, 65)  # ... 65 on a 128-wide one: 64 against 52 us
    assert not kernels_pay(1280 * 720, 128) and not kernels_pay(1280 * 720, 64)  # 341 against 67 us at 128
    assert not kernels_pay(0, 64) and not kernels_pay(100, 0) and not kernels_pay(100, 257)


@needs_cuda
@pytest.mark.parametrize(("rows", "n", "t"), CASES)
def test_kernels_match_the_reference(rows, n, t):
    classes = _classes(rows, n, t).cuda()
    order, inverse = stable_class_order(classes, t, backend="triton")
    want_order, want_inverse = stable_class_order_reference(classes, t)
    assert torch.equal(order, want_order) and torch.equal(inverse, want_inverse)


@needs_cuda
def test_kernels_run_as_one_operator_when_compiled():
    classes = _classes(2, 4000, 64).cuda()

    def both(c):
        order, inverse = stable_class_order(c, 64)
        return order, inverse

    compiled = torch.compile(both, fullgraph=True)
    got, want = compiled(classes), both(classes)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


INTERPRETER_SCRIPT = textwrap.dedent("""
    import torch
    from restore_cli.ops.class_order import stable_class_order_reference
    from restore_cli.ops.class_order.triton import stable_class_order_triton

    g = torch.Generator().manual_seed(0)
    for rows, n, t in CASES:
        classes = torch.randint(0, t, (rows, n), generator=g)
        classes[:, : n // 4] = t // 2
        got, want = stable_class_order_triton(classes, t), stable_class_order_reference(classes, t)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1]), (rows, n, t)
    print("ok")
""")


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_kernels_in_the_triton_interpreter():
    """The kernels' bookkeeping (blocks, partial blocks, offsets steps, wide and narrow class counts) on the CPU."""
    assert run_in_triton_interpreter(f"CASES = {CASES!r}\n" + INTERPRETER_SCRIPT).strip() == "ok"
