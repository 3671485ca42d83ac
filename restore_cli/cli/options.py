"""Option aliases shared by the task commands (declared once, reused everywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _one_of(*choices: str):
    """An option callback that refuses values outside ``choices`` as a usage error (exit 2), naming them."""
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check

Paths = Annotated[
    list[str],
    typer.Argument(
        help="Input files, folders or glob patterns, optionally followed by an output file or folder. "
        "An existing file is always an input, so `*.jpg` is safe.",
        show_default=False, metavar="INPUT",
    ),
]
Output = Annotated[str | None, typer.Option("--output", "-o", help="Output file (one input) or folder.")]
Model = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Catalog id (see `restore models list --task TASK`) or a variant: "
                 "bundled (the model shipped with restore; every task); classic, v2-base (sr, denoise, jpeg); "
                 "light, v2-small, v2-large, v2-light (sr); real (sr, denoise: camera photos)."),
]
Weights = Annotated[
    Path | None,
    typer.Option("--weights", help="Local checkpoint (.pth with params/params_ema, or .safetensors) "
                 "to run instead of the catalog's weights."),
]
ModelCardOpt = Annotated[
    Path | None, typer.Option("--model-card", help="Run the model a TOML card describes.")
]
Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders of input folders.")]
Suffix = Annotated[
    str | None,
    typer.Option(help="Appended to the output file stem. Default: a task suffix when writing beside "
                 "the input, none in an output folder."),
]
Ext = Annotated[
    str | None, typer.Option(help="Output format by extension (png, jpg, webp, tif, bmp). Default: the input's.")
]
Overwrite = Annotated[bool, typer.Option(help="Replace existing outputs (default: skip them, so a batch resumes).")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N, or several: cuda:0,cuda:1.")]
Precision = Annotated[str, typer.Option(
    callback=_one_of("fp32", "bf16", "fp16"),
    help="fp32 (true float32, TF32 off), bf16 or fp16 (faster on a GPU: the network body in half precision; "
         "the scan, norms and MambaIRv2's route log-probabilities stay fp32, image-space convolutions fp32 with "
         "TF32 on a GPU).")]
Compile = Annotated[bool, typer.Option(
    help="Fuse each network block's small kernels with torch.compile. On a GPU it pays for the light models "
         "(bf16, H100: MambaIRv2 light 9.2 -> 8.9 ms at 720p and 61.7 -> 60.2 ms at 4K, MambaIR light 10.0 -> 9.9 "
         "ms at 720p) and saves memory for MambaIRv2 Base (4K: 4.3 -> 3.7 GiB at the same 0.43 s); the default "
         "path runs MambaIRv2 Base as fast (720p: 58 ms either way). MambaIR's full-width models (classic SR, "
         "colour denoising, JPEG) stay on the default path's own kernels, which ran them as fast or faster. "
         "The first image of each size waits for the compiler (tens of seconds; cached on disk for the next "
         "run), so it pays on folders and tiled large images. "
         "Not on a CPU: there it measured 4% faster to 27% slower.")]
Autotune = Annotated[bool, typer.Option(
    help="--compile, and time each matrix product against Triton kernels that fold in its neighbouring "
         "elementwise work (torch.compile's max-autotune). Pays for the light models on a GPU (H100, 720p: "
         "MambaIRv2 light 10.5 -> 9.5 ms of GPU time, MambaIR light 14.0 -> 13.3), but the first image of "
         "each size compiles for minutes instead of seconds (cached on disk for the next run).")]
Tile = Annotated[
    int | None,
    typer.Option(min=0, help="Tile side in input pixels, 0 (the whole image) or at least the model's smallest "
                 "useful tile (16 px, or its attention window). Default: chosen from free memory."),
]
TileOverlap = Annotated[int, typer.Option(
    min=0, help="Overlap between tiles in input pixels, blended without seams (at most a quarter of the tile).")]
BatchSize = Annotated[
    int | None,
    typer.Option(min=1, help="Tiles per forward pass; peak memory grows with it (default: 4 on CUDA with --tile, "
                              "else 1; MambaIRv2 with --compile: always 1)."),
]
SelfEnsemble = Annotated[bool, typer.Option(help="Average the 8 flips/rotations (x8 time).")]
Seed = Annotated[int | None, typer.Option(help="Seed for stochastic parts (MambaIRv2 --routing gumbel).")]
Routing = Annotated[
    str,
    typer.Option(callback=_one_of("argmax", "gumbel"),
                 help="MambaIRv2 token routing: argmax (deterministic, default) or gumbel (official sampling)."),
]
Gt = Annotated[
    Path | None,
    typer.Option(help="Ground truth: a file, or a folder matched by file name. Prints PSNR/SSIM."),
]
Report = Annotated[Path | None, typer.Option(
    help="Write per-image results and metrics to a .json or .csv file (by its extension).")]
MetricMode = Annotated[
    str | None,
    typer.Option("--metric", callback=_one_of("rgb", "y", "y-matlab"),
                 help="Channels for PSNR/SSIM: rgb, y or y-matlab. Default: the task's convention."),
]
CropBorder = Annotated[
    int | None, typer.Option(min=0, help="Pixels cropped from each edge before metrics. Default: scale for SR, else 0.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary table.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON line per image on stdout.")]
ShardOpt = Annotated[
    str | None,
    typer.Option(help="Process part K of N (1-based, e.g. 2/8) of the inputs, split by a hash of each "
                 "path, for Slurm arrays, GNU parallel or Kubernetes jobs."),
]
Offline = Annotated[bool, typer.Option(help="Never touch the network; use cached or bundled weights only.")]
NoFallback = Annotated[
    bool, typer.Option("--no-fallback",
                       help="Fail instead of using the bundled model when the default's weights are unavailable.")
]
MaxPixels = Annotated[int | None, typer.Option(
    min=1, help="Refuse inputs with more pixels than this (default 178,956,970, checked before decoding).")]
OfficialTiling = Annotated[
    bool,
    typer.Option(help="The official test procedure (~200 px pieces, 10% overlap, hard paste): use it to "
                 "reproduce published numbers; --tile is then ignored."),
]
OutQuality = Annotated[int, typer.Option(
    min=1, max=100, help="Quality of JPEG and WebP outputs, 1-100 (WebP at 100 is lossless).")]
PngCompression = Annotated[int, typer.Option(
    min=0, max=9, help="zlib level of PNG outputs, 0-9, lossless at every level: 1 writes a 4K photo ~3x faster "
                       "than 6 for a file ~20% larger (on a GPU the writing, not the model, is often the slow part).")]


def examples_epilog(examples: tuple[str, ...]) -> str:
    """A help epilog listing command lines as they are (Click's ``\\b`` marker: no re-wrapping, which would
    break them at hyphens)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {e}" for e in examples)
