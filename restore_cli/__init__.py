"""restore: image restoration with MambaIR-family and linear-attention models.

``from restore_cli import Restorer`` is the Python API (see :mod:`restore_cli.restorer`). It is resolved
lazily so that importing the package (and ``restore --help``) does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .restorer import Restorer


def __getattr__(name: str) -> Any:
    if name == "Restorer":
        from .restorer import Restorer

        return Restorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Restorer", "__version__"]
