import pytest
import torch

from agents.ddqn import QNetwork
from agents.errors import UsageError
from agents.networks import (
    bf16_autocast,
    check_precision,
    cpu_capability,
    native_bf16,
    pixels_to_float,
)
from agents.suites import ATARI


def test_bf16_autocast_stays_close_to_fp32():
    torch.manual_seed(0)
    fp32 = QNetwork((4, 84, 84), 6, layers=ATARI.torso)
    bf16 = QNetwork((4, 84, 84), 6, bf16=True, layers=ATARI.torso)
    bf16.load_state_dict(fp32.state_dict())
    obs = torch.randint(0, 256, (8, 4, 84, 84), dtype=torch.uint8)
    expected, got = fp32(obs), bf16(obs)
    assert got.dtype == torch.float32
    assert (got - expected).abs().max() <= 0.05 * expected.abs().max() + 1e-3
    assert not torch.equal(got, expected)  # bf16 kernels really ran


def test_bf16_autocast_can_be_switched_off():
    linear = torch.nn.Linear(8, 4)
    x = torch.randn(2, 8)
    with bf16_autocast("cpu", enabled=True):
        assert linear(x).dtype == torch.bfloat16
    with bf16_autocast(torch.device("cpu"), enabled=False):
        assert linear(x).dtype == torch.float32


def _fake_cpu(monkeypatch, capability: str = "AVX2", supported: bool = False) -> None:
    """Make this CPU look like one with (or without) native bf16."""
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: supported)


def test_bf16_is_refused_on_a_cpu_without_native_bf16(monkeypatch):
    _fake_cpu(monkeypatch)
    assert cpu_capability() == "AVX2" and not native_bf16(torch.device("cpu"))
    with pytest.raises(UsageError) as info:
        check_precision("bf16", torch.device("cpu"))
    message = str(info.value)
    assert "\n" not in message
    assert "precision=bf16 needs native bf16" in message and "capability AVX2" in message
    assert "use precision=fp32" in message
    check_precision("fp32", torch.device("cpu"))  # fp32 runs anywhere


def test_bf16_is_accepted_on_a_cpu_with_native_bf16(monkeypatch):
    _fake_cpu(monkeypatch, capability="AVX512", supported=True)
    assert native_bf16("cpu")
    check_precision("bf16", torch.device("cpu"))
    check_precision("fp32", torch.device("cpu"))


def test_native_bf16_probe_failure_counts_as_no_bf16(monkeypatch):
    def missing():
        raise RuntimeError("no oneDNN in this build")

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", missing)
    assert not native_bf16(torch.device("cpu"))
    with pytest.raises(UsageError, match="needs native bf16"):
        check_precision("bf16", torch.device("cpu"))


def test_bf16_on_a_gpu_without_native_bf16_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100")
    with pytest.raises(UsageError, match=r"this GPU \(Tesla V100\) lacks"):
        check_precision("bf16", torch.device("cuda"))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_pixels_to_float_scales_a_copy_and_leaves_its_input_alone(dtype):
    frames = torch.tensor([[[[0, 51], [255, 102]]]], dtype=dtype)
    before = frames.clone()
    scaled = pixels_to_float(frames)
    assert torch.allclose(scaled, torch.tensor([[[[0.0, 0.2], [1.0, 0.4]]]]))
    assert torch.equal(frames, before)
