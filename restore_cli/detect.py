"""Recognise a checkpoint's architecture and constructor kwargs from its keys and shapes alone.

No network code lives here (style.md §2, after spandrel): each family has ``detect(sd) -> bool`` and
``infer_config(sd) -> (official class, kwargs)``, with key sets chosen so that exactly one detector
matches each released layout (tests/test_detect.py enforces it). Values only need a ``.shape``, so the
functions work on real tensors, meta tensors, or shape stand-ins.

The rules follow mambair.md §8. What the weights cannot tell (``img_size``, ``img_range``, the noise
level or JPEG quality) is filled with the released configs' values or left to the card.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UnknownCheckpointError

StateLike = Mapping[str, Any]

_V1_BLOCK = "layers.0.residual_group.blocks.0."
_V2_LAYER = "layers.0.residual_group.layers.0."

#: Constructor kwargs that do not change the network (FLOPs helpers, training-only switches).
IRRELEVANT_KWARGS = frozenset({"img_size", "patch_size", "drop_rate", "drop_path_rate", "use_checkpoint",
                               "patch_norm", "ape", "norm_layer"})

#: Official constructor defaults of the network-relevant kwargs, used to compare configs that spell
#: a default out with ones that leave it implicit.
_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "MambaIR": {"in_chans": 3, "upscale": 2, "img_range": 1.0, "upsampler": "", "resi_connection": "1conv",
                "mlp_ratio": 2.0, "d_state": 16},
    "MambaIRv2": {"in_chans": 3, "upscale": 2, "img_range": 1.0, "upsampler": "", "resi_connection": "1conv",
                  "qkv_bias": True},
    "MambaIRv2Light": {"in_chans": 3, "upscale": 2, "img_range": 1.0, "upsampler": "", "resi_connection": "1conv",
                       "qkv_bias": True, "convffn_kernel_size": 5},
    "MambaIRUNet": {"inp_channels": 3, "out_channels": 3, "bias": False, "dual_pixel_task": False,
                    "mlp_ratio": 2.0},
}


def _shape(sd: StateLike, key: str) -> tuple[int, ...]:
    return tuple(int(d) for d in sd[key].shape)


def _count(sd: StateLike, pattern: str) -> int:
    """Number of distinct indices ``{n}`` for which some key matches ``pattern`` (regex with one group)."""
    rx = re.compile(pattern)
    found = {int(m.group(1)) for k in sd if (m := rx.match(k))}
    return max(found) + 1 if found else 0


def _ratio(hidden: int, dim: int) -> float:
    """``mlp_ratio`` such that ``int(ratio * dim) == hidden``, as short as possible."""
    for digits in range(1, 7):
        r = round(hidden / dim, digits)
        if int(r * dim) == hidden:
            return r
    return hidden / dim


def _head(sd: StateLike, in_chans: int) -> dict[str, Any]:
    """``upsampler`` and ``upscale`` from the reconstruction head (mambair.md §8, "Head and scale")."""
    if "conv_up1.weight" in sd:
        return {"upsampler": "nearest+conv", "upscale": 4}
    if "conv_before_upsample.0.weight" in sd:
        num_feat = _shape(sd, "conv_before_upsample.0.weight")[0]
        if _shape(sd, "upsample.0.weight")[0] == 9 * num_feat:
            return {"upsampler": "pixelshuffle", "upscale": 3}
        convs = _count(sd, r"^upsample\.(\d+)\.weight$")
        n = len([i for i in range(0, convs, 2) if f"upsample.{i}.weight" in sd])
        return {"upsampler": "pixelshuffle", "upscale": 2**n}
    if "upsample.0.weight" in sd and "conv_last.weight" not in sd:
        out = _shape(sd, "upsample.0.weight")[0]
        return {"upsampler": "pixelshuffledirect", "upscale": math.isqrt(out // in_chans)}
    return {"upscale": 1}


def _depths(sd: StateLike, inner: str) -> list[int]:
    groups = _count(sd, r"^layers\.(\d+)\.")
    return [_count(sd, rf"^layers\.{i}\.residual_group\.{inner}\.(\d+)\.") for i in range(groups)]


# ------------------------------------------------------------------------------------------ MambaIR
def _is_v1(sd: StateLike) -> bool:
    return (f"{_V1_BLOCK}self_attention.A_logs" in sd and "conv_first.weight" in sd
            and "relative_position_index_SA" not in sd)


def detect_mambair(sd: StateLike) -> bool:
    """MambaIR v1 with the full CAB (classic SR, real SR, color DN, JPEG CAR)."""
    return _is_v1(sd) and f"{_V1_BLOCK}conv_blk.cab.3.attention.1.weight" in sd


def detect_mambair_light(sd: StateLike) -> bool:
    """MambaIR v1 lightweight SR with the current (2024-10) depthwise/dilated CAB."""
    return _is_v1(sd) and f"{_V1_BLOCK}conv_blk.cab.5.attention.1.weight" in sd


def _v1_kwargs(sd: StateLike) -> dict[str, Any]:
    embed_dim, in_chans = _shape(sd, "conv_first.weight")[:2]
    hidden = _shape(sd, f"{_V1_BLOCK}self_attention.in_proj.weight")[0] // 2
    kwargs: dict[str, Any] = {
        "in_chans": in_chans,
        "img_range": 1.0,
        "d_state": _shape(sd, f"{_V1_BLOCK}self_attention.A_logs")[1],
        "depths": _depths(sd, "blocks"),
        "embed_dim": embed_dim,
        "mlp_ratio": _ratio(hidden, embed_dim),
        "resi_connection": "1conv",
    }
    kwargs.update(_head(sd, in_chans))
    return kwargs


def infer_mambair(sd: StateLike) -> tuple[str, dict[str, Any]]:
    """Kwargs of a full-CAB MambaIR checkpoint.

    Raises:
        UnknownCheckpointError: the pre-2024-10 light layout (full CAB with the light head).
    """
    kwargs = _v1_kwargs(sd)
    if kwargs.get("upsampler") == "pixelshuffledirect":
        raise UnknownCheckpointError(
            "this is a MambaIR lightweight-SR checkpoint in the layout used before 2024-10 (full CAB "
            "'conv_blk.cab.3.attention' with the 'pixelshuffledirect' head); current MambaIR code replaced that "
            "CAB, so it cannot load (csguoh/MambaIR#69). Download the current light weights instead "
            "(`restore models download mambair-light-x4`)."
        )
    return "MambaIR", kwargs


def infer_mambair_light(sd: StateLike) -> tuple[str, dict[str, Any]]:
    """Kwargs of a current lightweight MambaIR checkpoint."""
    kwargs = _v1_kwargs(sd)
    if kwargs.get("upsampler") != "pixelshuffledirect":
        raise UnknownCheckpointError(
            "this MambaIR checkpoint has the light CAB but not the light 'pixelshuffledirect' head; official "
            "MambaIR ties the two together, so no released configuration builds it."
        )
    return "MambaIR", kwargs


# ---------------------------------------------------------------------------------------- MambaIRv2
def _is_v2(sd: StateLike) -> bool:
    return "relative_position_index_SA" in sd and f"{_V2_LAYER}assm.embeddingB.weight" in sd


def detect_mambairv2(sd: StateLike) -> bool:
    """MambaIRv2 (ConvFFN feed-forward): classic SR Small/Base/Large, color DN, JPEG CAR."""
    return _is_v2(sd) and f"{_V2_LAYER}convffn1.dwconv.depthwise_conv.0.weight" in sd


def detect_mambairv2_light(sd: StateLike) -> bool:
    """MambaIRv2Light (GatedMLP feed-forward): lightweight SR."""
    return _is_v2(sd) and f"{_V2_LAYER}convffn1.sg.conv.weight" in sd


def _v2_kwargs(sd: StateLike) -> dict[str, Any]:
    embed_dim, in_chans = _shape(sd, "conv_first.weight")[:2]
    depths = _depths(sd, "layers")
    inner_rank, d_state = _shape(sd, f"{_V2_LAYER}embeddingA.weight")
    kwargs: dict[str, Any] = {
        "in_chans": in_chans,
        "img_range": 1.0,
        "embed_dim": embed_dim,
        "d_state": d_state,
        "depths": depths,
        "num_heads": [
            _shape(sd, f"layers.{i}.residual_group.layers.0.win_mhsa.relative_position_bias_table")[1]
            for i in range(len(depths))
        ],
        "window_size": math.isqrt(_shape(sd, "relative_position_index_SA")[0]),
        "inner_rank": inner_rank,
        "num_tokens": _shape(sd, f"{_V2_LAYER}assm.embeddingB.weight")[0],
        "mlp_ratio": _ratio(_shape(sd, f"{_V2_LAYER}convffn1.fc1.weight")[0], embed_dim),
        "resi_connection": "1conv",
    }
    dw = f"{_V2_LAYER}convffn1.dwconv.depthwise_conv.0.weight"
    kwargs["convffn_kernel_size"] = _shape(sd, dw)[-1] if dw in sd else 5
    kwargs.update(_head(sd, in_chans))
    return kwargs


def infer_mambairv2(sd: StateLike) -> tuple[str, dict[str, Any]]:
    """Kwargs of a MambaIRv2 checkpoint."""
    return "MambaIRv2", _v2_kwargs(sd)


def infer_mambairv2_light(sd: StateLike) -> tuple[str, dict[str, Any]]:
    """Kwargs of a MambaIRv2Light checkpoint."""
    return "MambaIRv2Light", _v2_kwargs(sd)


# -------------------------------------------------------------------------------------- MambaIRUNet
def detect_mambair_unet(sd: StateLike) -> bool:
    """MambaIRUNet (real-image denoising)."""
    return "patch_embed.proj.weight" in sd and any(k.startswith("encoder_level1.0.") for k in sd)


def infer_mambair_unet(sd: StateLike) -> tuple[str, dict[str, Any]]:
    """Kwargs of a MambaIRUNet checkpoint."""
    dim, inp = _shape(sd, "patch_embed.proj.weight")[:2]
    hidden = _shape(sd, "encoder_level1.0.self_attention.in_proj.weight")[0] // 2
    return "MambaIRUNet", {
        "inp_channels": inp,
        "out_channels": _shape(sd, "output.weight")[0],
        "dim": dim,
        "num_blocks": [_count(sd, rf"^{name}\.(\d+)\.")
                       for name in ("encoder_level1", "encoder_level2", "encoder_level3", "latent")],
        "mlp_ratio": _ratio(hidden, dim),
        "num_refinement_blocks": _count(sd, r"^refinement\.(\d+)\."),
        "bias": "patch_embed.proj.bias" in sd,
        "dual_pixel_task": "skip_conv.weight" in sd,
    }


# ----------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Detector:
    """One architecture family: how to recognise it and how to read its kwargs.

    Attributes:
        family: human name shown in messages.
        official_class: the class :func:`restore_cli.archs.from_official` builds.
        signature: keys whose presence identifies the family, for "nearest family" messages.
    """

    family: str
    official_class: str
    detect: Callable[[StateLike], bool]
    infer_config: Callable[[StateLike], tuple[str, dict[str, Any]]]
    signature: tuple[str, ...]


DETECTORS: tuple[Detector, ...] = (
    Detector("MambaIR", "MambaIR", detect_mambair, infer_mambair,
             ("conv_first.weight", f"{_V1_BLOCK}self_attention.A_logs",
              f"{_V1_BLOCK}conv_blk.cab.3.attention.1.weight")),
    Detector("MambaIR light", "MambaIR", detect_mambair_light, infer_mambair_light,
             ("conv_first.weight", f"{_V1_BLOCK}self_attention.A_logs",
              f"{_V1_BLOCK}conv_blk.cab.5.attention.1.weight", "upsample.0.weight")),
    Detector("MambaIRv2", "MambaIRv2", detect_mambairv2, infer_mambairv2,
             ("relative_position_index_SA", "conv_first.weight", f"{_V2_LAYER}assm.embeddingB.weight",
              f"{_V2_LAYER}convffn1.dwconv.depthwise_conv.0.weight")),
    Detector("MambaIRv2Light", "MambaIRv2Light", detect_mambairv2_light, infer_mambairv2_light,
             ("relative_position_index_SA", "conv_first.weight", f"{_V2_LAYER}assm.embeddingB.weight",
              f"{_V2_LAYER}convffn1.sg.conv.weight")),
    Detector("MambaIRUNet", "MambaIRUNet", detect_mambair_unet, infer_mambair_unet,
             ("patch_embed.proj.weight", "encoder_level1.0.self_attention.A_logs", "latent.0.self_attention.A_logs",
              "output.weight")),
)


def matching_detectors(sd: StateLike) -> list[Detector]:
    """Every detector that claims ``sd`` (exactly one for a known layout)."""
    return [d for d in DETECTORS if d.detect(sd)]


def detect_family(sd: StateLike) -> Detector:
    """The one family ``sd`` belongs to.

    Raises:
        UnknownCheckpointError: no family matches; names the nearest family and its missing keys.
    """
    hits = matching_detectors(sd)
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:  # pragma: no cover - the key sets are disjoint by construction; tested
        raise UnknownCheckpointError(
            f"the checkpoint matches several families ({', '.join(d.family for d in hits)}); pass --arch."
        )
    nearest = max(DETECTORS, key=lambda d: sum(k in sd for k in d.signature))
    missing = [k for k in nearest.signature if k not in sd]
    sample = ", ".join(list(sd)[:3])
    raise UnknownCheckpointError(
        f"the checkpoint's keys match no known architecture (first keys: {sample}); nearest is "
        f"{nearest.family}, which would need {', '.join(missing)}. It may be another model or a GAN "
        "discriminator; pass the right file, or --arch with a card for it."
    )


def infer_config(sd: StateLike, *, arch: str | None = None) -> tuple[str, dict[str, Any]]:
    """``(official class name, constructor kwargs)`` for a state dict.

    Args:
        sd: the (canonicalised) state dict; only keys and ``.shape`` are read.
        arch: when given, the official class the caller expects; a checkpoint of another class is refused.

    Raises:
        UnknownCheckpointError: unknown layout, legacy light layout, or not of class ``arch``.
    """
    detector = detect_family(sd)
    class_name, kwargs = detector.infer_config(sd)
    if arch is not None and arch != class_name:
        raise UnknownCheckpointError(
            f"the checkpoint is a {detector.family} ({class_name}) checkpoint, not {arch}; "
            f"use --arch {class_name} or leave --arch out."
        )
    return class_name, kwargs


def normalize_kwargs(class_name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Network-relevant kwargs with defaults filled in and sequences as lists, for comparisons."""
    out = dict(_DEFAULTS.get(class_name, {}))
    for key, value in kwargs.items():
        if key in IRRELEVANT_KWARGS:
            continue
        out[key] = list(value) if isinstance(value, (list, tuple)) else value
    if class_name == "MambaIRv2Light":
        out.pop("convffn_kernel_size", None)  # GatedMLP ignores it (fixed 5x5)
    for key, value in out.items():
        if isinstance(value, float) and value.is_integer() and key != "mlp_ratio" and key != "img_range":
            out[key] = int(value)
        if key in ("mlp_ratio", "img_range"):
            out[key] = float(value)
    return out


__all__ = [
    "DETECTORS",
    "IRRELEVANT_KWARGS",
    "Detector",
    "detect_family",
    "detect_mambair",
    "detect_mambair_light",
    "detect_mambair_unet",
    "detect_mambairv2",
    "detect_mambairv2_light",
    "infer_config",
    "infer_mambair",
    "infer_mambair_light",
    "infer_mambair_unet",
    "infer_mambairv2",
    "infer_mambairv2_light",
    "matching_detectors",
    "normalize_kwargs",
]
