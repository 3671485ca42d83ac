"""Window helpers for shifted-window attention (Swin style), as MambaIRv2 uses them.

Pure functions of their arguments, no module state: window partition and its inverse, the relative
position index, the shifted-window attention mask, and the symmetric mirror padding that MambaIRv2
applies before its windows. Semantics follow csguoh/MambaIR @ 33d7b34
(``basicsr/archs/mambairv2_arch.py``, Apache-2.0), which in turn follows Swin/SwinIR; the helpers are
written from the specification in ``shared/reference/mambair.md`` §4.3.
"""

from __future__ import annotations

import torch

# Logit added between tokens from different regions of a shifted window (the official value; not -inf,
# so a fully masked row can never occur and softmax stays finite).
MASK_VALUE = -100.0


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Split (B, H, W, C) into (B * nW, ws, ws, C) windows.

    Batch is outermost, then window row, then window column (row-major over the window grid), which is
    the order :func:`shifted_window_mask` uses for its first axis.
    """
    b, h, w, c = x.shape
    ws = window_size
    if h % ws or w % ws:
        raise ValueError(f"feature map {h}x{w} is not a multiple of the window size {ws}; pad it first")
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)


def window_reverse(windows: torch.Tensor, window_size: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * nW, ws, ws, C) -> (B, H, W, C)."""
    ws = window_size
    n_windows = (h // ws) * (w // ws)
    b = windows.shape[0] // n_windows
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, -1)


def relative_position_index(window_size: int) -> torch.Tensor:
    """Swin relative position index, int64 (ws², ws²).

    With window positions ``i = yi * ws + xi``:
    ``rpi[i, j] = (yi - yj + ws - 1) * (2 ws - 1) + (xi - xj + ws - 1)``, an index into the
    ((2 ws - 1)², heads) bias table. Equals the ``relative_position_index_SA`` buffer stored in the
    official checkpoints.
    """
    ws = window_size
    coords = torch.arange(ws)
    ys = coords.repeat_interleave(ws)  # y of flattened position i
    xs = coords.repeat(ws)  # x of flattened position i
    dy = ys[:, None] - ys[None, :] + ws - 1
    dx = xs[:, None] - xs[None, :] + ws - 1
    return (dy * (2 * ws - 1) + dx).to(torch.int64)


def _band_labels(n: int, window_size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Label 0/1/2 for positions in [0, n-ws), [n-ws, n-ws//2), [n-ws//2, n)."""
    pos = torch.arange(n, device=device)
    return (pos >= n - window_size).long() + (pos >= n - window_size // 2).long()


def shifted_window_mask(
    h: int, w: int, window_size: int, *, device: torch.device | str | None = None
) -> torch.Tensor:
    """Attention mask for windows of a canvas rolled by (-ws/2, -ws/2): (nW, ws², ws²) float32.

    After the cyclic roll, a window at the bottom or right edge holds tokens from up to 4 regions that
    were not neighbours in the image. Rows and columns are labelled by band ([0, h-ws), [h-ws, h-ws/2),
    [h-ws/2, h)), giving 9 regions; ``mask[w, i, j]`` is 0 when tokens i and j of window w share a
    region and :data:`MASK_VALUE` (-100) otherwise, exactly as the official ``calculate_mask``.
    """
    if h % window_size or w % window_size:
        raise ValueError(f"canvas {h}x{w} is not a multiple of the window size {window_size}")
    # Built on ``device`` directly: a host-to-device copy would synchronise every forward pass and cannot
    # be captured in a CUDA graph.
    labels = _band_labels(h, window_size, device)[:, None] * 3 + _band_labels(w, window_size, device)[None, :]
    win = window_partition(labels[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    same = win[:, :, None] == win[:, None, :]
    return torch.zeros(same.shape, dtype=torch.float32, device=device).masked_fill_(~same, MASK_VALUE)


def padded_size(n: int, window_size: int) -> int:
    """Smallest multiple of ``window_size`` that is >= ``n``."""
    return -(-n // window_size) * window_size


def symmetric_pad_indices(n: int, target: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Source indices that extend a length-``n`` axis to ``target`` by repeated edge-including mirroring.

    The official MambaIRv2 pads with ``cat([x, flip(x)])[:target]``: padded rows are x[n-1], x[n-2], ...
    That fails when ``target - n > n`` (a side shorter than half a window). Repeating the mirror, i.e.
    the periodic extension x[0..n-1], x[n-1..0], x[0..n-1], ..., equals the official padding whenever the
    official one works and also handles tiny inputs.
    """
    if n <= 0:
        raise ValueError(f"cannot pad an empty axis (size {n})")
    j = torch.arange(target, device=device) % (2 * n)
    return torch.where(j < n, j, 2 * n - 1 - j)


def symmetric_pad(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Pad (..., H, W) on the bottom/right to (..., h, w) with :func:`symmetric_pad_indices`."""
    h0, w0 = x.shape[-2], x.shape[-1]
    if h != h0:
        x = x.index_select(-2, symmetric_pad_indices(h0, h, x.device))
    if w != w0:
        x = x.index_select(-1, symmetric_pad_indices(w0, w, x.device))
    return x


__all__ = [
    "MASK_VALUE",
    "padded_size",
    "relative_position_index",
    "shifted_window_mask",
    "symmetric_pad",
    "symmetric_pad_indices",
    "window_partition",
    "window_reverse",
]
