"""Run-time settings, read from the environment once and passed down explicitly.

Nothing in ``restore`` reads ``os.environ`` after start-up: the CLI calls :meth:`Settings.from_env`
once and hands the frozen result to the library, and tests build a :class:`Settings` pointing at a
temporary folder. That keeps the cache location, the offline switch and the Hub endpoint visible in
every signature that depends on them (style.md §3, "config.py reads the environment once").

Environment variables:

``RESTORE_HOME``
    One folder for everything ``restore`` writes: the weights cache, the checksum records and the user
    cards (``$RESTORE_HOME/cards``). Default: the platform cache folder (``~/.cache/restore`` on Linux)
    for the cache and the platform config folder (``~/.config/restore/cards``) for cards.
``RESTORE_CACHE_DIR``, ``RESTORE_CARDS_DIR``
    Override the two folders separately.
``RESTORE_OFFLINE``, ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``)
    ``1``/``on``/``yes``/``true``: never touch the network; only cached weights are used.
``HF_ENDPOINT``, ``HF_HUB_CACHE``, ``HF_HOME``
    Honoured as huggingface_hub honours them; we resolve them here and pass ``endpoint=`` and
    ``cache_dir=`` explicitly, because huggingface_hub reads its variables only at import time.
``RESTORE_MAX_PIXELS``
    Largest input image, in pixels, that is decoded (a guard against decompression bombs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

_TRUE = frozenset({"1", "on", "yes", "true"})

#: Default pixel limit: twice Pillow's own decompression-bomb threshold (89,478,485 pixels), so that
#: large but honest photographs pass while absurd headers are refused before decoding.
DEFAULT_MAX_PIXELS = 178_956_970


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def env_flag(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    """A yes/no environment variable: ``default`` when unset, else true for 1/on/yes/true."""
    value = (os.environ if env is None else env).get(name)
    return default if value is None or not value.strip() else _is_true(value)


def _platform_dirs(env: Mapping[str, str]) -> tuple[Path, Path]:
    """(cache folder, config folder) for ``restore`` on this platform, without platformdirs."""
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "win32":
        local = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")
        roaming = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
        return local / "restore" / "cache", roaming / "restore"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "restore", home / "Library" / "Application Support" / "restore"
    cache = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return cache / "restore", config / "restore"


def _hf_hub_cache(env: Mapping[str, str]) -> Path:
    """The folder huggingface_hub would use, following its own precedence (hub_and_scan.md §2.2)."""
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".cache"
    return base / "huggingface" / "hub"


@dataclass(frozen=True)
class Settings:
    """Everything ``restore`` takes from its environment.

    Attributes:
        cache_dir: our cache: converted ``.safetensors`` weights, release downloads, checksum records.
        cards_dir: user model cards (``*.toml``), loaded after the packaged ones.
        hub_cache_dir: huggingface_hub's cache (``HF_HUB_CACHE``), shared with other Hub tools.
        hf_endpoint: Hub base URL, or ``None`` for huggingface_hub's default.
        offline: never use the network.
        max_pixels: largest image (width x height) that is decoded.
    """

    cache_dir: Path
    cards_dir: Path
    hub_cache_dir: Path
    hf_endpoint: str | None = None
    offline: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env
        cache_default, config_default = _platform_dirs(env)
        home = env.get("RESTORE_HOME")
        if home:
            cache_default = Path(home).expanduser()
            config_default = Path(home).expanduser()
        cache_dir = Path(env["RESTORE_CACHE_DIR"]).expanduser() if env.get("RESTORE_CACHE_DIR") else cache_default
        cards_dir = (
            Path(env["RESTORE_CARDS_DIR"]).expanduser() if env.get("RESTORE_CARDS_DIR") else config_default / "cards"
        )
        offline = any(_is_true(env.get(k)) for k in ("RESTORE_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
        max_pixels = DEFAULT_MAX_PIXELS
        if env.get("RESTORE_MAX_PIXELS"):
            try:
                max_pixels = int(env["RESTORE_MAX_PIXELS"])
            except ValueError:
                from .errors import UsageError

                raise UsageError(
                    f"RESTORE_MAX_PIXELS={env['RESTORE_MAX_PIXELS']!r} is not an integer; set a pixel count "
                    "such as 100000000 or unset it."
                ) from None
        endpoint = (env.get("HF_ENDPOINT") or "").rstrip("/") or None
        return cls(
            cache_dir=cache_dir,
            cards_dir=cards_dir,
            hub_cache_dir=_hf_hub_cache(env),
            hf_endpoint=endpoint,
            offline=offline,
            max_pixels=max_pixels,
        )

    @classmethod
    def in_folder(cls, root: str | os.PathLike[str], **changes: object) -> Settings:
        """Settings that keep every file under ``root`` (tests, portable installs)."""
        root = Path(root)
        base = cls(cache_dir=root / "cache", cards_dir=root / "cards", hub_cache_dir=root / "hub")
        return replace(base, **changes)  # type: ignore[arg-type]

    @property
    def weights_dir(self) -> Path:
        """Converted, verified ``.safetensors`` files, one folder per model id."""
        return self.cache_dir / "weights"

    @property
    def compile_cache_dir(self) -> Path:
        """``torch.compile``'s kernels and autotuning results for ``--compile`` / ``--autotune`` (PyTorch's
        own default lies under the temporary folder, which many systems empty at boot)."""
        return self.cache_dir / "inductor"

    def keep_compiled_kernels(self) -> None:
        """Point ``torch.compile``'s cache at :attr:`compile_cache_dir` unless ``TORCHINDUCTOR_CACHE_DIR``
        is set (PyTorch reads it at each lookup, so this holds for every later compile of the process)."""
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(self.compile_cache_dir))

    @property
    def downloads_dir(self) -> Path:
        """Files fetched from plain URLs (GitHub release assets), with their ``.part`` files."""
        return self.cache_dir / "downloads"

    @property
    def checksum_db(self) -> Path:
        """JSON record of sha256 values first seen for sources without a published checksum."""
        return self.cache_dir / "checksums.json"


__all__ = ["DEFAULT_MAX_PIXELS", "Settings"]
