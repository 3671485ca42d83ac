"""Activation recomputation ("gradient checkpointing") for training: ``restore train --grad-checkpoint``.

Why: a training step stores every block's intermediate activations for the backward pass, and the
MambaIR family stores many per token (the four scan routes' projections, gates and convolutions): a light
MambaIR x2 step of 16 patches of 64x64 low-resolution pixels held ~15 GB on the CPU. Recomputing each
repeated block's forward during the backward keeps only the block inputs, for about one more forward
pass of time. The blocks are the ones each network lists for ``--compile`` (``compile_blocks``: MambaIR's
``VSSBlock``, MambaIRv2's ``AttentiveLayer``, ACL's ``LAMABlock``, LAformer's ``LAformerBlock``), so
every architecture gets it without code of its own. Gradients are unchanged (PyTorch's non-reentrant
checkpoint replays the forward with the same RNG state).
"""

from __future__ import annotations

import types
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..engine.compile import compile_targets


def _recomputing_forward(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
    """The block class's forward, under a checkpoint while training with gradients."""
    plain = type(self).forward.__get__(self)
    if self.training and torch.is_grad_enabled():
        return checkpoint(plain, *args, use_reentrant=False, **kwargs)
    return plain(*args, **kwargs)


def recompute_blocks_in_backward(model: nn.Module) -> int:
    """Make every repeated block of ``model`` recompute its activations in the backward pass.

    Only while training with gradients enabled; evaluation and inference run the plain forward. Idempotent;
    state-dict keys do not change, and a deep copy (the EMA's) stays bound to its own blocks. Returns how
    many blocks were wrapped (0: the network lists none).
    """
    count = 0
    for block in compile_targets(model):
        if getattr(block, "_restore_recomputed", False):
            continue
        block.forward = types.MethodType(_recomputing_forward, block)
        block._restore_recomputed = True
        count += 1
    return count


__all__ = ["recompute_blocks_in_backward"]
