"""The CLI's single error boundary: a `RestoreError` becomes one line on stderr and an exit status."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.text import Text

from ..errors import RestoreError, UsageError

# markup off: messages carry paths and hints like ".[mamba]" that rich would otherwise read as style tags
_console = Console(stderr=True, soft_wrap=True, markup=False)


@contextlib.contextmanager
def error_boundary() -> Iterator[None]:
    """Print expected errors as ``Error: ...`` (exit 2 for usage errors, 1 otherwise).

    Set ``RESTORE_DEBUG=1`` to see the traceback instead.
    """
    try:
        yield
    except RestoreError as exc:
        if os.environ.get("RESTORE_DEBUG"):
            raise
        _console.print(Text.assemble(("Error:", "red"), f" {exc}"), highlight=False)
        if exc.hint:
            _console.print(f"Hint: {exc.hint}", highlight=False)
        raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None
    except KeyboardInterrupt:
        _console.print("interrupted")
        raise typer.Exit(130) from None
