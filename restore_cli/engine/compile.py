"""Regional ``torch.compile`` of a network's repeated blocks, for inference.

Why: on a GPU, MambaIR's time outside the scan goes to dozens of small memory-bound kernels per block
(LayerNorms, the SiLU gate, residual scalings, casts, the channel attention's pooling chain). The
compiler fuses each run of them into one kernel. Compiling the whole network would trace every one of
its 36+ blocks; compiling the block *class* once (PyTorch reuses the compiled code for every instance
of the same class, its weights being graph inputs) keeps the first-call cost to one block's worth.

The scans stay our kernels: inside a compiled region they are opaque custom operators
(:mod:`restore_cli.ops.scan.opaque`), and our LayerNorm hands over to the compiler's.

Which blocks: a network class lists them in ``compile_blocks`` (class names), and may add Inductor
options for them in ``compile_options`` (MambaIR v1 pads its 360-byte rows; see its class). Shapes are specialised
(``dynamic=False``): tiles of one size compile once, and PyTorch's recompile limit sends a stream of
ever-new sizes back to eager code rather than compiling forever.
"""

from __future__ import annotations

import torch
import torch._dynamo
from torch import nn

#: The ``torch.compile`` mode of ``--autotune``: Inductor times each GEMM of a block against Triton templates
#: that take the neighbouring pointwise work (bias, GELU, residual adds, casts) into the same kernel, and
#: keeps the fastest; the other kernels' launch settings get coordinate-descent tuning (part of the mode
#: in PyTorch 2.13; :func:`compile_options` sets it whatever the installed version's mode holds). The
#: light models' GEMMs are narrow (K = 48-96) and memory-bound, so the fused templates win there: H100,
#: bf16, 720p wall time, three runs: MambaIRv2 light 11.7-12.2 -> 9.4-10.2 ms, MambaIR light 14.4-14.6
#: -> 13.5-13.8 ms; not MambaIRv2 Base (68.6 -> 69.3 ms: its GEMMs are cuBLAS-sized). Compiling takes
#: minutes instead of ~17 s. "no-cudagraphs": the engine captures its own graphs (:mod:`.graphs`).
AUTOTUNE_MODE = "max-autotune-no-cudagraphs"


def compile_targets(module: nn.Module) -> list[nn.Module]:
    """The submodules of ``module`` whose class is named in its ``compile_blocks`` (empty if none)."""
    names = set(getattr(module, "compile_blocks", ()))
    return [m for m in module.modules() if type(m).__name__ in names]


def compile_options(module: nn.Module, mode: str | None = None) -> dict | None:
    """Inductor options for ``module``'s blocks: those of ``mode`` and the network's ``compile_options``.

    ``torch.compile`` takes a mode or options, not both, so a mode is turned into its options first.
    """
    own = dict(getattr(module, "compile_options", None) or {})
    if mode == AUTOTUNE_MODE:
        own.setdefault("coordinate_descent_tuning", True)
    if not own:
        return None
    if mode is not None:
        import torch._inductor

        own = {**torch._inductor.list_mode_options(mode), **own}
    return own


def compile_blocks(module: nn.Module, *, mode: str | None = None, every_block: bool = False) -> int:
    """Compile, in place, the blocks :func:`compile_targets` lists; returns how many.

    ``mode``: passed to :func:`torch.compile` (``None`` = default; ``"max-autotune-no-cudagraphs"``
    searches kernel configurations at a much longer first call), merged with the network's own options
    (:func:`compile_options`). A network may name blocks that its own kernels run faster than the compiler
    (``compile_pays(block)`` false: MambaIR's full-width blocks); they are left eager unless
    ``every_block`` (A/B measurements, tests of the compiled forms). Idempotent: a block compiled before is
    left as it is. State-dict keys do not change (``nn.Module.compile`` wraps the forward, not the module).
    """
    # Each (block variant, input shape, precision) is one compiled entry of the block class's forward;
    # PyTorch's default limit (8) is soon reached by a process that runs several models or tile sizes,
    # after which blocks silently run eagerly.
    limit = "recompile_limit" if hasattr(torch._dynamo.config, "recompile_limit") else "cache_size_limit"
    setattr(torch._dynamo.config, limit, max(getattr(torch._dynamo.config, limit), 64))
    options = compile_options(module, mode)
    how = {"options": options} if options else {"mode": mode}
    count = 0
    pays = getattr(module, "compile_pays", None)
    for block in compile_targets(module):
        if not every_block and callable(pays) and not pays(block):
            continue
        if not getattr(block, "_restore_compiled", False):
            block.compile(dynamic=False, **how)
            block._restore_compiled = True
            count += 1
    return count


__all__ = ["AUTOTUNE_MODE", "compile_blocks", "compile_options", "compile_targets"]
