"""Typer application: the `restore` command and its sub-commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Restore images with MambaIR-family models.", no_args_is_help=True)


def _register_subcommands() -> None:
    """Attach sub-applications that live in their own modules (each imports torch lazily)."""
    try:
        from .models_cmd import models_app
    except ImportError:  # pragma: no cover - during development only
        return
    app.add_typer(models_app, name="models")


@app.command()
def version() -> None:
    """Print the version."""
    from .. import __version__

    typer.echo(__version__)


_register_subcommands()


def main() -> None:
    app()
