"""Gradients of the differentiable selective scan against autograd through the per-step reference.

:mod:`restore_cli.ops.scan.autograd` pairs the chunked forward with an analytic chunked backward; the
reference (:mod:`restore_cli.ops.scan.reference`) differentiated by autograd is the spec. float32
gradients must agree to ~1e-4 of each gradient's largest magnitude (they differ only in summation
order), bf16 ones to a bf16 rounding or two; float64 passes ``torch.autograd.gradcheck``. Tiny MambaIR
and MambaIRv2 models then take a training step through the public dispatcher.
"""

from __future__ import annotations

import pytest
import torch

from restore_cli.archs import from_official
from restore_cli.ops.scan import selective_scan
from restore_cli.ops.scan.autograd import selective_scan_backward, selective_scan_fn
from restore_cli.ops.scan.reference import selective_scan_reference
from restore_cli.ops.scan.torch_chunked import selective_scan_chunked

NAMES = ("u", "delta", "A", "B", "C", "D", "delta_bias", "z")
OPTIONS = {  # which optional inputs are given, and softplus
    "plain": ((), False),
    "softplus": ((), True),
    "D-bias-softplus": (("D", "delta_bias"), True),
    "all": (("D", "delta_bias", "z"), True),
    "z-no-softplus": (("z",), False),
}


def make_inputs(batch, dim, n_state, length, groups, option, *, dtype=torch.float32, seed=0):
    """Random inputs (requiring grad) with MambaIR-like decays; ``groups=None`` gives ungrouped B/C.

    Without softplus, delta is drawn positive, so that every decay ``exp(delta * A)`` is <= 1.
    """
    extras, softplus = OPTIONS[option]
    gen = torch.Generator().manual_seed(seed)
    bc_shape = (batch, n_state, length) if groups is None else (batch, groups, n_state, length)
    delta = torch.randn(batch, dim, length, generator=gen) * 0.5 - 1.0 if softplus else torch.rand(
        batch, dim, length, generator=gen) * 0.5  # fmt: skip
    inputs = {
        "u": torch.randn(batch, dim, length, generator=gen),
        "delta": delta,
        "A": -torch.exp(torch.randn(dim, n_state, generator=gen)),
        "B": torch.randn(*bc_shape, generator=gen),
        "C": torch.randn(*bc_shape, generator=gen),
        "D": torch.randn(dim, generator=gen),
        "delta_bias": torch.randn(dim, generator=gen) * 0.1,
        "z": torch.randn(batch, dim, length, generator=gen),
    }
    inputs = {k: v for k, v in inputs.items() if k in ("u", "delta", "A", "B", "C") or k in extras}
    low = ("u", "delta", "B", "C", "z")  # activations; A, D and the bias stay float32 parameters
    return {k: (v.to(dtype) if k in low else v).requires_grad_() for k, v in inputs.items()}, softplus


def gradients(fn, inputs, softplus, dout):
    """Output and gradients of every input of ``fn`` for the output gradient ``dout``."""
    args = {k: v for k, v in inputs.items() if k != "z"}
    out = fn(**args, delta_softplus=softplus, z=inputs.get("z"))
    return out, dict(zip(inputs, torch.autograd.grad(out, list(inputs.values()), dout), strict=True))


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Max absolute error relative to the reference's largest magnitude."""
    scale = ref.float().abs().max().clamp_min(1e-12)
    return ((out.float() - ref.float()).abs().max() / scale).item()


SHAPES = [  # (batch, dim, N, L, groups)
    (2, 8, 4, 37, 4),
    (2, 12, 5, 50, 1),
    (2, 6, 3, 41, None),
    (1, 6, 3, 1, 2),
    (3, 8, 16, 70, 2),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}-d{}-N{}-L{}-G{}".format(*s))
@pytest.mark.parametrize("option", list(OPTIONS))
def test_gradients_match_reference(shape, option):
    inputs, softplus = make_inputs(*shape, option)
    dout = torch.randn(shape[0], shape[1], shape[3], generator=torch.Generator().manual_seed(7))
    ref_out, ref = gradients(selective_scan_reference, inputs, softplus, dout)
    out, ours = gradients(lambda **kw: selective_scan(**kw, backend="torch"), inputs, softplus, dout)
    assert out.grad_fn is not None and "SelectiveScanFn" in type(out.grad_fn).__name__
    assert rel_err(out, ref_out) < 1e-5
    for name in inputs:
        assert ours[name].shape == inputs[name].shape and ours[name].dtype == inputs[name].dtype, name
        if shape[3] == 1 and name == "A":  # A does not act on a one-token sequence: both are zero
            assert ours[name].abs().max() == 0 and ref[name].abs().max() == 0
            continue
        assert rel_err(ours[name], ref[name]) < 1e-4, name


@pytest.mark.parametrize(("chunk", "budget"), [(1, 1), (3, 1), (4, 4 * 40 * 4), (7, 10**4), (64, 10**9)])
def test_chunk_and_block_splits_agree(chunk, budget):
    """Chunks of any length, blocks of one chunk or the whole sequence: the same gradients."""
    inputs, softplus = make_inputs(2, 8, 4, 45, 4, "all", seed=3)
    dout = torch.randn(2, 8, 45, generator=torch.Generator().manual_seed(4))
    _, ref = gradients(selective_scan_reference, inputs, softplus, dout)
    with torch.no_grad():
        grads = selective_scan_backward(dout, *[inputs[k] for k in NAMES[:7]], softplus, inputs["z"],
                                        chunk=chunk, budget=budget)  # fmt: skip
    ours = dict(zip(NAMES, grads, strict=True))
    for name in inputs:
        assert rel_err(ours[name], ref[name]) < 1e-4, name


@pytest.mark.parametrize("option", ["plain", "all"])
def test_bf16_inputs(option):
    inputs, softplus = make_inputs(2, 8, 4, 40, 4, option, dtype=torch.bfloat16, seed=5)
    dout = torch.randn(2, 8, 40, generator=torch.Generator().manual_seed(6)).bfloat16()
    _, ref = gradients(selective_scan_reference, inputs, softplus, dout)
    _, ours = gradients(lambda **kw: selective_scan(**kw, backend="torch"), inputs, softplus, dout)
    for name in inputs:
        assert ours[name].dtype == inputs[name].dtype, name
        assert rel_err(ours[name], ref[name]) < 2e-2, name


def test_gradcheck_float64():
    """float64 runs this module's own chunked forward and backward in float64: exact to ~1e-7."""
    inputs, softplus = make_inputs(1, 4, 3, 9, 2, "all", seed=8)
    inputs = {k: v.detach().double().requires_grad_() for k, v in inputs.items()}
    names = list(inputs)

    def fn(*tensors):
        kw = dict(zip(names, tensors, strict=True))
        z = kw.pop("z")
        return selective_scan_fn(**kw, delta_softplus=softplus, z=z)

    with torch.no_grad():
        out = fn(*inputs.values())
        ref = selective_scan_reference(**{k: v for k, v in inputs.items() if k != "z"},
                                       delta_softplus=softplus, z=inputs["z"])  # fmt: skip
    assert out.dtype == torch.float64 and rel_err(out, ref) < 1e-5
    assert torch.autograd.gradcheck(fn, tuple(inputs.values()), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_inference_keeps_the_fast_path():
    """No grad needed (or grad mode off): the plain chunked forward, no autograd graph."""
    inputs, softplus = make_inputs(2, 8, 4, 30, 4, "all", seed=9)
    plain = {k: v.detach() for k, v in inputs.items()}
    kwargs = {k: v for k, v in plain.items() if k != "z"}
    expected = selective_scan_chunked(**kwargs, delta_softplus=softplus, z=plain["z"])
    out = selective_scan(**kwargs, delta_softplus=softplus, z=plain["z"])
    assert out.grad_fn is None and torch.equal(out, expected)
    with torch.no_grad():
        out = selective_scan(**{k: v for k, v in inputs.items() if k != "z"}, delta_softplus=softplus,
                             z=inputs["z"])  # fmt: skip
    assert out.grad_fn is None and torch.equal(out, expected)


def test_only_some_inputs_require_grad():
    inputs, softplus = make_inputs(2, 8, 4, 30, 4, "D-bias-softplus", seed=10)
    inputs = {k: v.detach().requires_grad_(k in ("A", "D")) for k, v in inputs.items()}
    out = selective_scan(**inputs, delta_softplus=softplus)
    out.square().mean().backward()
    assert inputs["u"].grad is None and inputs["B"].grad is None
    ref_in = {k: v.detach().requires_grad_(k in ("A", "D")) for k, v in inputs.items()}
    selective_scan_reference(**ref_in, delta_softplus=softplus).square().mean().backward()
    assert rel_err(inputs["A"].grad, ref_in["A"].grad) < 1e-4
    assert rel_err(inputs["D"].grad, ref_in["D"].grad) < 1e-4


SCAN_PARAMS = ("A_logs", "Ds", "x_proj_weight", "dt_projs_weight", "dt_projs_bias")
TINY_MODELS = {
    "MambaIR": dict(upscale=2, in_chans=3, embed_dim=30, depths=[1], d_state=4, mlp_ratio=1.0,
                    upsampler="pixelshuffledirect"),
    "MambaIRv2": dict(upscale=2, in_chans=3, embed_dim=24, d_state=4, depths=[1], num_heads=[2],
                      window_size=4, inner_rank=6, num_tokens=10, mlp_ratio=1.0,
                      upsampler="pixelshuffledirect"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(TINY_MODELS))
def test_tiny_model_trains_one_step(name):
    torch.manual_seed(0)
    model = from_official(name, TINY_MODELS[name]).train()
    lq, gt = torch.rand(2, 3, 12, 12), torch.rand(2, 3, 24, 24)
    loss = torch.nn.functional.l1_loss(model(lq), gt)
    loss.backward()
    scan_grads = {n: p.grad for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] in SCAN_PARAMS}
    assert {n.rsplit(".", 1)[-1] for n in scan_grads} == set(SCAN_PARAMS)
    for param, grad in scan_grads.items():
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().max() > 0, param
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    opt.step()
    assert torch.isfinite(model(lq)).all()
