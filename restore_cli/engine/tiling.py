"""Tile plans and blend windows: pure integer geometry and numpy weights, no torch, no I/O.

Two plans live here:

* :func:`plan_tiles`, the general tiler. Tiles are at most ``tile`` pixels per side, overlap by at
  least ``overlap``, and all have one size (so they batch): the fewest tiles that fit, each shrunk to
  the least size that still covers (:func:`balanced_length`), are spread evenly from the first edge
  to the last (so the "last tile" is shifted inward and every junction gets about the same overlap).
  Each :class:`Tile` carries its blend ramps, and :func:`tile_window` turns them into weights that
  form an exact **partition of unity**: over the whole output the windows of all tiles add up to 1
  (up to float round-off), with a raised-cosine cross-fade inside each overlap and weight 1 on the
  image borders. Seams vanish and no division by a weight canvas is needed; :class:`BlendCanvas`
  accumulates them (the engine's output canvas).
* :func:`official_partition`, the MambaIR "200 px" test-time partition (``MambaIRModel.test`` in
  csguoh/MambaIR ``basicsr/models/mambair_model.py``): reflect pad right/bottom, ``h // 200 + 1``
  pieces per axis, a ``split // 10`` shave, hard paste. Published benchmark numbers were produced with
  it, so reproducing them needs exactly these rectangles.

Why cross-fade windows at all: a restoration network's output near a tile edge is worse than in the
interior (it lacks context), and hard seams show as lines. Ramps are centred in each overlap, so the
pixels next to a tile edge get weight 0 whenever the overlap is wider than the ramp.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    "BlendCanvas",
    "OfficialPartition",
    "OfficialPiece",
    "Ramps",
    "Rect",
    "Tile",
    "balanced_length",
    "blend",
    "official_partition",
    "plan_tiles",
    "tile_window",
]


class Rect(NamedTuple):
    """A half-open pixel rectangle ``[y0, y1) x [x0, x1)``."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def height(self) -> int:
        """Rows covered."""
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        """Columns covered."""
        return self.x1 - self.x0

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` for indexing the last two axes: ``a[..., *rect.slices]``."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def scaled(self, scale: int) -> Rect:
        """The same rectangle in an image ``scale`` times larger."""
        return Rect(self.y0 * scale, self.y1 * scale, self.x0 * scale, self.x1 * scale)


class Ramps(NamedTuple):
    """One axis of a tile's blend window, in absolute input coordinates.

    The weight is 0 before ``rise_start``, rises over ``[rise_start, rise_stop)``, is 1 until
    ``fall_start``, falls over ``[fall_start, fall_stop)`` and is 0 after. At an image border the ramp
    is empty (start == stop == the border), so the weight is flat to the edge.
    """

    rise_start: int
    rise_stop: int
    fall_start: int
    fall_stop: int


@dataclass(frozen=True)
class Tile:
    """One tile of a :func:`plan_tiles` plan.

    Attributes:
        rect: the input rectangle the model sees.
        row, col: grid position (row-major order in the plan).
        ramps_y, ramps_x: the blend ramps along each axis (see :class:`Ramps`).
    """

    rect: Rect
    row: int
    col: int
    ramps_y: Ramps
    ramps_x: Ramps

    @property
    def y0(self) -> int:
        """First input row."""
        return self.rect.y0

    @property
    def y1(self) -> int:
        """One past the last input row."""
        return self.rect.y1

    @property
    def x0(self) -> int:
        """First input column."""
        return self.rect.x0

    @property
    def x1(self) -> int:
        """One past the last input column."""
        return self.rect.x1

    def out_rect(self, scale: int = 1) -> Rect:
        """Where this tile's model output lands in the output canvas."""
        return self.rect.scaled(scale)


class _Span(NamedTuple):
    start: int
    stop: int
    ramps: Ramps


def balanced_length(n: int, tile: int, overlap: int) -> int:
    """The span length of an axis of ``n`` pixels: the fewest spans of at most ``tile`` that overlap by
    ``overlap`` or more, each shrunk to the least length that still covers (rounded up to a multiple of
    8 where that stays within ``tile``: the models pad to such multiples).

    Why shrink: full-length spans waste work in the overlaps. 540 rows in tiles of 270 (overlap 32)
    need 3 spans; at 270 each they compute 810 rows, at 208 each 624 (a 4K x4 input in tiles of 270:
    25% fewer pixels). The count, and so the number of seams, is the same.
    """
    if tile >= n:
        return n
    count = _span_count(n, tile, overlap)
    least = -(-(n + (count - 1) * overlap) // count)
    return min(tile, -(-least // 8) * 8)


def _span_count(n: int, length: int, overlap: int) -> int:
    """The fewest spans of ``length`` (< ``n``) that cover ``[0, n)`` overlapping by >= ``overlap`` (>= 2)."""
    return -(-(n - overlap) // (length - overlap))


def _axis_plan(n: int, tile: int, overlap: int) -> list[_Span]:
    """Split ``[0, n)`` into the fewest spans of at most ``tile`` overlapping by >= ``overlap``, with
    ramps; all spans have the length :func:`balanced_length` gives.

    Starts are spread evenly (integer rounding, so consecutive strides differ by at most 1). Each
    junction's ramp has width ``min(overlap, smallest stride)`` and is centred in the actual overlap;
    that width keeps a span's rising and falling ramps from crossing, which is what makes the windows
    sum to exactly one.
    """
    if tile >= n:
        return [_Span(0, n, Ramps(0, 0, n, n))]
    tile = balanced_length(n, tile, overlap)
    count = _span_count(n, tile, overlap)  # the same count as with spans of the full `tile`
    starts = [(k * (n - tile) + (count - 1) // 2) // (count - 1) for k in range(count)]
    width = min(overlap, min(b - a for a, b in itertools.pairwise(starts)))
    zones = []
    for k in range(count - 1):
        lo, hi = starts[k + 1], starts[k] + tile  # the actual overlap of spans k and k + 1
        a = lo + (hi - lo - width) // 2
        zones.append((a, a + width))
    spans = []
    for k, s in enumerate(starts):
        rise = zones[k - 1] if k > 0 else (s, s)
        fall = zones[k] if k < count - 1 else (s + tile, s + tile)
        spans.append(_Span(s, s + tile, Ramps(rise[0], rise[1], fall[0], fall[1])))
    return spans


def plan_tiles(h: int, w: int, tile: int | None, overlap: int = 0) -> list[Tile]:
    """Cover an ``h`` x ``w`` image with tiles of at most ``tile`` pixels per side.

    Args:
        h, w: image size in input pixels.
        tile: the largest tile side; ``None`` means one tile for the whole image. An axis no longer
            than ``tile`` gets a single tile spanning it.
        overlap: the least overlap between neighbouring tiles (also the blend ramp width, except when
            the tiles are so crowded that the ramps would cross: then ramps shrink to the stride).

    Returns:
        Tiles in row-major order; every pixel is covered, and along each axis that needed splitting
        all tiles have one length, at most ``tile``: the least that the fewest tiles need
        (:func:`balanced_length`), so overlaps waste no more work than the blend needs.

    Raises:
        ValueError: ``h``/``w``/``tile`` not positive, or ``overlap`` not in ``[0, tile)``.
    """
    if h <= 0 or w <= 0:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    if tile is None:
        tile = max(h, w)
    if tile <= 0:
        raise ValueError(f"tile must be positive, got {tile}")
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile) = [0, {tile}), got {overlap}")
    rows = _axis_plan(h, tile, overlap)
    cols = _axis_plan(w, tile, overlap)
    return [
        Tile(Rect(ry.start, ry.stop, cx.start, cx.stop), i, j, ry.ramps, cx.ramps)
        for i, ry in enumerate(rows)
        for j, cx in enumerate(cols)
    ]


def _window_1d(start: int, stop: int, ramps: Ramps, scale: int) -> np.ndarray:
    """The weights of one axis in output pixels (float64).

    A ramp over output pixels ``[a, b)`` uses ``sin^2(pi/2 * t)`` with ``t = (q - a + 0.5) / (b - a)``;
    the falling ramp of the neighbour is ``1 - `` the same value at the same pixel, so the pair sums to 1.
    """
    q = np.arange(start * scale, stop * scale, dtype=np.float64) + 0.5
    out = np.ones_like(q)

    def rise(a: int, b: int) -> np.ndarray:
        a, b = a * scale, b * scale
        if b <= a:
            return (q >= a).astype(np.float64)
        t = np.clip((q - a) / (b - a), 0.0, 1.0)
        return np.sin(0.5 * np.pi * t) ** 2

    # An empty ramp at the span's own edge (an image border) evaluates to all ones: flat to the edge.
    out *= rise(ramps.rise_start, ramps.rise_stop)
    out *= 1.0 - rise(ramps.fall_start, ramps.fall_stop)
    return out


def tile_window(tile: Tile, scale: int = 1, dtype: type = np.float32) -> np.ndarray:
    """The exact blend weights of ``tile``'s output, shape ``(height * scale, width * scale)``.

    Multiply the model's output for the tile by this (broadcast over channels) and add it into the
    output canvas at ``tile.out_rect(scale)``. The windows of one :func:`plan_tiles` plan sum to one
    over the whole output, so the sum *is* the blended image: no weight canvas, no division.
    """
    wy = _window_1d(tile.y0, tile.y1, tile.ramps_y, scale)
    wx = _window_1d(tile.x0, tile.x1, tile.ramps_x, scale)
    return np.outer(wy, wx).astype(dtype)


class BlendCanvas:
    """Accumulates windowed tile outputs into a channels-first float32 canvas (numpy reference).

    The engine keeps its output canvas here, on the CPU, so device memory stays bounded by the tiles.
    """

    def __init__(self, h: int, w: int, channels: int, scale: int = 1) -> None:
        self.scale = scale
        self.image = np.zeros((channels, h * scale, w * scale), dtype=np.float32)

    def add(self, tile: Tile, output: np.ndarray) -> None:
        """Add one tile's output (C x th*s x tw*s), weighted by its blend window."""
        ys, xs = tile.out_rect(self.scale).slices
        self.image[:, ys, xs] += output * tile_window(tile, self.scale)


def blend(
    tiles: Sequence[Tile], outputs: Iterable[np.ndarray], h: int, w: int, scale: int = 1
) -> np.ndarray:
    """Blend per-tile outputs (C x th*s x tw*s, in ``tiles`` order) into a C x h*s x w*s image."""
    canvas: BlendCanvas | None = None
    for tile, out in zip(tiles, outputs, strict=True):
        if canvas is None:
            canvas = BlendCanvas(h, w, out.shape[0], scale)
        canvas.add(tile, out)
    if canvas is None:
        raise ValueError("no tiles to blend")
    return canvas.image


# ----------------------------------------------------------------------------------------------------
# The official MambaIR test-time partition
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficialPiece:
    """One piece of the official partition.

    Attributes:
        row, col: grid position (row-major, the order the official code runs them).
        crop: input rectangle in the **padded** input.
        src: rectangle of the piece's model output (output pixels) that is kept.
        dst: where ``src`` is pasted in the padded output canvas (output pixels).
    """

    row: int
    col: int
    crop: Rect
    src: Rect
    dst: Rect


@dataclass(frozen=True)
class OfficialPartition:
    """The whole plan: pad, run every piece, paste, crop to ``(out_h, out_w)``.

    Attributes:
        pad_bottom, pad_right: reflect padding added below and right of the input.
        padded_h, padded_w: padded input size.
        scale: model scale the output rectangles are expressed in.
        out_h, out_w: final output size (``h * scale``, ``w * scale``): crop the canvas's top-left.
        pieces: the pieces in run order.
    """

    pad_bottom: int
    pad_right: int
    padded_h: int
    padded_w: int
    scale: int
    out_h: int
    out_w: int
    pieces: tuple[OfficialPiece, ...]


def _official_axis(n: int) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Pad, split length and ``(crop_start, crop_stop, keep_offset)`` per piece along one axis."""
    pieces = n // 200 + 1
    pad = pieces - n % pieces if n % pieces else 0
    split = (n + pad) // pieces
    shave = split // 10
    out = []
    for i in range(pieces):
        lo = i * split - (shave if i > 0 else 0)
        hi = (i + 1) * split + (shave if i < pieces - 1 else 0)
        out.append((lo, hi, shave if i > 0 else 0))
    return pad, split, out


def official_partition(h: int, w: int, scale: int = 1) -> OfficialPartition:
    """The MambaIR/MambaIRv2 test-time partition of an ``h`` x ``w`` input, as rectangles.

    Per axis: ``n = len // 200 + 1`` pieces; reflect pad ``n - len % n`` (or 0) at the end so the
    padded length divides evenly into ``split``; ``shave = split // 10``; piece ``i`` reads
    ``[i*split - shave (if i > 0), (i+1)*split + shave (if i < n-1))``; its output from offset
    ``shave*scale`` (or 0 for the first piece), ``split*scale`` long, is hard-pasted at
    ``i*split*scale``. The canvas is then cropped to ``(h*scale, w*scale)``.

    Args:
        h, w: input size.
        scale: the model's upscaling factor.

    Returns:
        The plan; apply the padding with reflect mode (``F.pad(x, (0, pad_right, 0, pad_bottom),
        'reflect')`` / ``np.pad(..., mode='reflect')``).
    """
    if h <= 0 or w <= 0 or scale <= 0:
        raise ValueError(f"size and scale must be positive, got {h}x{w}, scale {scale}")
    pad_h, split_h, rows = _official_axis(h)
    pad_w, split_w, cols = _official_axis(w)
    s = scale
    pieces = []
    for i, (y0, y1, oy) in enumerate(rows):
        for j, (x0, x1, ox) in enumerate(cols):
            pieces.append(
                OfficialPiece(
                    row=i,
                    col=j,
                    crop=Rect(y0, y1, x0, x1),
                    src=Rect(oy * s, (oy + split_h) * s, ox * s, (ox + split_w) * s),
                    dst=Rect(i * split_h * s, (i + 1) * split_h * s, j * split_w * s, (j + 1) * split_w * s),
                )
            )
    return OfficialPartition(
        pad_bottom=pad_h,
        pad_right=pad_w,
        padded_h=h + pad_h,
        padded_w=w + pad_w,
        scale=scale,
        out_h=h * scale,
        out_w=w * scale,
        pieces=tuple(pieces),
    )
