"""Architecture registry: official class name -> module class, and builders from official kwargs.

Each family lives in its own module (``mambair``, ``mambair_v2``, ``mambair_unet``; ``acl`` and
``laformer`` for the in-house linear-attention models). Class names, constructor keyword arguments and
``state_dict`` keys follow the official code, so released checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from torch import nn

from ..errors import UnknownArchitectureError

# official class name -> "module:attribute"; imported lazily so `restore --help` stays fast.
_LOCATIONS: Mapping[str, str] = MappingProxyType({
    "MambaIR": "mambair:MambaIR",
    "MambaIRv2": "mambair_v2:MambaIRv2",
    "MambaIRv2Light": "mambair_v2:MambaIRv2Light",
    "MambaIRUNet": "mambair_unet:MambaIRUNet",
    # In-house, unofficial re-implementations (no public code or weights exist).
    "ACL": "acl:ACL",
    "LAformer": "laformer:LAformer",
})

ARCH_NAMES: tuple[str, ...] = tuple(_LOCATIONS)


def get_arch(name: str) -> type[nn.Module]:
    """Return the module class registered under official class ``name``."""
    try:
        module_name, attr = _LOCATIONS[name].split(":")
    except KeyError:
        raise UnknownArchitectureError(
            f"unknown architecture {name!r}; known: {', '.join(ARCH_NAMES)}"
        ) from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, attr)


def build(name: str, **kwargs: Any) -> nn.Module:
    """Build architecture ``name`` with our constructor arguments (no filtering)."""
    return get_arch(name)(**kwargs)


def from_official(class_name: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """Build the model for an official class name from official constructor kwargs, in eval mode.

    Keyword arguments that do not change the network (``img_size``, ``patch_size``, ``use_checkpoint``,
    ``drop_path_rate``, ...) are accepted and ignored, as the official constructors do.
    Lists are accepted wherever the official configs use them.
    """
    cls = get_arch(class_name)
    model = cls(**dict(kwargs))
    return model.eval()


def configure_scan(model: nn.Module, *, backend: str | None = None, fused_cross_scan: bool | None = None) -> None:
    """Set the selective-scan backend and the fast inference paths on every block of ``model``.

    ``fused_cross_scan`` switches MambaIR v1's fused four-route kernel and MambaIRv2's channel-last path
    (its ``fast_inference`` blocks: the scan and the depthwise convolutions reading tokens in place, and
    the window attention as one kernel, :mod:`restore_cli.ops.window_attention`).
    These are runtime switches, not weights: the reference benchmark path uses ``backend="torch"`` or
    ``fused_cross_scan=False`` to compute the way the official code does.
    """
    for module in model.modules():
        if backend is not None and hasattr(module, "scan_backend"):
            module.scan_backend = backend
        if fused_cross_scan is not None and hasattr(module, "fused_cross_scan"):
            module.fused_cross_scan = fused_cross_scan
        if fused_cross_scan is not None and hasattr(module, "fast_inference"):
            module.fast_inference = fused_cross_scan


def constructor_arguments(class_name: str) -> tuple[str, ...]:
    """Names of the explicit constructor parameters of ``class_name``."""
    sig = inspect.signature(get_arch(class_name).__init__)
    return tuple(p for p in sig.parameters if p not in ("self", "kwargs"))


__all__ = ["ARCH_NAMES", "build", "configure_scan", "constructor_arguments", "from_official", "get_arch"]
