"""Training: ``restore train`` as a library (:func:`train`), data pipelines, and export to model cards.

Import cost matters for ``restore --help``, so this package is only imported by the ``train`` command's
body and by user code; it pulls in torch.
"""

from __future__ import annotations

from .export import export_run, load_exported
from .loop import ARCH_PRESETS, Progress, TrainConfig, TrainResult, ValResult, evaluate, train, validation_set

__all__ = [
    "ARCH_PRESETS",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "ValResult",
    "evaluate",
    "export_run",
    "load_exported",
    "train",
    "validation_set",
]
