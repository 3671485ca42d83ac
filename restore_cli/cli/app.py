"""Typer application: placeholder until the commands land."""

from __future__ import annotations

import typer

app = typer.Typer(help="Restore images with MambaIR-family models.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the version."""
    from .. import __version__

    typer.echo(__version__)


def main() -> None:
    app()
