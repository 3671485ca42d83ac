"""Safe checkpoint loading, canonicalisation and layout checks."""

from __future__ import annotations

import io
import os
import pickle

import pytest
import torch
from torch import nn

from restore_cli.checkpoint import (
    canonicalize,
    check_layout,
    layout_of,
    load_into,
    load_state_dict,
    save_safetensors,
)
from restore_cli.errors import CheckpointMismatchError, UnknownCheckpointError


class Net(nn.Module):
    """A small stand-in network (the layout checks do not care about the family)."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, width, 3)
        self.conv_last = nn.Conv2d(width, 3, 3)


def _sd(width: int = 4) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return Net(width).state_dict()


@pytest.mark.parametrize(
    ("wrap", "suffix"),
    [
        (lambda sd: {"params": sd}, ".pth"),
        (lambda sd: {"params_ema": sd, "params": {k: v * 0 for k, v in sd.items()}}, ".pth"),
        (lambda sd: sd, ".pt"),
        (lambda sd: {f"module.{k}": v for k, v in sd.items()}, ".ckpt"),
        (lambda sd: {"params": {f"module.{k}": v for k, v in sd.items()}, "iter": 5}, ".pth"),
    ],
)
def test_unwrap_and_strip(tmp_path, wrap, suffix):
    sd = _sd()
    path = tmp_path / f"w{suffix}"
    torch.save(wrap(sd), path)
    loaded = load_state_dict(path)
    assert set(loaded) == set(sd)
    assert all(torch.equal(loaded[k], sd[k]) for k in sd)  # params_ema wins over params


def test_safetensors_round_trip_and_sniffing(tmp_path):
    sd = _sd()
    path = save_safetensors(sd, tmp_path / "w.safetensors", metadata={"card": "x"})
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]  # no temporary file left
    assert all(torch.equal(load_state_dict(path)[k], sd[k]) for k in sd)
    odd = tmp_path / "weights.bin2"
    odd.write_bytes(path.read_bytes())
    assert set(load_state_dict(odd)) == set(sd)
    pth_named_odd = tmp_path / "weights.dat"
    torch.save({"params": sd}, pth_named_odd)
    assert set(load_state_dict(pth_named_odd)) == set(sd)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"params": _sd(), "hook": _Payload()}, path)
    with pytest.raises(UnknownCheckpointError, match=r"refused to load.*GLOBAL .*system"):
        load_state_dict(path)
    raw = tmp_path / "evil_raw.pth"
    raw.write_bytes(pickle.dumps({"w": _Payload()}, protocol=2))
    with pytest.raises(UnknownCheckpointError, match="refused to load"):
        load_state_dict(raw)


def test_unreadable_files(tmp_path):
    buf = io.BytesIO()
    torch.save({"params": _sd()}, buf)
    truncated = tmp_path / "cut.pth"
    truncated.write_bytes(buf.getvalue()[:200])
    with pytest.raises(UnknownCheckpointError, match="truncated"):
        load_state_dict(truncated)
    bad_st = tmp_path / "cut.safetensors"
    bad_st.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(UnknownCheckpointError, match="safetensors"):
        load_state_dict(bad_st)
    with pytest.raises(UnknownCheckpointError, match="no such checkpoint"):
        load_state_dict(tmp_path / "missing.pth")


def test_non_state_dicts_are_refused(tmp_path):
    with pytest.raises(UnknownCheckpointError, match="not a state dict"):
        canonicalize([1, 2])
    with pytest.raises(UnknownCheckpointError, match="entry 'epoch' is a int"):
        canonicalize({"w": torch.zeros(1), "epoch": 3})
    with pytest.raises(UnknownCheckpointError, match="no tensors"):
        canonicalize({})


def test_check_layout_names_the_differences():
    model = Net()
    check_layout(model, model.state_dict())  # fits
    sd = _sd(width=5)
    sd.pop("conv_last.bias")
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as info:
        check_layout(model, sd, what="ckpt.pth", arch="Net")
    message = str(info.value)
    assert message.startswith("ckpt.pth does not fit Net:")
    assert "1 missing key(s): conv_last.bias" in message
    assert "1 unexpected key(s): extra.weight" in message
    assert "conv_first.weight [5, 3, 3, 3] != [4, 3, 3, 3]" in message


def test_check_layout_summarises_long_lists():
    expected = {f"k{i}": (1,) for i in range(12)}
    with pytest.raises(CheckpointMismatchError, match=r"12 missing key.*k4 and 7 more"):
        check_layout(expected, {"x": torch.zeros(1)})
    assert layout_of({"a": (2, 3), "b": torch.zeros(4)}) == {"a": (2, 3), "b": (4,)}


def test_load_into_is_strict_and_casts():
    model = Net()
    half = {k: v.half() for k, v in _sd().items()}
    load_into(model, half)
    assert model.conv_first.weight.dtype == torch.float32
    assert torch.equal(model.conv_first.weight, half["conv_first.weight"].float())
    with pytest.raises(CheckpointMismatchError):
        load_into(model, {k: v for k, v in half.items() if k != "conv_first.bias"})
