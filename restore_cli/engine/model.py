"""A built network plus everything the engine needs to know to run it.

The engine reads only :class:`LoadedModel`, never the card or the checkpoint, so models that came from
the catalog, from ``--weights`` or from Python code all run the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from ..archs.layers import fold_inference_weights
from ..config import env_flag
from ..errors import UsageError
from .graphs import GraphedForward

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

#: cuBLAS without a workspace, for the light networks on CUDA. With one, cuBLAS ran each of MambaIRv2
#: light's narrow GEMMs (K = 48-96) as a memset plus a kernel, 240 memsets in a 720p forward of ~1,300
#: launches; without, one launch each: wall time 10.2 -> 9.2-9.5 ms (bf16 + ``--compile``, H100; MambaIR
#: light and, at 720p, MambaIR classic and MambaIRv2 Base unchanged, ``perf21c-gemm-workspace.txt``). The
#: wide networks keep cuBLAS's workspace: at 4K in batches of four tiles of 270 they ran 4-8% slower
#: without it (``perf21f-workspace-4k.txt``).
WORKSPACE_FREE_CUBLAS_ENV = {"CUBLAS_WORKSPACE_CONFIG": ":0:0", "CUBLASLT_WORKSPACE_SIZE": "0"}

#: Token widths (``embed_dim``) up to this are "light": MambaIR light 60, MambaIRv2 light 48.
LIGHT_NETWORK_WIDTH = 64


def wants_workspace_free_cublas(module: nn.Module) -> bool:
    """Whether ``module`` is a light network (:data:`LIGHT_NETWORK_WIDTH`), whose GEMMs are narrow and
    many, so that a launch saved per GEMM outweighs the faster kernels a workspace allows."""
    width = getattr(module, "embed_dim", None)
    return isinstance(width, int) and 0 < width <= LIGHT_NETWORK_WIDTH


def use_workspace_free_cublas() -> dict[str, str]:
    """Set :data:`WORKSPACE_FREE_CUBLAS_ENV` in this process's environment where the user has not set
    those variables; returns what it set.

    PyTorch reads them when it first runs a GEMM on a device (creating cuBLAS's handle and workspace),
    so this acts only before that: in the CLI, which runs one network per process, :func:`wrap_module`
    calls it for a light network before its first forward. In a process that ran GEMMs before (a
    benchmark of several networks, training) it changes nothing. ``:0:0`` is also one of the settings
    that make cuBLAS deterministic.
    """
    applied = {}
    for name, value in WORKSPACE_FREE_CUBLAS_ENV.items():
        if name not in os.environ:
            os.environ[name] = value
            applied[name] = value
    return applied


@dataclass(frozen=True)
class LoadedModel:
    """A network in eval mode on its device.

    Attributes:
        module: the network; NCHW float in [0, 1] -> NCHW.
        arch: official class name (``MambaIR``, ``MambaIRv2``...).
        scale: output size / input size.
        in_channels: 3 for RGB models, 1 for gray (JPEG CAR) models.
        device: where ``module`` lives.
        precision: ``fp32``, ``fp16`` or ``bf16`` (autocast for convolutions and GEMMs; the scan and
            normalisations stay float32 inside the model).
        model_id: catalog id or a description of the weights, for reports.
        task: the task the weights were trained for.
        min_tile: the smallest tile that still gives a sensible result (window size for v2 models).
    """

    module: nn.Module
    arch: str
    scale: int
    in_channels: int
    device: torch.device
    precision: str = "fp32"
    model_id: str = "custom"
    task: str = "sr"
    min_tile: int = 16
    extra: dict = field(default_factory=dict)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return None if self.precision == "fp32" else PRECISIONS[self.precision]


def store_matmul_weights_in(module: nn.Module, dtype: torch.dtype) -> int:
    """Cast to ``dtype`` (the autocast dtype), in place, the weight and bias of every ``nn.Linear`` in
    ``module`` and of every convolution inside its compiled blocks (:func:`.compile.compile_targets`)
    except depthwise ones; returns how many layers.

    Autocast casts float32 weights to the same values in every forward, one small kernel per weight and
    bias: ~240 per MambaIRv2 light forward, 0.6 of 10.0 ms of GPU time per compiled 720p forward (H100,
    ``tools/jobs/results/perf18-v2-light-bf16-linears.txt``); MambaIR light's channel-attention convs, four
    more per block. Every Linear, and every such convolution, of the networks here runs under autocast,
    whose result this leaves unchanged (tested for each architecture). Depthwise convolutions keep float32:
    the depthwise kernel reads float32 weights (:mod:`restore_cli.ops.depthwise_conv`), and the image-space
    convolutions of the head, outside the blocks, run in float32 on purpose. Inference only, as training
    needs float32 weights.
    """
    from .compile import compile_targets

    layers = [m for m in module.modules() if isinstance(m, nn.Linear)]
    for block in compile_targets(module):
        layers += [m for m in block.modules() if isinstance(m, nn.Conv2d)
                   and not (m.groups > 1 and m.groups == m.in_channels == m.out_channels)]
    for layer in layers:
        layer.to(dtype)
    return len(layers)


def parse_devices(text: str) -> list[torch.device]:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | comma-separated list of CUDA devices."""
    text = text.strip().lower()
    if text == "auto":
        return [torch.device("cuda" if torch.cuda.is_available() else "cpu")]
    devices = []
    for part in text.split(","):
        part = part.strip()
        try:
            dev = torch.device(part)
        except RuntimeError:
            raise UsageError(f"--device {part!r}: expected auto, cpu, cuda or cuda:N") from None
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise UsageError(f"--device {part}: no CUDA device is available here; use --device cpu")
            if dev.index is not None and dev.index >= torch.cuda.device_count():
                raise UsageError(f"--device {part}: only {torch.cuda.device_count()} CUDA device(s) present")
        elif dev.type != "cpu":
            raise UsageError(f"--device {part!r}: only cpu and cuda devices are supported")
        devices.append(dev)
    if len(devices) > 1 and any(d.type == "cpu" for d in devices):
        raise UsageError("--device: a list may only name CUDA devices, e.g. cuda:0,cuda:1")
    return devices


def model_scale(module: nn.Module) -> int:
    """Output/input size ratio of a built network (1 for same-size tasks)."""
    scale = getattr(module, "scale", None)
    if isinstance(scale, int):
        return scale
    return 1


def model_in_channels(module: nn.Module) -> int:
    for attr in ("in_chans", "inp_channels", "in_channels"):
        value = getattr(module, attr, None)
        if isinstance(value, int):
            return value
    return 3


def wrap_module(
    module: nn.Module,
    *,
    arch: str,
    device: torch.device,
    precision: str = "fp32",
    model_id: str = "custom",
    task: str = "sr",
    cuda_graphs: bool | None = None,
    compile: bool | str = False,
    align_channels: bool = True,
) -> LoadedModel:
    """Put ``module`` on ``device`` in eval mode and describe it.

    ``cuda_graphs``: replay the forward pass of recurring input shapes as CUDA graphs (see
    :mod:`.graphs`); default on, off with ``RESTORE_CUDA_GRAPHS=0``.
    ``compile``: compile the network's repeated blocks (:mod:`.compile`); the first forward of each
    input shape then takes longer (seconds to a minute), later ones run the fused kernels; a string is
    the ``torch.compile`` mode (:data:`.compile.AUTOTUNE_MODE` for ``--autotune``: minutes); a network's
    ``compiled_tile_batch`` caps the tiles per pass (``extra["tile_batch_limit"]``, read by
    :func:`.run.restore_tensor`).
    ``align_channels``: on CUDA a network with an ``align_channels`` method (MambaIRv2) has its widths
    zero-padded to multiples of 8, in place (same outputs, faster GEMMs; its state dict then has the padded
    shapes); off for the benchmark's reference path, which computes as the official code does.
    In half precision on CUDA a network that says its ``nn.Linear`` layers
    and its blocks' convolutions all run under autocast (``matmuls_under_autocast``: this project's
    architectures) has their weights stored in that dtype, also in place (:func:`store_matmul_weights_in`).
    Then the tensors that forwards derive from weights alone are made once and kept on the module
    (:func:`restore_cli.archs.layers.fold_inference_weights`), on any device and in any precision.
    """
    if cuda_graphs is None:
        cuda_graphs = env_flag("RESTORE_CUDA_GRAPHS", True)
    if precision not in PRECISIONS:
        raise UsageError(f"--precision {precision!r}: choose fp32, fp16 or bf16")
    if precision == "fp16" and device.type == "cpu":
        raise UsageError("--precision fp16 is not supported on the CPU; use fp32 or bf16")
    if compile and device.type == "cuda":
        from ..ops.launch import triton_available

        if not triton_available():  # torch.compile generates Triton kernels for a GPU
            raise UsageError("--compile on a GPU needs Triton, which this PyTorch lacks (PyTorch's Windows "
                             "wheels do not ship it); run without --compile, or install triton")
    if device.type == "cuda" and wants_workspace_free_cublas(module):
        use_workspace_free_cublas()
    module = module.to(device).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    window = getattr(module, "window_size", None)
    extra = {}
    align = getattr(module, "align_channels", None)  # MambaIRv2: aligned GEMM widths (same outputs)
    if align_channels and device.type == "cuda" and callable(align):
        extra["aligned_channels"] = align()
    if compile:
        from .compile import compile_blocks

        extra["compiled_blocks"] = compile_blocks(module, mode=compile if isinstance(compile, str) else None)
        limit = getattr(module, "compiled_tile_batch", None)  # MambaIRv2: see the class
        if limit:
            extra["tile_batch_limit"] = limit
    if precision != "fp32" and device.type == "cuda" and getattr(module, "matmuls_under_autocast", False):
        # after the alignment, which builds float32 layers
        extra["half_matmuls"] = store_matmul_weights_in(module, PRECISIONS[precision])
    extra["folded"] = fold_inference_weights(module)  # after the casts: folded weights take their dtype
    if device.type == "cuda" and cuda_graphs:
        extra["graphs"] = GraphedForward()
    return LoadedModel(
        module=module,
        arch=arch,
        scale=model_scale(module),
        in_channels=model_in_channels(module),
        device=device,
        precision=precision,
        model_id=model_id,
        task=task,
        min_tile=max(16, int(window) if isinstance(window, int) else 16),
        extra=extra,
    )
