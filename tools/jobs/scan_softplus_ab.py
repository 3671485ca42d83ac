r"""The scan kernels with the softplus of round 20 (one exponential and a polynomial) against a previous
version of ``restore_cli/ops/scan/triton.py`` (``ex2`` + ``lg2`` + a series), loaded from a file beside this
script, not committed; make it with::

    git show e52a310:restore_cli/ops/scan/triton.py \
      | sed 's/^from \.\.launch import/from restore_cli.ops.launch import/' > tools/jobs/_scan_prev.py

GPU time from CUDA graphs, interleaved medians, bf16 operands as under autocast; outputs compared.

    python tools/jobs/scan_softplus_ab.py [--swap] [--same] [--candidate=PATH] [path/to/previous/triton.py]

``--swap`` times the round-20 kernel first in each round; ``--same`` compares the previous module with a
second copy of itself (the harness's own bias: two identical kernels must time alike); ``--prefetch=N``
launches the round-20 kernel with that prefetch mode (the previous one keeps its default, 2);
``--candidate=PATH`` times a module file (e.g. the current one with a patch applied) in place of the
package's module, against the previous one.
"""

from __future__ import annotations

import functools
import importlib.util
import statistics
import sys
from pathlib import Path

import torch

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as current


def load(path: Path):
    spec = importlib.util.spec_from_file_location("scan_prev", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randn(gen: torch.Generator, *size: int, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(*size, generator=gen, device="cuda") * scale).to(torch.bfloat16)


def cross_args(height: int, width: int, channels: int, n: int = 16) -> tuple[tuple, dict]:
    """The four-route scan's operands at a model's shape, B and C in SS2D.forward_fused's rows ([B, pad, C,
    pad, rank 12, pad], each part from a multiple of 8)."""
    gen = torch.Generator(device="cuda").manual_seed(0)
    length, n8 = height * width, -(-n // 8) * 8
    proj = randn(gen, 1, length, 4, -(-(2 * n8 + 12) // 8) * 8)
    args = (randn(gen, 1, length, channels), randn(gen, 1, length, 4 * channels, scale=0.5),
            -torch.rand(4 * channels, n, generator=gen, device="cuda") - 0.5, proj[..., :n], proj[..., n8:n8 + n],
            torch.randn(4 * channels, generator=gen, device="cuda"),
            torch.randn(4 * channels, generator=gen, device="cuda") * 0.1, True)
    return args, {"width": width}


def tokens_args(length: int, channels: int, n: int = 16, batch: int = 1) -> tuple[tuple, dict]:
    """MambaIRv2's one-route scan operands: (batch, length, channels) tokens, B and C slices of one row."""
    gen = torch.Generator(device="cuda").manual_seed(1)
    proj = randn(gen, batch, length, 2 * n)
    args = (randn(gen, batch, length, channels), randn(gen, batch, length, channels, scale=0.5),
            -torch.rand(channels, n, generator=gen, device="cuda") - 0.5, proj[..., :n], proj[..., n:],
            torch.randn(channels, generator=gen, device="cuda"),
            torch.randn(channels, generator=gen, device="cuda") * 0.1, True)
    return args, {}


def scan_cases() -> dict[str, tuple[str, tuple[tuple, dict]]]:
    """The A/B scripts' cases: label -> (entry point of the scan module, (args, kwargs)), at the models'
    shapes. (Until round 22 the light cases were E 120 / N 16 for MambaIR light, E 96 / N 16 for
    MambaIRv2 light, and MambaIRv2 Base E 352: not the models' E 72 / N 10, E 48 / N 8 and E 348, which
    is why some changes timed faster for the light models alone than inside them. Until the twenty-fourth
    session the colour-DN case was E 360, two channels per thread; the model has E 216, at one.)"""
    cross, tokens = "selective_scan_cross_tokens_triton", "selective_scan_tokens_triton"
    cases = {
        "MambaIR classic four routes 180x320, E 360": (cross, cross_args(180, 320, 360)),
        "MambaIR light four routes 180x320, E 72, N 10": (cross, cross_args(180, 320, 72, n=10)),
        "colour DN four routes 720x1280, E 216": (cross, cross_args(720, 1280, 216)),
        "MambaIRv2 Base one route 57600, E 348": (tokens, tokens_args(57600, 348)),
        "MambaIRv2 light one route 57600, E 48, N 8": (tokens, tokens_args(57600, 48, n=8)),
    }
    if "--4k" in sys.argv:  # the light model's whole-image 4K output (its input 960x540)
        cases["MambaIR light at 4K, four routes 540x960, E 72, N 10"] = (cross, cross_args(540, 960, 72, n=10))
    if "--realdn" in sys.argv:  # MambaIR's real-denoising UNet, its 72- and 144-channel levels of a 1280x720 image
        cases["MambaIR realdn level 1, four routes 720x1280, E 72"] = (cross, cross_args(720, 1280, 72))
        cases["MambaIR realdn level 2, four routes 360x640, E 144"] = (cross, cross_args(360, 640, 144))
    return cases


def main() -> None:
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(paths[0]) if paths else Path(__file__).with_name("_scan_prev.py")
    prev = load(path)
    candidates = [f.split("=", 1)[1] for f in flags if f.startswith("--candidate=")]
    new = load(path) if "--same" in flags else load(Path(candidates[0])) if candidates else current
    print(f"flags {sorted(flags)}")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| scan, bf16 | previous module | new module | max abs diff |\n|---|---|---|---|")
    for label, (name, (args, kwargs)) in scan_cases().items():
        old_fn, new_fn = getattr(prev, name), getattr(new, name)
        for flag in flags:
            if flag.startswith("--prefetch="):
                new_fn = functools.partial(new_fn, prefetch=int(flag.split("=")[1]))
        order = (("new", new_fn), ("old", old_fn)) if "--swap" in flags else (("old", old_fn), ("new", new_fn))
        with torch.inference_mode():
            diff = (old_fn(*args, **kwargs).float() - new_fn(*args, **kwargs).float()).abs().max().item()
            times: dict[str, list[float]] = {"old": [], "new": []}
            for _ in range(7):
                for key, fn in order:
                    times[key].append(cuda_graph_us(functools.partial(fn, *args, **kwargs), calls=5))
        print(f"| {label} | {statistics.median(times['old']):.0f} us | {statistics.median(times['new']):.0f} us "
              f"| {diff:.1e} |")


if __name__ == "__main__":
    main()
