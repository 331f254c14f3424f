"""Small, seeded learning checks: DDQN and i-DQN beat a random policy on MinAtar Breakout, and
the attention agent improves on MinAtar SpaceInvaders.

The full version (3 seeds, two games, curves) is benchmarks/minatar_learning.py; see
docs/learning.md. Here one seed, 15K steps per DQN agent and 100K for the attention agent,
single-threaded for determinism.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from agents.networks import native_bf16
from agents.runner import RunSpec, random_policy_returns, train

STEPS = 15_000
# The runner refuses bf16 where the CPU emulates it (agents.networks.check_precision).
needs_bf16 = pytest.mark.skipif(
    not native_bf16("cpu"), reason="this CPU has no native bf16; the runner refuses bf16 here"
)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize(
    "agent,overrides",
    [
        ("ddqn", {"eps_decay_steps": 8000, "eps_end": 0.05}),
        ("idqn", {}),
        # bf16 is the fast mode of the throughput benchmark: it must learn too.
        pytest.param(
            "ddqn",
            {"eps_decay_steps": 8000, "eps_end": 0.05, "precision": "bf16"},
            marks=needs_bf16,
        ),
        pytest.param("idqn", {"precision": "bf16"}, marks=needs_bf16),
    ],
    ids=["ddqn", "idqn", "ddqn-bf16", "idqn-bf16"],
)
def test_agents_learn_minatar_breakout(tmp_path, one_thread, agent, overrides):
    # train_freq=1: the setting this check was measured with (the minatar presets update every 4).
    overrides = {**overrides, "replay_capacity": 20_000, "learning_starts": 2000, "train_freq": 1}
    train(
        RunSpec(agent, "MinAtar-Breakout", 0, STEPS, "minatar"), tmp_path, overrides, progress=False
    )
    returns = pd.read_csv(tmp_path / "episodes.csv")["return"]
    random_mean = float(
        np.mean(random_policy_returns("MinAtar-Breakout", 100, seed=123, frame_stack=1))
    )
    learned = returns.tail(30).mean()
    print(f"{agent}: last-30-episode mean {learned:.2f}, random {random_mean:.2f}")
    assert learned > 3 * random_mean, (learned, random_mean)


# The attention agent's learner (issue 25): minatar-v2 on MinAtar-SpaceInvaders, tuning seed 100,
# 100K steps (docs/learning.md, "Third round": the same run's first 100K steps). Deterministic on
# one thread; a learner that stops learning stays at the first window's level, near random.
ATTENTION_STEPS = 100_000


@pytest.mark.slow
def test_the_attention_agent_learns_minatar_spaceinvaders(tmp_path, one_thread):
    train(
        RunSpec("attention", "MinAtar-SpaceInvaders", 100, ATTENTION_STEPS, "minatar-v2"),
        tmp_path,
        {},
        progress=False,
    )
    episodes = pd.read_csv(tmp_path / "episodes.csv")
    first = episodes.loc[episodes["frame"] <= 20_000, "return"].mean()
    last = episodes.loc[episodes["frame"] > ATTENTION_STEPS - 20_000, "return"].mean()
    random_mean = float(
        np.mean(random_policy_returns("MinAtar-SpaceInvaders", 100, seed=123, frame_stack=1))
    )
    print(f"attention: first 20K {first:.2f}, last 20K {last:.2f}, random {random_mean:.2f}")
    assert last > 1.25 * first and last > 1.25 * random_mean, (first, last, random_mean)
