"""Loading checkpoints safely and checking them against an architecture.

Official MambaIR checkpoints are BasicSR pickles (``torch.save({'params': state_dict})``). A pickle can
run arbitrary code when it is loaded, so they are only ever read with ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers. ``.safetensors`` files (our converted cache
and the bundled weights) are read with safetensors, which cannot execute code at all.

Canonicalisation follows the official loader (hub_and_scan.md §1.4): take ``params_ema`` if present,
else ``params``, else the whole object; strip a ``module.`` prefix left by DataParallel.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CheckpointMismatchError, UnknownCheckpointError

if TYPE_CHECKING:
    import torch
    from torch import nn

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
SAFETENSORS_SUFFIXES = (".safetensors",)

#: How many key names an error message lists per category before summarising.
_SHOWN = 5


def _reason(exc: BaseException) -> str:
    """The informative line of torch's weights-only refusal (it names the blocked global)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line:
            return line.rstrip(".")
    return lines[-1].rstrip(".") if lines else type(exc).__name__


def _load_pickle(path: Path) -> Any:
    import torch

    with open(path, "rb") as fh:
        head = fh.read(4)
    if head and not (head.startswith(b"PK") or head.startswith(b"\x80")):  # torch's zip, or a bare pickle
        raise UnknownCheckpointError(f"{path}: not a PyTorch checkpoint (neither torch.save's zip archive nor a "
                                     "pickle); give a .pth/.pt file or a .safetensors file")

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's weights-only unpickler met something that is not a tensor or a plain container.
        raise UnknownCheckpointError(
            f"{path}: refused to load: the pickle contains objects other than tensors ({_reason(exc)}). "
            "restore never runs code from checkpoints; convert it to .safetensors where you trust it."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise UnknownCheckpointError(
            f"{path}: not a readable PyTorch checkpoint ({exc}); the file may be truncated or of another kind."
        ) from None
    except Exception as exc:  # bytes that are no pickle make the unpickler fail in arbitrary ways (KeyError: 101)
        raise UnknownCheckpointError(
            f"{path}: not a PyTorch checkpoint ({exc.__class__.__name__}: {exc}); the file may be of another kind."
        ) from None


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise UnknownCheckpointError(
            f"{path}: not a readable .safetensors file ({exc}); the file may be truncated."
        ) from None


def canonicalize(obj: Any, *, source: object = "<checkpoint>") -> dict[str, torch.Tensor]:
    """Unwrap ``params_ema`` / ``params``, strip ``module.``, and check every value is a tensor.

    Raises:
        UnknownCheckpointError: ``obj`` is not a mapping of names to tensors.
    """
    import torch

    if not isinstance(obj, Mapping):
        raise UnknownCheckpointError(
            f"{source}: holds a {type(obj).__name__}, not a state dict; give a checkpoint of weights."
        )
    for key in ("params_ema", "params"):
        if isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise UnknownCheckpointError(
                f"{source}: entry {key!r} is a {type(value).__name__}, not a tensor; this is not a plain "
                "state dict (expected the weights at the top level or under 'params')."
            )
        name = key[len("module."):] if key.startswith("module.") else key
        out[name] = value
    if not out:
        raise UnknownCheckpointError(f"{source}: the checkpoint holds no tensors.")
    return out


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint file into a plain ``{name: tensor}`` dict on the CPU.

    ``.safetensors`` is read with safetensors; ``.pth``/``.pt``/``.ckpt``/``.bin`` with
    ``torch.load(weights_only=True)``; other suffixes are sniffed (zip or pickle -> torch).

    Raises:
        UnknownCheckpointError: unreadable file, code in the pickle, or no state dict inside.
    """
    path = Path(path)
    if not path.is_file():
        raise UnknownCheckpointError(f"{path}: no such checkpoint file; check the path.")
    if path.suffix.lower() in SAFETENSORS_SUFFIXES:
        return canonicalize(_load_safetensors(path), source=path)
    if path.suffix.lower() not in PICKLE_SUFFIXES:
        with path.open("rb") as fh:
            head = fh.read(8)
        # safetensors starts with a little-endian header length followed by '{'
        if len(head) == 8 and not head.startswith((b"PK", b"\x80")):
            try:
                return canonicalize(_load_safetensors(path), source=path)
            except UnknownCheckpointError:
                pass
    return canonicalize(_load_pickle(path), source=path)


Shape = Sequence[int]


def layout_of(model_or_layout: nn.Module | Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of a module's state dict, or of a mapping of keys to tensors or shapes."""
    if hasattr(model_or_layout, "state_dict") and callable(model_or_layout.state_dict):
        items = model_or_layout.state_dict().items()
    else:
        items = model_or_layout.items()  # type: ignore[union-attr]
    return {k: tuple(v.shape) if hasattr(v, "shape") else tuple(v) for k, v in items}


def _listing(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")


def layout_problems(expected: Mapping[str, Shape], state: Mapping[str, Any]) -> list[str]:
    """Human descriptions of how ``state`` differs from the ``expected`` layout (empty when it fits)."""
    got = layout_of(state)
    want = {k: tuple(v) for k, v in expected.items()}
    missing = [k for k in want if k not in got]
    unexpected = [k for k in got if k not in want]
    shapes = [f"{k} {list(got[k])} != {list(want[k])}" for k in want if k in got and got[k] != want[k]]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_listing(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_listing(unexpected)}")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es): {_listing(shapes)}")
    return problems


def check_layout(model: nn.Module | Mapping[str, Any], state: Mapping[str, Any], *,
                 what: str = "checkpoint", arch: str | None = None) -> None:
    """Check that ``state`` has exactly the keys and shapes of ``model``'s state dict.

    Args:
        model: a built module (the meta device is enough), or a ``{key: shape}`` layout.
        state: the checkpoint's state dict.
        what: names the checkpoint in the message (a path or a model id).
        arch: names the architecture in the message.

    Raises:
        CheckpointMismatchError: listing a few missing and unexpected keys and shape mismatches.
    """
    problems = layout_problems(layout_of(model), state)
    if problems:
        target = arch or type(model).__name__
        raise CheckpointMismatchError(
            f"{what} does not fit {target}: " + "; ".join(problems)
            + ". Check that the architecture and its settings match the checkpoint "
            "(`restore models import FILE` detects them)."
        )


def load_into(module: nn.Module, state: Mapping[str, torch.Tensor], *, what: str = "checkpoint") -> nn.Module:
    """Check the layout, then load ``state`` into ``module`` strictly (casting dtypes as needed)."""
    check_layout(module, state, what=what, arch=type(module).__name__)
    module.load_state_dict(dict(state), strict=True)
    return module


def save_safetensors(state: Mapping[str, torch.Tensor], path: str | Path, *,
                     metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``state`` to ``path`` atomically (a temporary file renamed into place)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # per process: concurrent runs do not clash
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    save_file(tensors, str(tmp), metadata=dict(metadata or {}))
    tmp.replace(path)
    return path


__all__ = [
    "canonicalize",
    "check_layout",
    "layout_of",
    "layout_problems",
    "load_into",
    "load_state_dict",
    "save_safetensors",
]
