"""`restore train --grad-checkpoint`: the same gradients and the same training run, far fewer saved bytes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from restore_cli.archs import from_official
from restore_cli.train import TrainConfig, train
from restore_cli.train.recompute import recompute_blocks_in_backward

TINY = {
    "MambaIR": dict(upscale=2, in_chans=3, embed_dim=30, depths=[2, 2], d_state=4, mlp_ratio=1.0,
                    upsampler="pixelshuffledirect"),
    "LAformer": dict(dim=8, num_blocks=[1, 1, 1, 1], num_dec_blocks=[1, 1, 1], num_refinement_blocks=1,
                     head_dim=8),
}


def _grads_and_saved_bytes(model: torch.nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], int]:
    saved = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += t.numel() * t.element_size()
        return t

    model.zero_grad()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x).square().mean()
    loss.backward()
    return [p.grad.clone() for p in model.parameters() if p.grad is not None], saved


@pytest.mark.parametrize("arch", list(TINY))
def test_same_gradients_with_a_fraction_of_the_saved_activations(arch):
    torch.manual_seed(0)
    model = from_official(arch, TINY[arch]).train()
    x = torch.rand(2, 3, 32, 32)
    plain, plain_bytes = _grads_and_saved_bytes(model, x)
    assert recompute_blocks_in_backward(model) > 0
    assert recompute_blocks_in_backward(model) == 0  # idempotent
    again, recomputed_bytes = _grads_and_saved_bytes(model, x)
    for a, b in zip(plain, again, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert recomputed_bytes < 0.25 * plain_bytes, (recomputed_bytes, plain_bytes)  # measured ~9%
    # evaluation runs the plain forward, with the same output as an unwrapped copy
    unwrapped = from_official(arch, TINY[arch]).eval()
    unwrapped.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), unwrapped(x))


def test_a_deep_copy_runs_its_own_weights():
    """The EMA is a deep copy of the model: its wrapped blocks must compute with the copy's weights."""
    import copy

    torch.manual_seed(0)
    model = from_official("LAformer", TINY["LAformer"]).train()
    recompute_blocks_in_backward(model)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for p in twin.parameters():
            p.mul_(0.5)
    x = torch.rand(1, 3, 16, 16)
    assert not torch.allclose(twin(x), model(x))
    unwrapped = from_official("LAformer", TINY["LAformer"]).train()
    unwrapped.load_state_dict(twin.state_dict())
    torch.testing.assert_close(twin(x), unwrapped(x))


def test_a_run_with_grad_checkpoint_trains_exactly_as_one_without(photos, tmp_path):
    cfg = TrainConfig(task="sr", scale=2, arch="tiny", data=str(photos), patch=16, batch_size=2, steps=3,
                      warmup_steps=1, val_every=1000, ckpt_every=1000, out_dir=str(tmp_path / "plain"),
                      export=False, device="cpu", workers=0)
    plain = train(cfg)
    recomputed = train(replace(cfg, grad_checkpoint=True, out_dir=str(tmp_path / "recomputed")))
    a = torch.load(plain.checkpoint, weights_only=True)
    b = torch.load(recomputed.checkpoint, weights_only=True)
    for key in ("model", "ema"):
        for name, value in a[key].items():
            torch.testing.assert_close(b[key][name], value, rtol=1e-5, atol=1e-6, msg=f"{key}.{name}")
