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


_triton_available: bool | None = None


@torch.compiler.assume_constant_result
def triton_available() -> bool:
    """Whether Triton imports and a CUDA device exists. PyTorch's Linux CUDA wheels ship Triton, its Windows
    wheels do not: every kernel's ``use_triton`` asks this, so a GPU without Triton runs the PyTorch
    references (slower, same results) instead of failing on the first kernel. Answered once per process,
    and a constant to ``torch.compile`` (called, not traced: compiled blocks ask it too)."""
    global _triton_available
    if _triton_available is None:
        try:
            import triton  # noqa: F401

            _triton_available = torch.cuda.is_available()
        except Exception:
            _triton_available = False
    return _triton_available


__all__ = ["on_tensor_device", "triton_available"]
