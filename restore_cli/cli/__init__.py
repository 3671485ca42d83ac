"""Command-line interface (the only place that imports typer and rich)."""

from __future__ import annotations


def main() -> None:
    from .app import main as _main

    _main()
