"""CUDA graphs of a network's forward pass, one per input shape, replayed when that shape recurs.

Why: at the sizes people restore, a MambaIR layer does little GPU work per kernel, and the light models
launch thousands of small kernels per image; the CPU (Python, PyTorch dispatch, CUDA launch) then sets
the pace, not the GPU (MambaIR light x4 at 720p in bf16 on an H100: 55 ms eager for 29 ms of kernels;
29 ms replayed). A captured graph replays every kernel with one launch. It only pays when a shape
comes back: the tiles of an image (equal-size tiles are batched), a folder of same-size photos, a video's
frames. So the first forward of a shape runs eagerly (it also compiles the Triton kernels and lets cuDNN
pick its algorithms), the second is captured and replayed, and later ones replay.

A graph keeps the memory its forward used (its private pool) for as long as it lives, so at most
``max_shapes`` graphs are kept (least recently used dropped), and any failure to capture (an operation
that cannot be captured, out of memory) turns graphs off for that model and runs eagerly: a graph is a
speed-up, never a requirement. Only networks that declare themselves capturable are tried
(:func:`graphs_supported`).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class _Captured:
    graph: torch.cuda.CUDAGraph
    static_in: torch.Tensor
    static_out: torch.Tensor


class GraphedForward:
    """Run ``fn`` on CUDA inputs, through a CUDA graph per (shape, dtype, key) once that shape recurs.

    The caller provides the contexts (``inference_mode``, autocast, TF32 flags): they are in force during
    capture, so the graph runs with them. The returned tensor is the graph's output buffer, overwritten
    by the next replay: copy it (``.cpu()``, ``.clone()``) before calling again.
    """

    def __init__(self, *, max_shapes: int = 2) -> None:
        self.max_shapes = max_shapes
        self.enabled = True
        self.disabled_reason = ""
        self._seen: Counter[tuple] = Counter()
        self._graphs: OrderedDict[tuple, _Captured] = OrderedDict()
        self._capture_streams: dict[torch.device, torch.cuda.Stream] = {}

    def __call__(self, fn: Forward, x: torch.Tensor, key: object = None) -> torch.Tensor:
        if not x.is_cuda:
            return fn(x)
        # The input's GPU is made current for the capture and the replays: CUDA graphs record and replay
        # on the current device, and the caller's thread may have another GPU current.
        with torch.cuda.device(x.device):
            return self._run(fn, x, key)

    def _run(self, fn: Forward, x: torch.Tensor, key: object) -> torch.Tensor:
        if not self.enabled:
            return fn(x)
        shape_key = (tuple(x.shape), x.dtype, x.device, key)
        captured = self._graphs.get(shape_key)
        if captured is None:
            self._seen[shape_key] += 1
            if self._seen[shape_key] < 2:
                return fn(x)  # first sighting: eager (warm-up), and no graph for one-off shapes
            captured = self._capture(fn, x)
            if captured is None:
                return fn(x)
            self._graphs[shape_key] = captured
            while len(self._graphs) > self.max_shapes:
                self._graphs.popitem(last=False)
        else:
            self._graphs.move_to_end(shape_key)
        captured.static_in.copy_(x)
        captured.graph.replay()
        return captured.static_out

    def _capture(self, fn: Forward, x: torch.Tensor) -> _Captured | None:
        static_in = x.clone()
        graph = torch.cuda.CUDAGraph()
        # A capture stream on the input's GPU: torch.cuda.graph's default one is made once per process,
        # on whichever GPU was current then, and capturing cuda:1's kernels on a cuda:0 stream records
        # garbage (found by the two-GPU test).
        stream = self._capture_streams.get(x.device)
        if stream is None:
            stream = self._capture_streams[x.device] = torch.cuda.Stream(device=x.device)
        try:
            torch.cuda.synchronize(x.device)
            # thread_local: in a multi-GPU run the other GPUs' threads keep working eagerly (allocating,
            # synchronising) while this one captures; the default global mode would make those calls fail.
            with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
                static_out = fn(static_in)
        except Exception as exc:  # any capture failure means: run eagerly from now on
            del graph  # now, not when the traceback goes: its destructor ends the capture's hold on the RNG
            self.disable(f"{type(exc).__name__}: {exc}".splitlines()[0])
            torch.cuda.synchronize(x.device)
            return None
        return _Captured(graph, static_in, static_out)

    def disable(self, reason: str) -> None:
        """Stop capturing and drop the graphs (and their memory)."""
        self.enabled = False
        self.disabled_reason = reason
        self._graphs.clear()

    def clear(self) -> None:
        """Drop the graphs and the shape counts (e.g. after the weights changed)."""
        self._graphs.clear()
        self._seen.clear()

    @property
    def n_graphs(self) -> int:
        return len(self._graphs)


def graphs_supported(module: torch.nn.Module) -> bool:
    """Whether the forward pass of ``module`` may be captured: it says so (``cuda_graph_safe``).

    Networks opt in once their forward is known to capture (no host synchronisation, no host-to-device
    copy, no random draw a replay would freeze); MambaIR and MambaIRv2 with argmax routing do (GPU-tested).
    A failed capture falls back to eager, but it can leave PyTorch's CUDA random generator unusable for the
    rest of the process, so networks that do not say so are not tried. Checked per forward pass (one
    attribute), since a model's routing can change after it is loaded.
    """
    return bool(getattr(module, "cuda_graph_safe", False))


__all__ = ["GraphedForward", "graphs_supported"]
