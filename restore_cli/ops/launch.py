"""Where a Triton kernel runs: on the GPU that holds its tensors, whichever GPU is current.

A Triton launch goes to the thread's *current* CUDA device, not to its arguments' device, and fails
("Pointer argument cannot be accessed from Triton") when they differ: a model on ``cuda:1`` called from
a thread whose current device is ``cuda:0`` (every new thread starts there). Each launch site therefore
makes its tensors' device current for the launch; for CPU tensors (the Triton interpreter) it does nothing.
"""

from __future__ import annotations

import contextlib

import torch


def on_tensor_device(t: torch.Tensor) -> contextlib.AbstractContextManager:
    """A context in which Triton launches go to ``t``'s GPU (a no-op off CUDA)."""
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


__all__ = ["on_tensor_device"]
