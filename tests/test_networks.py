import torch

from agents.ddqn import QNetwork
from agents.networks import bf16_autocast


def test_bf16_autocast_stays_close_to_fp32():
    torch.manual_seed(0)
    fp32, bf16 = QNetwork((4, 84, 84), 6), QNetwork((4, 84, 84), 6, bf16=True)
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
