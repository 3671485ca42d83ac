"""CUDA gradients of the selective scan (Triton forward + Triton backward, and the PyTorch backward on
CUDA) against autograd through the float32 reference on the CPU.

Skipped without CUDA. Tolerances are relative to each reference gradient's largest magnitude.
"""

from __future__ import annotations

import pytest
import torch

from restore_cli.ops.scan import selective_scan
from restore_cli.ops.scan.reference import selective_scan_reference

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TOLERANCE = {torch.float32: 2e-4, torch.bfloat16: 2e-2}
SHAPES = [  # (batch, dim, N, L, groups)
    (2, 48, 16, 300, 4),
    (2, 20, 10, 129, None),
    (1, 24, 5, 77, 3),
    (1, 36, 16, 1, 1),
    (3, 8, 8, 1000, 2),
]


def make_inputs(batch, dim, n_state, length, groups, *, dtype, full, seed=0):
    """Random CPU inputs with MambaIR-like decays; ``full`` adds D, delta_bias and z."""
    gen = torch.Generator().manual_seed(seed)
    bc_shape = (batch, n_state, length) if groups is None else (batch, groups, n_state, length)
    inputs = {
        "u": torch.randn(batch, dim, length, generator=gen).to(dtype),
        "delta": (torch.randn(batch, dim, length, generator=gen) * 0.5 - 1.0).to(dtype),
        "A": -torch.exp(torch.randn(dim, n_state, generator=gen)),
        "B": torch.randn(*bc_shape, generator=gen).to(dtype),
        "C": torch.randn(*bc_shape, generator=gen).to(dtype),
    }
    if full:
        inputs["D"] = torch.randn(dim, generator=gen)
        inputs["delta_bias"] = torch.randn(dim, generator=gen) * 0.1
        inputs["z"] = torch.randn(batch, dim, length, generator=gen).to(dtype)
    return inputs


def grads(inputs, dout, **kw):
    """Gradients of every input of the scan (softplus on) for the output gradient ``dout``."""
    leaves = {k: v.detach().requires_grad_() for k, v in inputs.items()}
    z = leaves.get("z")
    args = {k: v for k, v in leaves.items() if k != "z"}
    fn = kw.pop("fn", selective_scan)
    out = fn(**args, delta_softplus=True, z=z, **kw)
    return dict(zip(leaves, torch.autograd.grad(out, list(leaves.values()), dout), strict=True))


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Max absolute error relative to the reference's largest magnitude."""
    return ((out.float().cpu() - ref.float()).abs().max() / ref.float().abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}-d{}-N{}-L{}-G{}".format(*s))
@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("full", [False, True], ids=["plain", "D-bias-z"])
@pytest.mark.parametrize("backend", ["triton", "torch"])
def test_cuda_gradients_match_cpu_reference(shape, dtype, full, backend):
    if backend == "triton":
        pytest.importorskip("triton")
    inputs = make_inputs(*shape, dtype=dtype, full=full)
    dout = torch.randn(shape[0], shape[1], shape[3], generator=torch.Generator().manual_seed(1)).to(dtype)
    ref = grads(inputs, dout, fn=selective_scan_reference)
    ours = grads({k: v.cuda() for k, v in inputs.items()}, dout.cuda(), backend=backend)
    for name, ref_grad in ref.items():
        assert ours[name].dtype == inputs[name].dtype and ours[name].is_cuda, name
        if shape[3] == 1 and name == "A":
            assert ours[name].abs().max() == 0
            continue
        assert rel_err(ours[name], ref_grad) < TOLERANCE[dtype], name


def test_triton_and_torch_backwards_agree_at_model_size():
    """A MambaIR-light-sized layer (4 routes x 120 channels, N = 10): the two CUDA backwards agree."""
    pytest.importorskip("triton")
    inputs = {k: v.cuda() for k, v in make_inputs(2, 480, 10, 2304, 4, dtype=torch.float32, full=True).items()}
    dout = torch.randn(2, 480, 2304, device="cuda")
    tri = grads(inputs, dout, backend="triton")
    ref = grads(inputs, dout, backend="torch")
    for name in inputs:
        assert rel_err(tri[name], ref[name].cpu()) < 1e-4, name


def test_tiny_mambair_trains_on_cuda():
    from restore_cli.archs import from_official

    torch.manual_seed(0)
    model = from_official("MambaIR", dict(upscale=2, in_chans=3, embed_dim=30, depths=[1], d_state=4,
                                          mlp_ratio=1.0, upsampler="pixelshuffledirect")).cuda().train()  # fmt: skip
    lq, gt = torch.rand(2, 3, 16, 16, device="cuda"), torch.rand(2, 3, 32, 32, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = torch.nn.functional.l1_loss(model(lq).float(), gt)
    loss.backward()
    for name, param in model.named_parameters():
        if name.rsplit(".", 1)[-1] in ("A_logs", "Ds", "x_proj_weight", "dt_projs_weight", "dt_projs_bias"):
            assert torch.isfinite(param.grad).all() and param.grad.abs().max() > 0, name
