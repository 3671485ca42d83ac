#!/usr/bin/env python3
"""Measure exported models (their cards) on folders of held-out clean photos, degraded the way training
validated them, and print a Markdown table: the numbers in README come from here.

Each folder's photos are degraded once with the card's validation recipe and the card's seed, exactly as
``restore train`` validates (``restore_cli.train.validation_set``), so every model sees identical inputs
and the run's own validation number is reproduced. Usage::

    python tools/evaluate_card.py runs/deblur/export/restore-deblur-laformer.toml \\
        --folder corpus/val --folder corpus/test --crop 256 --self-ensemble
    python tools/evaluate_card.py restore-derain-laformer --folder corpus/test   # a bundled model

    | model | photos | input | model | gain | x8 self-ensemble | gain |
    ...

``--crop`` centre-crops each photo first (the validation crops of the runs: 256 px); ``--per-image``
adds a row per photo; ``--json FILE`` also writes every number. Runs on the CPU by default (a few
seconds per 256 px crop for the 5M-parameter models; the self-ensemble takes eight times that).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from restore_cli.train import TrainConfig, ValResult, evaluate, load_exported, validation_set


@dataclass(frozen=True)
class Measurement:
    """One model on one folder: plain, and with the self-ensemble when asked."""

    card: str
    folder: str
    plain: ValResult
    ensemble: ValResult | None


def load_card(card: str | Path, device: torch.device) -> tuple[torch.nn.Module, dict]:
    """An exported card (a .toml with its weights beside it) or the id of a bundled catalog model."""
    path = Path(card)
    if path.suffix == ".toml" or path.exists():
        return load_exported(path, device=device)
    from restore_cli import cards

    found = cards.find_card(str(card))
    weights = found.bundled_path()
    if found.path is None or weights is None:
        raise SystemExit(f"{card}: not an exported card and not a bundled model of the catalog")
    return load_exported(found.path, device=device, weights=weights)


def measure(
    card_path: str | Path, folder: Path, *, crop: int, self_ensemble: bool, device: torch.device,
) -> Measurement:
    """The card's model on ``folder``'s photos, degraded with the card's validation recipe and seed."""
    module, card = load_card(card_path, device)
    training = card.get("training", {})
    degradations = tuple(training.get("val_degradations") or training.get("degradations") or ())
    cfg = TrainConfig(
        task=card["task"], scale=int(card.get("scale", 1)), data=str(folder), val=str(folder),
        val_degradations=degradations, val_crop=crop, seed=int(training.get("seed", 0)),
    ).resolved()
    images, _ = validation_set(cfg)
    if not images:
        raise SystemExit(f"{folder}: no images")
    kw = dict(task=cfg.task, scale=cfg.scale, channels=cfg.channels, device=device)
    with torch.no_grad():
        plain = evaluate(module, images, **kw)
        ensemble = evaluate(module, images, self_ensemble=True, **kw) if self_ensemble else None
    return Measurement(str(card.get("id", Path(card_path).stem)), str(folder), plain, ensemble)


def table(rows: Sequence[Measurement], *, per_image: bool) -> str:
    """A Markdown table: input, model and gain in PSNR / SSIM, and the same with the self-ensemble."""
    ens = any(r.ensemble for r in rows)
    head = ["model", "photos", "input", "model", "gain"] + (["x8 self-ensemble", "gain"] if ens else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def pair(p: float, s: float) -> str:
        return f"{p:.2f} / {s:.3f}"

    for r in rows:
        v, e = r.plain, r.ensemble
        cells = [r.card, f"{r.folder} ({v.images})", pair(v.baseline_psnr, v.baseline_ssim), pair(v.psnr, v.ssim),
                 f"{v.psnr - v.baseline_psnr:+.2f} dB"]
        if ens:
            cells += [pair(e.psnr, e.ssim), f"{e.psnr - e.baseline_psnr:+.2f} dB"] if e else ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
        if per_image:
            for i, (name, p, s) in enumerate(v.per_image):
                extra = [pair(e.per_image[i][1], e.per_image[i][2]), ""] if e else (["", ""] if ens else [])
                lines.append("| " + " | ".join(["", name, "", pair(p, s), "", *extra]) + " |")
    lines.append(f"\n{rows[0].plain.convention}" if rows else "")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cards", nargs="+", help="exported model cards (.toml beside the weights) or ids of "
                        "bundled models (restore-deblur-laformer)")
    parser.add_argument("--folder", action="append", type=Path, required=True,
                        help="folder of held-out clean photos (repeatable)")
    parser.add_argument("--crop", type=int, default=256, help="centre crop in px (0 = whole photos)")
    parser.add_argument("--self-ensemble", action="store_true", help="also measure the x8 self-ensemble")
    parser.add_argument("--per-image", action="store_true", help="a row per photo")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    rows = [
        measure(card, folder, crop=args.crop, self_ensemble=args.self_ensemble, device=device)
        for card in args.cards for folder in args.folder
    ]
    print(table(rows, per_image=args.per_image))
    if args.json:
        args.json.write_text(json.dumps([
            {"card": r.card, "folder": r.folder, "plain": r.plain.as_dict(),
             "ensemble": r.ensemble.as_dict() if r.ensemble else None} for r in rows
        ], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
