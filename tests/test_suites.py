"""A new suite is one :class:`agents.suites.Suite` record (and a preset per agent): a toy suite,
registered here and nowhere else, is listed, built, described and trained by every agent kind."""

import gymnasium as gym
import numpy as np
import pytest
from torch import nn

from agents import suites
from agents.envs import check_game, env_spec, make_env
from agents.errors import UsageError
from agents.runner import RunSpec, train
from agents.suites import Suite, stack_frames, suite_named, suite_of

GAME = "Toy-Corridor"


class Corridor(gym.Env):
    """Walk left or right along 6 cells of a 6x6 grid; the right end pays 1 and ends it."""

    observation_space = gym.spaces.Box(0, 255, (6, 6), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cell, self.t = int(self.np_random.integers(1, 5)), 0
        return self._obs(), {}

    def step(self, action):
        self.cell += 1 if action == 1 else -1
        self.t += 1
        terminated = self.cell in (0, 5)
        return self._obs(), float(self.cell == 5), terminated, self.t >= 30, {}

    def _obs(self) -> np.ndarray:
        obs = np.zeros((6, 6), np.uint8)
        obs[0, self.cell] = 255
        return obs


TOY = Suite(
    name="toy",
    default_games=(GAME,),
    named_games=(GAME,),
    torso=((4, 3, 1),),
    preset="minatar",  # frame_skip 1, no colour: what this suite's frames need
    _games=lambda: (GAME,),
    _make_env=lambda game, frame_stack=4, **atari_only: stack_frames(Corridor(), frame_stack),
    _action_meanings=lambda env: ("LEFT", "RIGHT"),
    _attention_torso=lambda channels: nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU()
    ),
)


@pytest.fixture
def toy_suite(monkeypatch):
    monkeypatch.setattr(suites, "SUITES", [*suites.SUITES, TOY])


def test_a_registered_suite_is_listed_and_built(toy_suite):
    assert suite_of(GAME) is TOY and suite_named("toy") is TOY and check_game(GAME) == GAME
    assert suites.describe_games()["toy"] == [GAME]
    assert GAME in suites.named_games()
    env = make_env(GAME, frame_stack=2)
    obs, _ = env.reset(seed=0)
    spec = env_spec(env, GAME, 2)
    assert obs.shape == spec.obs_shape == (2, 6, 6)
    assert spec.action_meanings == ("LEFT", "RIGHT")
    env.close()


@pytest.mark.parametrize(
    "agent,overrides",
    [
        ("ddqn", {"learning_starts": 50, "replay_capacity": 500}),
        ("idqn", {"learning_starts": 50, "replay_capacity": 500}),
        (
            "attention",
            {"torso": "toy", "num_envs": 2, "unroll_length": 5, "core_channels": 8}
            | {"value_channels": 8, "policy_hidden": 16, "answer_hidden": 16},
        ),
    ],
)
def test_every_agent_kind_trains_on_a_registered_suite(toy_suite, tmp_path, agent, overrides):
    run = RunSpec(agent=agent, game=GAME, seed=0, frames=200, preset="minatar")
    summary = train(run, tmp_path / "run", overrides, device="cpu", progress=False)
    assert summary["agent_steps"] == 200 and summary["episodes"] > 0 and summary["updates"] > 0


def test_an_unregistered_suite_is_refused():
    with pytest.raises(UsageError, match="unknown game 'Toy-Corridor'"):
        suite_of(GAME)
    with pytest.raises(UsageError, match="unknown suite 'toy'; valid: atari, minatar"):
        suite_named("toy")


def test_a_suites_protocol_check_refuses_a_config_it_cannot_run():
    from agents.rundir import resolve

    with pytest.raises(UsageError, match="MinAtar has no action repeat"):
        resolve(RunSpec("ddqn", "MinAtar-Breakout", 0, 100, "minatar"), {"frame_skip": 4})
    resolve(RunSpec("ddqn", "Breakout", 0, 100, "paper"), {"frame_skip": 4})  # Atari: fine


def test_the_attention_agent_needs_a_suite_torso():
    no_torso = Suite("bare", (), (), ((4, 3, 1),), "minatar", lambda: (), None, None)
    with pytest.raises(UsageError, match="no torso for the bare suite"):
        no_torso.attention_torso(1)


def test_the_ale_games_read_without_ale_py_are_those_it_registers():
    """:func:`agents.suites.ale_games` reads ale-py's ROM list and names each game as ale-py's
    registration does, without importing it; an ale-py that names or drops a game otherwise
    fails here (same games, same order: ``python -m agents list`` shows them in it)."""
    assert suites.ale_games() == suites.registered_ale_games()
    assert {"Breakout", "MsPacman", "Pong", *suites.PAPER_GAMES} <= set(suites.ale_games())
