"""Typer application: the `restore` command and its sub-commands.

Heavy libraries (torch, OpenCV) are imported inside command bodies so that ``restore --help`` is fast.
"""

from __future__ import annotations

import typer

from .errors import error_boundary

app = typer.Typer(
    help="Restore images: super-resolution, denoising, JPEG artefact removal, deraining and deblurring "
    "with MambaIR-family and linear-attention models.\n\n"
    "Examples: `restore sr --scale 4 input/ out/`, `restore derain photo.png`, "
    "`restore denoise --sigma 25 scans/ clean/`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Click's plain help, not Typer's rich panels: those give options, their --no- forms and types a
    # column each, which left the help text ~17 characters of an 80-column terminal (~45 of 140)
    rich_markup_mode=None,
)


def _register_subcommands() -> None:
    """Attach commands that live in their own modules."""
    from .restore_cmd import register as register_tasks

    register_tasks(app)
    try:
        from .models_cmd import models_app
    except ImportError:  # pragma: no cover - module under construction
        models_app = None
    if models_app is not None:
        app.add_typer(models_app, name="models", help="List, inspect, download, verify and import models.")
    try:
        from .train_cmd import register as register_train
    except ImportError:  # pragma: no cover - module under construction
        register_train = None
    if register_train is not None:
        register_train(app)


@app.command(short_help="Print the versions of restore and of the libraries it runs on.")
def version() -> None:
    """Print the version of restore and of the libraries it runs on (an optional one that is missing is
    named as such, so a bug report says what was installed)."""
    import platform
    from importlib import metadata

    from .. import __version__

    typer.echo(f"restore {__version__} (Python {platform.python_version()}, {platform.system()} "
               f"{platform.machine()})")
    for name in ("torch", "triton", "mamba-ssm", "numpy", "pillow", "opencv-python-headless", "huggingface-hub",
                 "safetensors", "typer", "rich"):
        try:
            typer.echo(f"  {name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            typer.echo(f"  {name}: not installed")


@app.command(short_help="Time every catalog architecture on this GPU against the reference.",
             help="Time every catalog architecture on this GPU: fast path vs the official computation pattern."
             "\n\nEach case runs in its own process, as `restore` runs one network per process (some GPU "
             "settings, such as cuBLAS's workspace, hold for a whole process). Progress goes to stderr, the "
             "table to stdout.")
def bench(
    repeats: int = typer.Option(3, help="Timed runs per case (after two warm-ups)."),
    quick: bool = typer.Option(False, help="Only the 720p cases (skip the 4K ones)."),
    paths: str = typer.Option("reference,fused-fp32,bf16", help="Comma-separated paths, the first the "
                              "baseline: reference, fused-fp32, bf16, bf16+compile, bf16+autotune, fp32+compile."),
) -> None:
    """Time every catalog architecture on this GPU (see the command's help)."""
    with error_boundary():
        import torch

        from ..bench import DEFAULT_CASES, format_table, parse_paths, run_benchmark_isolated
        from ..errors import UsageError

        try:
            chosen = parse_paths(paths)
        except ValueError as exc:
            raise UsageError(f"--paths: {exc}") from None
        if not torch.cuda.is_available():
            raise UsageError("restore bench needs a CUDA device; on the CPU run benchmarks/bench_cpu_models.py")
        cases = [c for c in DEFAULT_CASES if not quick or "4K" not in c.label]
        # each case in a fresh process, as `restore` runs one network (see run_benchmark_isolated)
        rows = run_benchmark_isolated(cases, repeats=repeats, paths=chosen,
                                      log=lambda line: typer.echo(line, err=True))
        typer.echo(format_table(rows, torch.cuda.get_device_name()))


_register_subcommands()


def main() -> None:
    """Console-script entry point."""
    with error_boundary():
        app()
