"""Planning a batch: which files are inputs, where each output goes, which ones this shard does.

Pure path logic (no torch, no image decoding) so every rule is cheap to test:

- Inputs are files, folders (``recursive`` descends) or glob patterns.
- An explicit output (``-o``) is a file path for exactly one input file, else a folder.
- Without ``-o``, a trailing positional argument is the output only when it is *not* an existing
  file: a shell glob such as ``*.jpg`` expands to existing images, and those are always inputs.
- Outputs keep the input's stem (plus ``suffix``); without an output the result goes beside the input
  with a task suffix. An output path that equals an input path is refused: inputs are never written.
- ``shard`` selects a deterministic subset by a hash of the path relative to its root, so that every
  machine of a Slurm array or a Kubernetes job agrees on the split without talking to the others.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"})
# What reads as a file extension (`.jgp`, `.xyz`, `.v2`) rather than part of a folder name.
_FILE_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Job:
    """One image to restore: where it comes from and where its result goes."""

    source: Path
    target: Path
    relative: str  # path relative to the input root, used for sharding and display


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based) of ``count`` parts."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse ``K/N`` with 1 <= K <= N."""
        try:
            k, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise UsageError(f"--shard {text!r}: expected K/N, e.g. 1/4 for the first of four parts") from None
        if n < 1 or not 1 <= k <= n:
            raise UsageError(f"--shard {text!r}: K must be between 1 and N (got K={k}, N={n})")
        return cls(k, n)

    def owns(self, relative: str) -> bool:
        """Whether this shard processes the file with this relative path."""
        digest = hashlib.sha1(relative.replace(os.sep, "/").encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def split_positionals(args: list[str], output: str | None) -> tuple[list[str], str | None]:
    """Separate inputs from an optional trailing output among positional arguments."""
    if output is not None or len(args) < 2:
        return list(args), output
    last = Path(args[-1])
    if last.is_file() or any(c in args[-1] for c in _GLOB_CHARS):
        return list(args), None  # an existing file (or an unexpanded glob) is always an input
    return list(args[:-1]), args[-1]


def _fixed_prefix(pattern: str) -> Path:
    """The folder a glob pattern starts from: its leading components without glob characters
    (``photos/2024/**/*.jpg`` -> ``photos/2024``)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if any(c in part for c in _GLOB_CHARS):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _expand(arg: str, recursive: bool) -> list[tuple[Path, str]]:
    """(file, path relative to its root) for one input argument; missing paths are kept for errors."""
    path = Path(arg)
    if path.is_file():  # itself, even when its name has glob characters ("scan [2].png")
        return [(path, path.name)]
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(p for p in path.glob(pattern) if p.is_file() and is_image_path(p))
        return [(p, p.relative_to(path).as_posix()) for p in files]
    if any(c in arg for c in _GLOB_CHARS):
        matches = sorted(Path(m) for m in glob.glob(arg, recursive=recursive) if Path(m).is_file())
        if matches:  # relative to the pattern's fixed part, so that `in/**/*.png -r` keeps sub-folders
            root = _fixed_prefix(arg)
            return [(p, p.relative_to(root).as_posix() if p.is_relative_to(root) else p.name) for p in matches]
        # a pattern that matches nothing is kept like a missing file, so it fails with an error (a shell
        # passes an unmatched glob through as it is; a typo must not look like an empty success)
    return [(path, path.name)]


def plan_jobs(
    inputs: list[str],
    output: str | None,
    *,
    suffix: str | None,
    default_suffix: str,
    ext: str | None = None,
    recursive: bool = False,
    shard: Shard | None = None,
    left_out: list[Path] | None = None,
) -> list[Job]:
    """Map input arguments to jobs.

    Args:
        inputs: files, folders or glob patterns.
        output: a file (one input file) or a folder; None writes beside each input.
        suffix: appended to the stem; None means ``default_suffix`` beside the input and nothing in
            an output folder.
        ext: output extension (``png``, ``.jpg``...); None keeps the input's.
        recursive: descend into sub-folders of folder inputs (the sub-folder layout is kept).
        shard: only keep this shard's part.
        left_out: where given, receives the files of folders and patterns that were left out as earlier
            results of this command (see :func:`_earlier_results`).

    Raises:
        UsageError: an output file for several inputs, or no input at all.
    """
    if not inputs:
        raise UsageError("no input given; pass image files, folders or glob patterns")
    expanded: list[tuple[Path, str]] = []
    for arg in inputs:
        expanded.extend(_expand(arg, recursive))
    if output is None:
        earlier = _earlier_results(expanded, inputs, default_suffix if suffix is None else suffix)
        if left_out is not None:
            left_out.extend(earlier)
        expanded = [(src, rel) for src, rel in expanded if src not in earlier]
    seen: set[Path] = set()
    unique = []
    for src, rel in expanded:
        key = src.resolve() if src.exists() else src
        if key not in seen:
            seen.add(key)
            unique.append((src, rel))
    if shard is not None:
        unique = [(s, r) for s, r in unique if shard.owns(r)]
    out_path = Path(output) if output is not None else None
    single_file_output = (
        out_path is not None and is_image_path(out_path) and not out_path.is_dir()
    )
    if out_path is not None and out_path.is_file() and not is_image_path(out_path):
        raise UsageError(f"output {output!r} is an existing file that is not an image; give an image file name "
                         "or a folder")
    if single_file_output and (len(unique) != 1 or Path(inputs[0]).is_dir()):
        what = f"the input {inputs[0]} is a folder" if Path(inputs[0]).is_dir() else f"there are {len(unique)} inputs"
        raise UsageError(f"output {output!r} is a file name, but {what}; give an output folder instead")
    if (
        output is not None and not single_file_output and not out_path.exists()
        and not output.endswith(("/", os.sep)) and _FILE_SUFFIX.fullmatch(out_path.suffix)
        and len(unique) == 1 and not Path(inputs[0]).is_dir()
    ):
        # One input file and a new output named like a file with an unknown extension (a typo such as
        # `out.jgp`): it would silently become a folder holding the result.
        raise UsageError(
            f"output {output!r}: {out_path.suffix!r} is not an image extension (use one of "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))}); for a new folder of that name, end it with '/'"
        )
    if ext is not None:
        ext = ext if ext.startswith(".") else f".{ext}"
        if ext.lower() not in IMAGE_EXTENSIONS:
            raise UsageError(f"--ext {ext}: unsupported; use one of {', '.join(sorted(IMAGE_EXTENSIONS))}")
    jobs = []
    for src, rel in unique:
        out_ext = ext or src.suffix or ".png"
        if single_file_output:
            target = out_path
        elif out_path is not None:
            stem = src.stem + (suffix or "")
            target = out_path / Path(rel).parent / f"{stem}{out_ext}"
        else:
            stem = src.stem + (default_suffix if suffix is None else suffix)
            target = src.parent / f"{stem}{out_ext}"
        jobs.append(Job(src, target, rel))
    return jobs


def _earlier_results(expanded: list[tuple[Path, str]], inputs: list[str], suffix: str) -> set[Path]:
    """Files that an earlier run of the same command wrote beside their inputs: ``name<suffix>.*`` found in
    a folder or by a pattern next to an input ``name.*`` of the same batch. Without this a second
    ``restore sr -s 2 photos/`` would upscale the first run's ``a_x2.png`` to ``a_x2_x2.png`` instead of
    skipping what is done. A file named on the command line is always an input."""
    if not suffix:
        return set()
    named = {Path(arg) for arg in inputs if Path(arg).is_file()}
    stems = {(src.parent, src.stem) for src, _ in expanded}
    return {src for src, _ in expanded
            if src not in named and src.stem.endswith(suffix) and (src.parent, src.stem[: -len(suffix)]) in stems}


# --------------------------------------------------------------------------------------- running
TASK_METRICS = {
    # task: (channel mode, crop border is the scale?) per conventions.md §2
    "sr": ("y", True),
    "realsr": ("y", True),
    "denoise": ("rgb", False),
    "realdenoise": ("rgb", False),
    "jpeg": ("y", False),
    "derain": ("y-matlab", False),
    "deblur": ("rgb", False),
}


def metric_convention(task: str, mode: str | None, crop: int | None, scale: int) -> tuple[str, int]:
    """(channels, border) of a task's PSNR/SSIM: ``mode`` (``--metric``) and ``crop`` (``--crop-border``)
    where given, else the task's convention (:data:`TASK_METRICS`: SR crops ``scale`` pixels)."""
    channel, crop_is_scale = TASK_METRICS.get(task, ("rgb", False))
    return mode or channel, crop if crop is not None else (scale if crop_is_scale else 0)


def describe_convention(channel: str, border: int) -> str:
    """The convention in words, printed beside the numbers: ``Y (BT.601), border 4 px``."""
    name = {"rgb": "RGB", "y": "Y (BT.601)", "y-matlab": "Y (MATLAB rgb2ycbcr)"}.get(channel, channel)
    return f"{name}, border {border} px" if border else f"{name}, no border cropped"


def find_ground_truth(gt: Path, job: Job, single: bool) -> Path | None:
    """The ground-truth file for a job: ``gt`` itself for one input, else the file in ``gt`` whose
    relative path has the same stem (any image extension)."""
    if gt.is_file():
        return gt if single else None
    rel = Path(job.relative)
    folder = gt / rel.parent
    for candidate in sorted(folder.glob(f"{glob.escape(rel.stem)}.*")):
        if is_image_path(candidate):
            return candidate
    return None


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file through a temporary file in the same folder, then rename it into place."""
    import tempfile

    from .io import current_umask

    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600; a report is an ordinary file (the mode an existing one had, else the umask's)
    mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else (0o666 & ~current_umask())
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
