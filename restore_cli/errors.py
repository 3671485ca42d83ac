"""Every error `restore` raises on purpose.

One root, :class:`RestoreError`, so callers can catch "anything restore refused" in one clause; each
subclass also derives from the matching built-in so generic handlers still work. Messages are one
sentence that names the thing at fault and ends with what to do next: the CLI prints them verbatim.
"""

from __future__ import annotations


class RestoreError(Exception):
    """Base class of all errors raised by restore on purpose."""

    hint: str | None = None


class ImageReadError(RestoreError, OSError):
    """An input image is missing, empty, corrupt, too large or of an unsupported kind."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ImageWriteError(RestoreError, OSError):
    """An output image could not be written."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnknownCheckpointError(RestoreError, ValueError):
    """A checkpoint's keys match no architecture `restore` knows."""


class CheckpointMismatchError(RestoreError, ValueError):
    """A checkpoint does not fit the architecture it was declared for (missing/unexpected keys)."""


class UnknownArchitectureError(RestoreError, KeyError):
    """An architecture name is not in the registry."""

    def __str__(self) -> str:  # KeyError quotes its message; we want plain text
        return str(self.args[0]) if self.args else ""


class ModelCardError(RestoreError, ValueError):
    """A model card is malformed or names an unknown model."""


class WeightsUnavailableError(RestoreError, FileNotFoundError):
    """Weights cannot be had: not cached and the network (or the file) is unavailable."""


class ChecksumMismatchError(RestoreError, OSError):
    """A downloaded or cached file does not have the expected sha256 or size."""


class BackendUnavailableError(RestoreError, RuntimeError):
    """An explicitly requested compute backend cannot run here."""


class UsageError(RestoreError, ValueError):
    """Invalid combination of options or arguments."""
