"""CUDA-graph replay of recurring shapes (GPU tests skip on CPU) and the float32 mode's TF32 switch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from restore_cli.archs import from_official
from restore_cli.engine.graphs import GraphedForward, graphs_supported
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import exact_fp32, restore_tensor


def cuda(test):
    """GPU-only test: marked `gpu`, skipped without CUDA."""
    return pytest.mark.gpu(pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")(test))

TINY_MAMBAIR = dict(upscale=2, img_size=16, embed_dim=30, depths=[1], mlp_ratio=1.0, d_state=4,
                    upsampler="pixelshuffledirect", img_range=1.0)


def test_cpu_inputs_pass_straight_through():
    graphs = GraphedForward()
    calls = []

    def fn(t):
        calls.append(1)
        return t * 2

    x = torch.ones(2, 3)
    for _ in range(3):
        assert torch.equal(graphs(fn, x), x * 2)
    assert len(calls) == 3 and graphs.n_graphs == 0


def test_exact_fp32_turns_tf32_off_and_restores():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        with exact_fp32():
            assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        with exact_fp32(False):
            assert torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_only_declared_networks_are_graphed():
    assert graphs_supported(from_official("MambaIR", TINY_MAMBAIR))
    assert not graphs_supported(nn.Conv2d(3, 3, 3))


def test_exact_fp32_nested_in_threads_restores_once_all_are_done():
    import threading

    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    inside, release, seen = threading.Barrier(2), threading.Event(), []

    def worker():
        with exact_fp32():
            inside.wait()
            release.wait()
            seen.append(torch.backends.cudnn.allow_tf32)

    try:
        thread = threading.Thread(target=worker)
        thread.start()
        with exact_fp32():
            inside.wait()  # both inside
        assert not torch.backends.cudnn.allow_tf32  # the other thread is still inside: still off
        release.set()
        thread.join()
        assert seen == [False]
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_gumbel_routing_is_never_graphed():
    net = from_official("MambaIRv2Light", dict(upscale=2, img_size=16, embed_dim=16, d_state=4, depths=[1],
                                                num_heads=[2], window_size=4, inner_rank=8, num_tokens=8,
                                                convffn_kernel_size=3, mlp_ratio=1.0, upsampler="pixelshuffledirect"))
    assert graphs_supported(net)
    net.set_routing("gumbel", seed=1)
    assert not graphs_supported(net)


@cuda
def test_replay_equals_eager_and_follows_new_inputs():
    torch.manual_seed(0)
    net = from_official("MambaIR", TINY_MAMBAIR).cuda().eval()
    graphs = GraphedForward()
    xs = [torch.rand(1, 3, 16, 20, device="cuda") for _ in range(4)]
    with torch.inference_mode():
        outs = [graphs(net, x).clone() for x in xs]
        refs = [net(x) for x in xs]
    assert graphs.n_graphs == 1 and graphs.enabled
    # The four-route scan merges its routes by float32 atomic adds, in whatever order they land: two eager
    # runs of this tiny model differ by up to 1.7e-4 (outputs up to ~2; with the scan's PyTorch reference,
    # by 0: tools/jobs/results/perf23g-graphs-check.txt). A replay of stale inputs would differ by O(1).
    for out, ref in zip(outs, refs, strict=True):
        torch.testing.assert_close(out, ref, rtol=1e-3, atol=1e-3)
    assert (outs[2] - outs[3]).abs().max() > 1e-2  # the replay read the new input


@cuda
def test_keeps_at_most_max_shapes():
    graphs = GraphedForward(max_shapes=2)
    net = nn.Conv2d(3, 3, 3, padding=1).cuda()
    with torch.inference_mode():
        for size in (8, 9, 10, 8, 9, 10):
            x = torch.rand(1, 3, size, size, device="cuda")
            graphs(net, x)
            graphs(net, x)
    assert graphs.n_graphs == 2


class _SyncsOnTheHost(nn.Module):
    """``.item()`` in the forward: not capturable."""

    def forward(self, x):
        return x * float(x.mean().item())


@cuda
def test_capture_failure_falls_back_to_eager():
    graphs = GraphedForward()
    net = _SyncsOnTheHost()
    x = torch.rand(2, 5, device="cuda")
    with torch.inference_mode():
        outs = [graphs(net, x) for _ in range(3)]
    assert not graphs.enabled and graphs.disabled_reason
    for out in outs:
        torch.testing.assert_close(out, x * x.mean())
    y = torch.ones(3, device="cuda") * 2  # the CUDA context still works
    assert y.sum().item() == 6


@cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_restore_tensor_with_graphs_equals_without(precision):
    torch.manual_seed(0)
    net = from_official("MambaIR", TINY_MAMBAIR)
    x = torch.rand(1, 3, 40, 52)
    on = wrap_module(net, arch="MambaIR", device=torch.device("cuda"), precision=precision, cuda_graphs=True)
    with_graphs = [restore_tensor(on, x, tile=16, overlap=4, batch_size=2) for _ in range(2)]
    assert on.extra["graphs"].n_graphs >= 1
    off = wrap_module(net, arch="MambaIR", device=torch.device("cuda"), precision=precision, cuda_graphs=False)
    without = restore_tensor(off, x, tile=16, overlap=4, batch_size=2)
    for out in with_graphs:
        torch.testing.assert_close(out, without, rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_graphs_of_a_model_on_the_second_gpu_follow_their_inputs():
    torch.manual_seed(0)
    net = from_official("MambaIR", TINY_MAMBAIR).to("cuda:1").eval()
    graphs = GraphedForward()
    xs = [torch.rand(1, 3, 16, 20, device="cuda:1") for _ in range(4)]
    with torch.cuda.device(0), torch.inference_mode():  # the current device is another GPU
        outs = [graphs(net, x).clone() for x in xs]
        refs = [net(x) for x in xs]
    assert graphs.n_graphs == 1
    for out, ref in zip(outs, refs, strict=True):
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
@pytest.mark.parametrize("graphs", [True, False])
def test_restore_tensor_on_the_second_gpu_from_another_current_device(graphs):
    torch.manual_seed(0)
    net = from_official("MambaIR", TINY_MAMBAIR)
    x = torch.rand(1, 3, 40, 52)
    expected = restore_tensor(wrap_module(net, arch="MambaIR", device=torch.device("cpu")), x, tile=16, overlap=4)
    model = wrap_module(net, arch="MambaIR", device=torch.device("cuda:1"), cuda_graphs=graphs)
    with torch.cuda.device(0):
        for _ in range(2):
            out = restore_tensor(model, x, tile=16, overlap=4, batch_size=2)
            torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


def test_graphs_switch_reads_the_environment_flag():
    from restore_cli.config import env_flag

    assert env_flag("RESTORE_CUDA_GRAPHS", True, {})
    assert env_flag("RESTORE_CUDA_GRAPHS", True, {"RESTORE_CUDA_GRAPHS": " "})
    assert not env_flag("RESTORE_CUDA_GRAPHS", True, {"RESTORE_CUDA_GRAPHS": "0"})
    assert not env_flag("RESTORE_CUDA_GRAPHS", True, {"RESTORE_CUDA_GRAPHS": "off"})
    assert env_flag("RESTORE_CUDA_GRAPHS", False, {"RESTORE_CUDA_GRAPHS": "Yes"})
