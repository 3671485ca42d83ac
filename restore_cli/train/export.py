"""Export a trained run as ``<id>.safetensors`` plus a TOML model card in the catalog's format.

The card is what makes the weights usable by every other part of ``restore``: it names the task and
its parameter, the official architecture class and constructor kwargs, the weights file
(``bundled = "<id>.safetensors"``), the validation numbers with their convention, and a ``[training]``
table saying how the model was made (data, degradation recipe, steps, time, hardware). Weights are the
EMA weights when the run kept an EMA, stored in fp16 by default (half the size; these networks run
in fp32 after loading with no measurable loss from the fp16 storage).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..degrade import parse_degradation
from ..errors import ModelCardError, UsageError
from .loop import TrainConfig, build_network

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _tomllib() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


# ----------------------------------------------------------------------------------------- TOML writing
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def to_toml(doc: Mapping[str, Any], *, header: str = "") -> str:
    """Write a card: scalars first, then ``[tables]`` (one level of nesting) and ``[[arrays of tables]]``.

    A small writer for the subset cards use, so the package needs no TOML-writing dependency.
    """
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    if lines:
        lines.append("")
    scalars = {k: v for k, v in doc.items() if not _is_table(v) and not _is_table_array(v)}
    for k, v in scalars.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in doc.items():
        if _is_table(v):
            lines += ["", f"[{_toml_key(k)}]"]
            for sk, sv in v.items():
                if not _is_table(sv):
                    lines.append(f"{_toml_key(sk)} = {_toml_value(sv)}")
            for sk, sv in v.items():
                if _is_table(sv):
                    lines += ["", f"[{_toml_key(k)}.{_toml_key(sk)}]"]
                    lines += [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in sv.items()]
    for k, v in doc.items():
        if _is_table_array(v):
            for item in v:
                lines += ["", f"[[{_toml_key(k)}]]"]
                lines += [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"


def _is_table(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list | tuple) and bool(v) and all(isinstance(x, Mapping) for x in v)


# ----------------------------------------------------------------------------------------- export
def default_model_id(cfg: TrainConfig) -> str:
    """``restore-sr-x4``, ``restore-denoise``, ``restore-jpeg``...: the bundled models' id prefix."""
    return f"restore-{cfg.task}-x{cfg.scale}" if cfg.task == "sr" else f"restore-{cfg.task}"


def _task_parameter(cfg: TrainConfig) -> dict[str, int]:
    """The card's task parameter (``scale``, ``sigma`` or ``quality``).

    A blind model records the validation level when that is fixed (the level its numbers are for),
    else the hardest end of its training range (highest sigma, lowest quality); the notes give the range.
    """
    if cfg.task == "sr":
        return {"scale": cfg.scale}
    kind, name = {"denoise": ("noise", "sigma"), "jpeg": ("jpeg", "quality")}.get(cfg.task, (None, None))
    if kind is None or name is None:
        return {}
    val = [d for d in map(parse_degradation, cfg.val_degradations) if d.kind == kind]
    if val and val[0].low is not None and val[0].low == val[0].high:
        return {name: max(1, round(val[0].low))}
    train = [d for d in map(parse_degradation, cfg.degradations) if d.kind == kind and d.high is not None]
    if train:
        d = train[0]
        return {name: max(1, round(d.high if kind == "noise" else d.low))}
    return {name: 25 if kind == "noise" else 20}


def build_card(state: Mapping[str, Any], *, model_id: str, name: str | None, weights_file: str) -> dict[str, Any]:
    """The card (as a dict ready for :func:`to_toml`) for a checkpoint's state."""
    cfg = TrainConfig.from_dict(state["config"])
    data = dict(state.get("data", {}))
    paired = bool(data.get("paired", False))
    history = list(state.get("history", []))
    last = history[-1] if history else None
    scale_text = f" x{cfg.scale}" if cfg.task == "sr" else ""
    card: dict[str, Any] = {
        "id": model_id,
        "name": name or f"{state['arch']['class']} trained with restore train ({cfg.task}{scale_text})",
        "task": cfg.task,
        **_task_parameter(cfg),
        "variant": "bundled",
        "license": cfg.license,
        "bundled": weights_file,
        "notes": (
            f"Trained with `restore train` on {data.get('train', 'unrecorded data')}"
            + ("." if paired else f", degraded on the fly with {', '.join(cfg.degradations)}.")
            + (f" Validated on {data['val']}." if data.get("val") else "")
        ),
        "arch": {"class": state["arch"]["class"], "kwargs": dict(state["arch"]["kwargs"])},
    }
    training: dict[str, Any] = {
        "data": str(data.get("train", "")),
        "degradations": [] if paired else list(cfg.degradations),
        "val_degradations": list(cfg.val_degradations),
        "patch": cfg.patch,
        **({"rescale": cfg.rescale} if cfg.rescale < 1.0 else {}),
        "batch_size": cfg.batch_size,
        "world_size": int(state.get("world", 1)),
        "steps": int(state["step"]),
        "optimizer": f"AdamW lr {cfg.lr:g} (betas {cfg.betas[0]:g}, {cfg.betas[1]:g}, weight decay "
                     f"{cfg.weight_decay:g}), cosine to {cfg.min_lr:g} after {cfg.warmup_steps} warm-up steps",
        "loss": cfg.loss,
        "ema_decay": cfg.ema_decay,
        "grad_clip": cfg.grad_clip,
        "precision": cfg.precision,
        "seed": cfg.seed,
        **({"init": cfg.init} if cfg.init else {}),
        "device": str(state.get("device", "")),
        "time_minutes": round(float(state.get("elapsed_s", 0.0)) / 60.0, 2),
    }
    if last is not None:
        training.update(
            val_images=int(last["images"]),
            baseline_psnr=round(float(last["baseline_psnr"]), 4),
            baseline_ssim=round(float(last["baseline_ssim"]), 4),
        )
        card["metrics"] = [{
            "benchmark": str(data.get("val_name") or "validation"),
            "psnr": round(float(last["psnr"]), 4),
            "ssim": round(float(last["ssim"]), 4),
            "convention": str(last["convention"]),
            "source": f"restore train, step {last['step']}, {'EMA' if cfg.ema_decay > 0 else 'raw'} weights",
        }]
    card["training"] = training
    return card


def export_run(
    checkpoint: str | Path,
    out_dir: str | Path,
    *,
    model_id: str | None = None,
    name: str | None = None,
    fp16: bool | None = None,
) -> tuple[Path, Path]:
    """Write ``<id>.safetensors`` and ``<id>.toml`` for a training checkpoint (``last.pt``).

    Args:
        checkpoint: a checkpoint written by :func:`restore_cli.train.train`.
        out_dir: destination folder (created).
        model_id: card id; default from the run's ``export_id`` or :func:`default_model_id`.
        name: human-readable name for the card.
        fp16: store weights in float16 (default: the run's ``export_fp16``).

    Returns:
        ``(weights_path, card_path)``.

    Raises:
        UsageError: when the id is not a valid card id.
    """
    from ..checkpoint import save_safetensors

    state = torch.load(Path(checkpoint), map_location="cpu", weights_only=True)
    cfg = TrainConfig.from_dict(state["config"])
    model_id = model_id or cfg.export_id or default_model_id(cfg)
    if not _ID_RE.match(model_id):
        raise UsageError(f"model id {model_id!r} must be lowercase letters, digits, '.', '_' or '-'")
    use_fp16 = cfg.export_fp16 if fp16 is None else fp16
    weights = state["ema"] if state.get("ema") is not None else state["model"]
    tensors = {
        k: (v.half() if use_fp16 and v.is_floating_point() else v).contiguous() for k, v in weights.items()
    }
    out = Path(out_dir)
    weights_path = save_safetensors(
        tensors, out / f"{model_id}.safetensors",
        metadata={"format": "pt", "model_id": model_id, "arch": str(state["arch"]["class"])},
    )
    card = build_card(state, model_id=model_id, name=name or cfg.export_name, weights_file=weights_path.name)
    card_path = out / f"{model_id}.toml"
    header = (f"{card['name']}.\nWritten by `restore export` from {Path(checkpoint).name} "
              f"(step {state['step']}); numbers are on the run's held-out validation images.")
    tmp = card_path.with_name(card_path.name + ".tmp")
    tmp.write_text(to_toml(card, header=header), encoding="utf-8")
    tmp.replace(card_path)
    return weights_path, card_path


def load_exported(
    card_path: str | Path, *, device: str | torch.device = "cpu", weights: str | Path | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the network an exported card describes and load its weights (float32, eval mode).

    ``weights`` overrides where they are read from (default: the card's ``bundled`` file beside it;
    a packaged catalog card keeps its file in ``restore_cli/weights/`` instead).

    Returns:
        ``(module, card)``, the card as the parsed TOML dict.

    Raises:
        ModelCardError: when the card names no weights file or the file is missing.
    """
    from safetensors.torch import load_file

    path = Path(card_path)
    card = _tomllib().loads(path.read_text(encoding="utf-8"))
    if weights is None:
        if not card.get("bundled") or not (path.parent / str(card["bundled"])).is_file():
            raise ModelCardError(
                f"{path}: weights file {card.get('bundled', '')!r} not found beside the card; re-export the run"
            )
        weights = path.parent / str(card["bundled"])
    module = build_network(card["arch"]["class"], card["arch"].get("kwargs", {}))
    state = load_file(str(weights))
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    return module.to(device).eval(), card
