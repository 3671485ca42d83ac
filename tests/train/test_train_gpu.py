"""Training on a GPU: ``--compile`` through Inductor computes what the eager step computes."""

from __future__ import annotations

import pytest
import torch

from restore_cli.train import TrainConfig, train
from restore_cli.train.loop import checkpoint_path

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

TINY_LAFORMER = {"dim": 16, "num_blocks": [1, 1, 1, 1], "num_dec_blocks": [1, 1, 1], "num_refinement_blocks": 1,
                 "head_dim": 8}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_compiled_training_on_cuda(photos, tmp_path, precision):
    def cfg(name: str, compile: bool) -> TrainConfig:
        return TrainConfig(
            task="deblur", arch="LAformer", arch_kwargs=TINY_LAFORMER, data=str(photos), patch=32, batch_size=4,
            steps=3, warmup_steps=1, val_every=1000, ckpt_every=1000, log_every=1, out_dir=str(tmp_path / name),
            export=False, device="cuda", workers=0, loss="l1+fft", precision=precision, compile=compile,
        )

    eager, compiled = cfg("eager", False), cfg("compiled", True)
    losses: dict[str, list[float]] = {"eager": [], "compiled": []}
    assert train(eager, on_progress=lambda p: losses["eager"].append(p.loss)).completed
    assert train(compiled, on_progress=lambda p: losses["compiled"].append(p.loss)).completed
    # the same patches through the same weights: equal losses up to the kernels' rounding
    rel = 2e-3 if precision == "fp32" else 2e-2
    assert losses["compiled"] == pytest.approx(losses["eager"], rel=rel) and len(losses["eager"]) == 3
    a = torch.load(checkpoint_path(eager.out_dir), weights_only=True)["model"]
    b = torch.load(checkpoint_path(compiled.out_dir), weights_only=True)["model"]
    flat_a = torch.cat([v.flatten().float() for v in a.values()])
    flat_b = torch.cat([b[k].flatten().float() for k in a])
    assert (flat_a - flat_b).norm() / flat_a.norm() < 1e-3


@pytest.mark.parametrize("compile", [False, True])
def test_grad_checkpoint_on_cuda_trains_as_without_it_with_less_memory(photos, tmp_path, compile):
    """--grad-checkpoint on the GPU (the Triton scan's backward inside a recomputed block), eager and
    under torch.compile: the same losses, a lower peak."""
    def run(name: str, grad_checkpoint: bool) -> tuple[list[float], float]:
        cfg = TrainConfig(
            task="sr", scale=2, arch="tiny", data=str(photos), patch=32, batch_size=8, steps=3, warmup_steps=1,
            val_every=1000, ckpt_every=1000, log_every=1, out_dir=str(tmp_path / name), export=False,
            device="cuda", workers=0, precision="fp32", compile=compile, grad_checkpoint=grad_checkpoint,
        )
        losses: list[float] = []
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        assert train(cfg, on_progress=lambda p: losses.append(p.loss)).completed
        return losses, torch.cuda.max_memory_allocated()

    plain, plain_peak = run("plain", False)
    recomputed, recomputed_peak = run("recomputed", True)
    assert recomputed == pytest.approx(plain, rel=2e-3) and len(plain) == 3
    assert recomputed_peak < plain_peak
