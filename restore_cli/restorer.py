"""`Restorer`: load a model once, restore many arrays or files.

This is the Python API behind the CLI::

    from restore_cli import Restorer
    r = Restorer.for_task("sr", scale=4)            # catalog default for x4, weights fetched once
    out = r.restore_array(rgb)                      # HxWx3 float32 [0, 1] or uint8/uint16
    r.restore_file("photo.png", "photo_x4.png")
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .engine.model import LoadedModel, parse_devices, wrap_module
from .engine.run import restore_tensor, to_numpy, to_tensor
from .errors import UsageError

# Full-range BT.601 (JPEG's own YCbCr): the CAR models restore the luminance JPEG compressed.
_RGB_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], dtype=np.float32
)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC).astype(np.float32)


def rgb_to_ycc(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 RGB [0, 1] -> Y, Cb, Cr with Cb/Cr centred on 0."""
    return rgb @ _RGB_TO_YCC.T


def ycc_to_rgb(ycc: np.ndarray) -> np.ndarray:
    return ycc @ _YCC_TO_RGB.T


def _resize(plane: np.ndarray, h: int, w: int) -> np.ndarray:
    import cv2

    return cv2.resize(plane, (w, h), interpolation=cv2.INTER_CUBIC)


def resize_to(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """HxWxC float image resized for ``--outscale``: Lanczos (8x8) to enlarge, pixel-area averaging to
    shrink (Lanczos samples a shrinking image without low-pass filtering it, so it aliases)."""
    import cv2

    if (h, w) == image.shape[:2]:
        return image
    shrink = h * w < image.shape[0] * image.shape[1]
    out = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
    return out.reshape(h, w, image.shape[2])


def check_outscale(outscale: float | None) -> None:
    """Refuse a final scale that is not above 0 and at most 16 (UsageError)."""
    if outscale is not None and not 0 < outscale <= 16:
        raise UsageError(f"--outscale {outscale:g}: give a factor above 0 and at most 16")


def as_float_image(array: np.ndarray) -> np.ndarray:
    """uint8/uint16/float HxW[xC] -> float32 HxWxC in [0, 1]."""
    a = np.asarray(array)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    else:
        a = a.astype(np.float32, copy=False)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3):
        raise UsageError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {array.shape}")
    return a


@dataclass
class FileResult:
    """What happened to one file."""

    source: str
    target: str
    status: str  # "ok", "skipped", "failed"
    seconds: float = 0.0
    width: int = 0
    height: int = 0
    error: str | None = None  # why it failed
    psnr: float | None = None
    ssim: float | None = None
    warning: str | None = None  # restored, but something asked for is missing (its ground truth)


class Restorer:
    """A loaded model with its run options."""

    def __init__(
        self,
        model: LoadedModel,
        *,
        tile: int | None = None,
        tile_overlap: int = 32,
        self_ensemble: bool = False,
        batch_size: int | None = None,
        seed: int | None = None,
        official_tiling: bool = False,
        outscale: float | None = None,
    ) -> None:
        check_outscale(outscale)
        self.model = model
        self.outscale = outscale
        self.official_tiling = official_tiling
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.self_ensemble = self_ensemble
        self.batch_size = batch_size
        self.seed = seed

    # ----------------------------------------------------------------------------------- building
    @classmethod
    def from_module(cls, module: torch.nn.Module, *, arch: str = "custom", device: str = "auto",
                    precision: str = "fp32", task: str = "sr", model_id: str = "custom",
                    compile: bool | str = False, **options: Any) -> Restorer:
        """Wrap an already built network (``compile``: see :func:`restore_cli.engine.compile.compile_blocks`;
        on CUDA it also zero-pads a MambaIRv2's widths in place, so its state dict then has padded shapes,
        and in half precision it stores this project's networks' ``nn.Linear`` weights in that dtype, in
        place: pass a copy if you will save the module afterwards)."""
        dev = parse_devices(device)[0]
        return cls(wrap_module(module, arch=arch, device=dev, precision=precision, task=task,
                               model_id=model_id, compile=compile), **options)

    @classmethod
    def from_card(cls, card: Any, *, device: str = "auto", precision: str = "fp32",
                  weights: str | Path | None = None, offline: bool = False, settings: Any = None,
                  progress: Any = None, **options: Any) -> Restorer:
        """Build the card's architecture and load its weights (downloaded and verified once).

        ``card`` is a catalog id or a :class:`restore_cli.cards.ModelCard`; ``weights`` overrides the
        card's weights with a local checkpoint for the same architecture.
        """
        from . import cards, checkpoint, hub
        from .archs import from_official
        from .config import Settings

        settings = settings or Settings.from_env()
        if isinstance(card, str):
            card = cards.find_card(card, settings=settings)
        module = from_official(card.arch_class, card.arch_kwargs)
        if weights is not None:
            state = checkpoint.load_state_dict(Path(weights))
            model_id = f"{card.id} ({Path(weights).name})"
        else:
            path = hub.resolve_weights(card, settings=settings, offline=offline, progress=progress)
            state = checkpoint.load_state_dict(path)
            model_id = card.id
        checkpoint.load_into(module, state)
        return cls.from_module(module, arch=card.arch_class, device=device, precision=precision,
                               task=card.task, model_id=model_id, **options)

    @classmethod
    def from_weights(cls, path: str | Path, *, arch: str | None = None, kwargs: dict | None = None,
                     device: str = "auto", precision: str = "fp32", task: str = "sr",
                     **options: Any) -> Restorer:
        """Load a local checkpoint; the architecture is detected from its keys unless given."""
        from . import checkpoint, detect
        from .archs import from_official

        state = checkpoint.load_state_dict(Path(path))
        if arch is None or kwargs is None:
            detected_arch, detected_kwargs = detect.infer_config(state)
            arch = arch or detected_arch
            kwargs = {**detected_kwargs, **(kwargs or {})}
        module = from_official(arch, kwargs)
        checkpoint.load_into(module, state)
        return cls.from_module(module, arch=arch, device=device, precision=precision, task=task,
                               model_id=Path(path).name, **options)

    @classmethod
    def for_task(cls, task: str, *, scale: int | None = None, sigma: int | None = None,
                 quality: int | None = None, model: str | None = None, fallback: bool = True,
                 settings: Any = None, notify: Any = None, **options: Any) -> Restorer:
        """The catalog's model for a task (or ``model``: an id or a short variant name).

        When the default's weights cannot be had (no network, nothing cached) and ``fallback`` is
        true, the bundled model for the task is used instead and ``notify`` is called with one line.
        """
        from . import cards
        from .config import Settings
        from .errors import WeightsUnavailableError

        settings = settings or Settings.from_env()
        card = cards.select_card(task, scale=scale, sigma=sigma, quality=quality, model=model,
                                 settings=settings)
        try:
            return cls.from_card(card, settings=settings, **options)
        except WeightsUnavailableError:
            if not fallback or model is not None or options.get("weights") is not None:
                raise
            bundled = cards.bundled_fallback(task, scale=scale, sigma=sigma, quality=quality,
                                             settings=settings)
            if bundled is None:
                raise
            if notify is not None:
                notify(f"{card.id} is not cached and cannot be downloaded now; using the bundled model "
                       f"{bundled.id} (smaller; `restore models download {card.id}` once online)")
            return cls.from_card(bundled, settings=settings, **options)

    # ----------------------------------------------------------------------------------- running
    def restore_array(self, array: np.ndarray, *, progress: Any = None) -> np.ndarray:
        """Restore an HxW / HxWx1 / HxWx3 image (uint8, uint16 or float in [0, 1]).

        Returns float32 HxWxC in [0, 1] (clamped), C as in the input, size multiplied by the scale
        (by ``outscale`` when set: the model's output is then resized, see :func:`resize_to`).
        A colour image given to a gray model has its luminance restored and its chroma kept
        (resized for SR); a gray image given to an RGB model is replicated to RGB and back.
        """
        img = as_float_image(array)
        h, w, c = img.shape
        s = self.model.scale
        if self.seed is not None:
            torch.manual_seed(self.seed)
        if self.model.in_channels == 1 and c == 3:
            ycc = rgb_to_ycc(img)
            y = self._run(ycc[:, :, :1], progress)
            chroma = ycc[:, :, 1:]
            if s != 1:
                chroma = np.stack([_resize(chroma[:, :, i], h * s, w * s) for i in range(2)], axis=2)
            out = ycc_to_rgb(np.concatenate([y, chroma], axis=2))
        elif self.model.in_channels == 3 and c == 1:
            from .io import rgb_to_y

            out = rgb_to_y(self._run(np.repeat(img, 3, axis=2), progress))
        else:
            out = self._run(img, progress)
        if self.outscale is not None:
            out = resize_to(out, max(1, round(h * self.outscale)), max(1, round(w * self.outscale)))
        return np.clip(out, 0.0, 1.0)

    def _run(self, img: np.ndarray, progress: Any) -> np.ndarray:
        out = restore_tensor(
            self.model, to_tensor(img), tile=self.tile, overlap=self.tile_overlap,
            self_ensemble=self.self_ensemble, batch_size=self.batch_size, progress=progress,
            official_tiling=self.official_tiling,
        )
        return to_numpy(out)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of what :meth:`restore_array` makes of an image of this size."""
        if self.outscale is not None:
            return max(1, round(height * self.outscale)), max(1, round(width * self.outscale))
        return height * self.model.scale, width * self.model.scale

    def read_input(self, source: str | Path, *, max_pixels: int | None = None) -> Any:
        """Decode ``source`` (an :class:`restore_cli.io.Image`: pixels, alpha, bit depth, ICC, EXIF)."""
        from . import io

        kwargs = {} if max_pixels is None else {"max_pixels": max_pixels}
        return io.read_image(source, **kwargs)

    def write_output(self, target: str | Path, out: np.ndarray, image: Any, **encoding: Any) -> None:
        """Write ``out`` (restored from ``image``) atomically, keeping the input's bit depth, alpha (resized
        with the image), ICC profile and EXIF. ``encoding``: ``quality``, ``png_compression`` (see
        :func:`restore_cli.io.write_image`)."""
        from . import io

        alpha = image.alpha
        if alpha is not None and alpha.shape[:2] != out.shape[:2]:
            alpha = io.resize_alpha(alpha, out.shape[0], out.shape[1])
        io.write_image(target, out, bit_depth=image.bit_depth, alpha=alpha,
                       icc_profile=image.icc_profile, exif=image.exif, **encoding)

    def restore_file(self, source: str | Path, target: str | Path, *, overwrite: bool = False,
                     max_pixels: int | None = None, progress: Any = None) -> FileResult:
        """Read ``source``, restore it and write ``target`` atomically, keeping bit depth, alpha,
        ICC profile and EXIF. An existing ``target`` is skipped unless ``overwrite``."""
        source, target = Path(source), Path(target)
        if target.exists() and not overwrite:
            return FileResult(str(source), str(target), "skipped")
        if target.exists() and source.exists() and target.resolve() == source.resolve():
            raise UsageError(f"{target}: refusing to write over the input; choose another output or --suffix")
        start = time.perf_counter()
        image = self.read_input(source, max_pixels=max_pixels)
        out = self.restore_array(image.rgb, progress=progress)
        self.write_output(target, out, image)
        return FileResult(str(source), str(target), "ok", time.perf_counter() - start,
                          out.shape[1], out.shape[0])
