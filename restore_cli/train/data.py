"""Training and validation data: clean photos degraded on the fly, or paired degraded/clean folders.

Reproducibility is built into the sampling rather than into saved iterator state. Training sample
``i`` (a global counter over steps, ranks and batch positions) draws everything it needs (which image,
where to crop, which flip, which noise) from ``numpy.random.default_rng([seed, i])``. So:

* resuming at step ``t`` only needs ``t`` (the "sampler position"): the batches that follow are the
  ones an uninterrupted run would have drawn, with any number of loader workers;
* several processes (DDP) take disjoint interleaved indices, like ``DistributedSampler``;
* every epoch visits each image once, in an order permuted per epoch.

Validation inputs are degraded once, deterministically, with a generator seeded per image name, so the
validation numbers of two runs (or two models) are measured on identical inputs.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset, Sampler

from ..degrade import Degradation, apply_degradations
from ..errors import ImageReadError, UsageError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".jp2"})


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name.

    Raises:
        UsageError: when the folder does not exist or holds no images.
    """
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder; point --data/--val at a folder of images")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise UsageError(f"{path}: no images (png, jpg, bmp, tif, webp) found in this folder")
    return files


def read_image(path: str | Path, channels: int) -> np.ndarray:
    """Read an image as ``H x W x channels`` uint8 (EXIF orientation applied; gray = ITU-R 601 luma).

    Raises:
        ImageReadError: when the file cannot be decoded.
    """
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I", "F"):  # 16-bit gray: scale to 8 bits first
                arr = np.asarray(im, dtype=np.float64)
                im = Image.fromarray(np.clip(arr / (257.0 if arr.max() > 255 else 1.0), 0, 255).astype(np.uint8))
            im = im.convert("L" if channels == 1 else "RGB")
            arr = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise ImageReadError(path, f"cannot read the image ({exc}); remove it from the folder") from exc
    return arr[:, :, None] if arr.ndim == 2 else arr


def _stem_key(stem: str, scale: int) -> str:
    """Match ``0001x4`` (DIV2K LR naming) with ``0001``; other stems match exactly."""
    suffix = f"x{scale}"
    return stem[: -len(suffix)] if scale > 1 and stem.endswith(suffix) else stem


def pair_folders(lq_dir: str | Path, gt_dir: str | Path, *, scale: int = 1) -> list[tuple[Path, Path]]:
    """Pair degraded and clean files by file stem (``0001x4.png`` pairs with ``0001.png`` at scale 4).

    Raises:
        UsageError: when a folder is empty, or a degraded image has no clean partner.
    """
    lq_files = list_images(lq_dir)
    gt_by_stem = {p.stem: p for p in list_images(gt_dir)}
    pairs, missing = [], []
    for lq in lq_files:
        gt = gt_by_stem.get(lq.stem) or gt_by_stem.get(_stem_key(lq.stem, scale))
        if gt is None:
            missing.append(lq.name)
        else:
            pairs.append((lq, gt))
    if missing:
        raise UsageError(
            f"{len(missing)} image(s) in {lq_dir} have no file of the same name in {gt_dir} "
            f"(first: {missing[0]}); pair degraded and clean images by file name"
        )
    return pairs


class ImageCache:
    """Decoded images kept in memory as uint8 (decoding a large PNG per patch would starve the GPU)."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._images: dict[Path, np.ndarray] = {}

    def get(self, path: Path) -> np.ndarray:
        img = self._images.get(path)
        if img is None:
            img = read_image(path, self.channels)
            self._images[path] = img
        return img


def _pad_to(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Reflect-pad an image that is smaller than the crop (tiny test images, narrow panoramas)."""
    ph, pw = max(0, h - img.shape[0]), max(0, w - img.shape[1])
    if ph == 0 and pw == 0:
        return img
    return np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect" if min(img.shape[:2]) > 1 else "edge")


def augment(arrays: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random element of the dihedral group (flips and transposition) applied to each array."""
    hflip, vflip, transpose = (bool(b) for b in rng.integers(0, 2, size=3))
    out = []
    for a in arrays:
        if hflip:
            a = a[:, ::-1]
        if vflip:
            a = a[::-1]
        if transpose:
            a = a.transpose(1, 0, 2)
        out.append(np.ascontiguousarray(a))
    return out


def to_chw(img: np.ndarray) -> torch.Tensor:
    """``H x W x C`` float32 numpy -> ``C x H x W`` torch tensor."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))


class _EpochOrder:
    """Maps a global sample index to an image, visiting every image once per epoch in a fresh order."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed
        self._epoch, self._perm = -1, np.arange(n)

    def __call__(self, index: int) -> int:
        epoch = index // self.n
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, np.random.default_rng([self.seed, 1, epoch]).permutation(self.n)
        return int(self._perm[index % self.n])


class SyntheticPairs(Dataset):
    """Random patches of clean images, degraded on the fly: ``dataset[i] -> (lq, gt)`` CHW tensors.

    Args:
        paths: clean images.
        patch: side of the clean (GT) patch; for SR a multiple of ``scale``.
        scale: SR factor (the recipe's ``bicubic`` step shrinks by it).
        channels: 3 (RGB) or 1 (gray models, e.g. JPEG CAR).
        degradations: the recipe, applied in order after cropping and augmenting the clean patch, so
            rain keeps its direction and blur its kernel statistics whatever the augmentation.
        seed: base seed; sample ``i`` uses ``default_rng([seed, i])``.
        rescale: smallest zoom-out factor (0 < rescale <= 1; 1 = off). Each clean patch is then cut
            from a region up to ``1 / rescale`` times larger and area-averaged down to ``patch``, by a
            factor drawn log-uniformly from ``[rescale, 1]``: every photo is seen at a continuum of
            scales, which paid when more scales of the same photos were added as files (a deblurring
            model overfits ~100 photos in a few thousand steps). Shrinking keeps targets sharp, so the
            factor never exceeds 1; the degradations come after it, so blur kernels and rain streaks
            keep their size in pixels.
    """

    def __init__(
        self, paths: Sequence[Path], *, patch: int, scale: int, channels: int,
        degradations: Sequence[Degradation], seed: int = 0, augment: bool = True, rescale: float = 1.0,
    ) -> None:
        if patch % scale:
            raise UsageError(f"--patch {patch} must be a multiple of --scale {scale}")
        if not 0.0 < rescale <= 1.0:
            raise UsageError(f"--rescale {rescale:g} must be in (0, 1]: the smallest zoom-out factor (1 = off)")
        self.paths = list(paths)
        self.patch, self.scale, self.channels = patch, scale, channels
        self.degradations = tuple(degradations)
        self.seed, self.augment, self.rescale = seed, augment, rescale
        self.cache = ImageCache(channels)
        self._order = _EpochOrder(len(self.paths), seed)

    def __len__(self) -> int:
        return len(self.paths)

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The numpy ``(lq, gt)`` pair for global sample ``index`` (HWC float32 in [0, 1])."""
        rng = np.random.default_rng([self.seed, 0, index])
        img = _pad_to(self.cache.get(self.paths[self._order(index)]), self.patch, self.patch)
        side = self.patch
        if self.rescale < 1.0:  # drawn only when on, so runs without it sample exactly as before
            factor = float(np.exp(rng.uniform(np.log(self.rescale), 0.0)))
            side = min(round(self.patch / factor), img.shape[0], img.shape[1])
        y = int(rng.integers(0, img.shape[0] - side + 1))
        x = int(rng.integers(0, img.shape[1] - side + 1))
        region = img[y : y + side, x : x + side]
        if side != self.patch:
            region = cv2.resize(region, (self.patch, self.patch), interpolation=cv2.INTER_AREA)
            region = region.reshape(self.patch, self.patch, img.shape[2])
        gt = region.astype(np.float32) / 255.0
        if self.augment:
            (gt,) = augment([gt], rng)
        lq = apply_degradations(gt, self.degradations, rng, scale=self.scale)
        if lq.ndim == 2:
            lq = lq[:, :, None]
        return lq.astype(np.float32), gt

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        lq, gt = self.sample(index)
        return to_chw(lq), to_chw(gt)


class PairedPatches(Dataset):
    """Random aligned patches of paired degraded/clean images: ``dataset[i] -> (lq, gt)``.

    The LQ patch is ``patch // scale`` pixels; the GT patch is the matching ``patch`` pixels (the GT may
    be larger than ``lq * scale`` by a few pixels, as DIV2K HR images are; the excess is ignored).
    """

    def __init__(
        self, pairs: Sequence[tuple[Path, Path]], *, patch: int, scale: int, channels: int,
        seed: int = 0, augment: bool = True,
    ) -> None:
        if patch % scale:
            raise UsageError(f"--patch {patch} must be a multiple of --scale {scale}")
        self.pairs = list(pairs)
        self.patch, self.scale, self.channels = patch, scale, channels
        self.seed, self.augment = seed, augment
        self.cache = ImageCache(channels)
        self._order = _EpochOrder(len(self.pairs), seed)

    def __len__(self) -> int:
        return len(self.pairs)

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, 0, index])
        lq_path, gt_path = self.pairs[self._order(index)]
        lq_img, gt_img = self.cache.get(lq_path), self.cache.get(gt_path)
        s, lp = self.scale, self.patch // self.scale
        if gt_img.shape[0] < lq_img.shape[0] * s or gt_img.shape[1] < lq_img.shape[1] * s:
            raise UsageError(
                f"{gt_path.name} is {gt_img.shape[1]}x{gt_img.shape[0]} but {lq_path.name} x{s} needs "
                f"{lq_img.shape[1] * s}x{lq_img.shape[0] * s}; check --scale and the pairing"
            )
        gt_img = gt_img[: lq_img.shape[0] * s, : lq_img.shape[1] * s]
        lq_img = _pad_to(lq_img, lp, lp)
        gt_img = _pad_to(gt_img, lp * s, lp * s)
        y = int(rng.integers(0, lq_img.shape[0] - lp + 1))
        x = int(rng.integers(0, lq_img.shape[1] - lp + 1))
        lq = lq_img[y : y + lp, x : x + lp].astype(np.float32) / 255.0
        gt = gt_img[y * s : (y + lp) * s, x * s : (x + lp) * s].astype(np.float32) / 255.0
        if self.augment:
            lq, gt = augment([lq, gt], rng)
        return lq, gt

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        lq, gt = self.sample(index)
        return to_chw(lq), to_chw(gt)


class StepBatchSampler(Sampler[list[int]]):
    """Yields the global sample indices of each step's batch for one rank, from ``start_step`` on.

    Batch ``t`` of rank ``r`` (of ``world``) holds indices ``(t * world + r) * batch_size + b``: the
    same whatever the number of loader workers, and disjoint across ranks.
    """

    def __init__(self, batch_size: int, start_step: int, end_step: int, *, rank: int = 0, world: int = 1) -> None:
        self.batch_size, self.start_step, self.end_step = batch_size, start_step, end_step
        self.rank, self.world = rank, world

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.end_step):
            base = (step * self.world + self.rank) * self.batch_size
            yield list(range(base, base + self.batch_size))

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)


@dataclass(frozen=True)
class ValImage:
    """One validation pair, HWC float32 in [0, 1]; ``lq`` already degraded (or read from a file)."""

    name: str
    lq: np.ndarray
    gt: np.ndarray


def name_seed(seed: int, name: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and a file name (stable across runs, machines and folders)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _center_crop(img: np.ndarray, size: int, multiple: int) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = (min(h, size), min(w, size)) if size > 0 else (h, w)
    ch, cw = ch - ch % multiple, cw - cw % multiple
    y, x = (h - ch) // 2 // multiple * multiple, (w - cw) // 2 // multiple * multiple
    return img[y : y + ch, x : x + cw]


def synthetic_val_set(
    paths: Sequence[Path], *, scale: int, channels: int, degradations: Sequence[Degradation],
    seed: int = 0, crop: int = 0, limit: int = 0,
) -> list[ValImage]:
    """Clean images degraded once with a per-image seed; SR targets cropped to a multiple of the scale.

    Args:
        crop: centre-crop each clean image to at most ``crop`` pixels square first (0 = whole image),
            to bound validation time on large photos.
        limit: use only the first ``limit`` images by name (0 = all).
    """
    out = []
    for path in list(paths)[: limit or None]:
        gt = _center_crop(read_image(path, channels), crop, scale).astype(np.float32) / 255.0
        lq = apply_degradations(gt, degradations, name_seed(seed, path.name), scale=scale)
        out.append(ValImage(path.name, lq if lq.ndim == 3 else lq[:, :, None], gt))
    return out


def paired_val_set(
    pairs: Sequence[tuple[Path, Path]], *, scale: int, channels: int, crop: int = 0, limit: int = 0,
) -> list[ValImage]:
    """Paired validation images; the GT is cropped to ``lq * scale`` as BasicSR's paired loader does."""
    out = []
    for lq_path, gt_path in list(pairs)[: limit or None]:
        lq = _center_crop(read_image(lq_path, channels), crop // scale if crop else 0, 1)
        gt_full = read_image(gt_path, channels)
        if crop:  # crop the GT region matching the LQ centre crop
            full_lq = read_image(lq_path, channels)
            y = (full_lq.shape[0] - lq.shape[0]) // 2
            x = (full_lq.shape[1] - lq.shape[1]) // 2
            gt_full = gt_full[y * scale :, x * scale :]
        gt = gt_full[: lq.shape[0] * scale, : lq.shape[1] * scale]
        out.append(ValImage(lq_path.name, lq.astype(np.float32) / 255.0, gt.astype(np.float32) / 255.0))
    return out
