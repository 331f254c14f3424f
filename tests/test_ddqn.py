import numpy as np
import pytest
import torch

from agents.config import build_config
from agents.ddqn import DDQNAgent, DDQNConfig, QNetwork, double_dqn_target, linear_epsilon
from agents.envs import EnvSpec
from agents.replay import Batch
from agents.suites import ATARI


def test_double_dqn_target_hand_computed():
    # Online net picks the next action; the target net evaluates it.
    next_q_online = torch.tensor([[1.0, 5.0, 2.0], [0.0, -1.0, 3.0]])
    next_q_target = torch.tensor([[10.0, 20.0, 30.0], [7.0, 8.0, 9.0]])
    rewards = torch.tensor([1.0, -1.0])
    terminated = torch.tensor([0.0, 1.0])
    target = double_dqn_target(rewards, terminated, 0.9, next_q_online, next_q_target)
    # Row 0: argmax online = 1 -> target value 20 -> 1 + 0.9 * 20 = 19. (DQN's max would give 28.)
    # Row 1: terminal -> reward only.
    assert torch.allclose(target, torch.tensor([19.0, -1.0]))


def test_linear_epsilon():
    assert linear_epsilon(0, 1.0, 0.01, 100) == 1.0
    assert linear_epsilon(50, 1.0, 0.01, 100) == pytest.approx(0.505)
    assert linear_epsilon(10**6, 1.0, 0.01, 100) == pytest.approx(0.01)


def test_nature_network_shapes():
    net = QNetwork((4, 84, 84), 6, 512, layers=ATARI.torso)
    q = net(torch.zeros(2, 4, 84, 84, dtype=torch.uint8))
    assert q.shape == (2, 6)
    assert net.features(torch.zeros(1, 4, 84, 84, dtype=torch.uint8)).shape == (1, 512)
    assert net.head[0].in_features == 3136


def _agent(**overrides):
    config = build_config(DDQNConfig, "ddqn", "paper", {"batch_size": 4, **overrides})
    spec = EnvSpec("Pong", 3, (4, 84, 84), (84, 84), 4, ("NOOP", "FIRE", "RIGHT"))
    return DDQNAgent(config, spec, torch.device("cpu"))


def _batch(gen, n=4):
    return Batch(
        obs=torch.randint(0, 255, (n, 4, 84, 84), dtype=torch.uint8, generator=gen),
        actions=torch.randint(0, 3, (n,), generator=gen),
        rewards=torch.tensor([1.0, 0.0, -1.0, 0.5]),
        terminated=torch.tensor([0.0, 1.0, 0.0, 0.0]),
        next_obs=torch.randint(0, 255, (n, 4, 84, 84), dtype=torch.uint8, generator=gen),
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_update_fits_a_fixed_batch_and_target_stays_frozen(precision):
    torch.manual_seed(0)
    agent = _agent(lr=1e-3, precision=precision)
    batch = _batch(torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in agent.target.state_dict().items()}
    losses = [float(agent.update(batch, step)["loss"]) for step in range(60)]
    assert losses[-1] < 0.2 * losses[0]
    assert all(torch.equal(before[k], v) for k, v in agent.target.state_dict().items())
    agent.sync_target()
    assert all(
        torch.equal(agent.online.state_dict()[k], v) for k, v in agent.target.state_dict().items()
    )


@pytest.mark.parametrize("preset", ["paper", "original-code"])
def test_presets_build(preset):
    config = build_config(DDQNConfig, "ddqn", preset, {})
    assert config.clip_rewards is True and config.gamma == 0.99 and config.replay_capacity == 10_000
    assert config.hidden_dim == (512 if preset == "paper" else 256)


def test_act_explores_with_epsilon_one_and_is_greedy_with_zero():
    agent = _agent(eps_start=1.0, eps_end=1.0)
    rng = np.random.default_rng(0)
    obs = np.zeros((4, 84, 84), np.uint8)
    assert len({agent.act(obs, 0, rng) for _ in range(100)}) == 3
    greedy = _agent(eps_start=0.0, eps_end=0.0)
    assert len({greedy.act(obs, 0, rng) for _ in range(20)}) == 1
