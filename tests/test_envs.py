import json
import os
import subprocess
import sys

import numpy as np
import pytest

from agents.envs import check_game, env_spec, make_env
from agents.errors import UsageError
from agents.networks import conv_output_size, conv_torso, torso_output_shape
from agents.replay import FrameReplay
from agents.suites import (
    ATARI,
    ATARI_GAMES,
    MINATAR,
    MINATAR_GAMES,
    PAPER_GAMES,
    describe_games,
    suite_of,
)

# Minimal action sets of ALE v5 for the paper's games and Pong.
EXPECTED_ACTIONS = {
    "Alien": 18,
    "Freeway": 3,
    "Frostbite": 18,
    "Gravitar": 18,
    "MsPacman": 9,
    "Qbert": 6,
    "SpaceInvaders": 6,
    "Venture": 18,
    "Pong": 6,
}


def test_game_list_is_the_papers_eight_plus_pong():
    assert len(PAPER_GAMES) == 8
    assert set(ATARI_GAMES) == set(EXPECTED_ACTIONS)


@pytest.mark.parametrize("game", ATARI_GAMES)
def test_gray_observations(game):
    env = make_env(game)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.action_space.n == EXPECTED_ACTIONS[game]
    obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    env.close()


@pytest.mark.parametrize("game", ["MsPacman", "SpaceInvaders"])
def test_color_observations_stack_four_rgb_frames(game):
    env = make_env(game, color=True)
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == (12, 210, 160) and obs.dtype == np.uint8
    spec = env_spec(env, game, 4)
    assert spec.frame_shape == (3, 210, 160)
    # The newest frame is the raw RGB screen (max-pooled over the last two emulator frames).
    frame = FrameReplay(10, spec.frame_shape, spec.frame_stack).newest_frame(obs)
    assert frame.shape == (3, 210, 160)
    assert len(np.unique(frame.reshape(3, -1), axis=1).T) > 2  # real colours, not gray
    env.close()


def test_protocol_settings():
    env = make_env("Pong")
    ale_env = env.unwrapped
    assert ale_env._frameskip == 1
    assert ale_env.ale.getFloat("repeat_action_probability") == 0.0
    names = []
    wrapper = env
    while wrapper is not ale_env:
        names.append(type(wrapper).__name__)
        if type(wrapper).__name__ == "AtariPreprocessing":
            assert wrapper.noop_max == 30 and wrapper.frame_skip == 4
            assert wrapper.terminal_on_life_loss is False
        wrapper = wrapper.env
    assert "FireResetEnv" in names and "FrameStackObservation" in names
    # Freeway has no FIRE action, so no fire-on-reset.
    freeway = make_env("Freeway")
    w, kinds = freeway, []
    while hasattr(w, "env"):
        kinds.append(type(w).__name__)
        w = w.env
    assert "FireResetEnv" not in kinds


def test_reset_stack_repeats_the_first_frame():
    env = make_env("Pong")
    obs, _ = env.reset(seed=3)
    assert all(np.array_equal(obs[0], obs[i]) for i in range(4))


def test_same_seed_same_episode_start():
    a, _ = make_env("MsPacman").reset(seed=7)
    b, _ = make_env("MsPacman").reset(seed=7)
    assert np.array_equal(a, b)


def test_unknown_game_lists_valid_ones():
    with pytest.raises(UsageError, match="valid games: Alien, Freeway"):
        check_game("Zork")


@pytest.mark.parametrize("game", MINATAR_GAMES)
def test_minatar_observations_are_binary_channel_first(game):
    env = make_env(game, frame_stack=1)
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        obs, *_ = env.step(env.action_space.sample())
    assert obs.dtype == np.uint8 and obs.shape[1:] == (10, 10)
    assert set(np.unique(obs)) <= {0, 255}
    spec = env_spec(env, game, 1)
    assert spec.frame_shape == obs.shape and len(spec.action_meanings) == env.action_space.n


# --- Suites: any ALE game, MinAtar, one record each (agents/suites.py) ---


def test_any_ale_game_makes_an_env_with_its_action_names():
    env = make_env("Breakout")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    spec = env_spec(env, "Breakout", 4)
    assert spec.action_meanings == ("NOOP", "FIRE", "RIGHT", "LEFT")
    assert suite_of("Breakout").action_meanings(env) == spec.action_meanings
    assert "FireResetEnv" in _wrapper_names(env)  # the protocol applies to every ALE game
    env.close()


def _wrapper_names(env) -> list[str]:
    names = []
    while hasattr(env, "env"):
        names.append(type(env).__name__)
        env = env.env
    return names


def test_suites_know_their_games():
    assert suite_of("Pong") is ATARI and suite_of("MinAtar-Asterix") is MINATAR
    assert ATARI.default_games == PAPER_GAMES and MINATAR.default_games == MINATAR_GAMES
    atari = ATARI.games()
    assert atari[: len(ATARI_GAMES)] == ATARI_GAMES  # the paper's games and Pong first
    assert {"Breakout", "MontezumaRevenge", "Pitfall2"} <= set(atari) and len(atari) > 100
    assert MINATAR.games() == MINATAR_GAMES
    assert not set(atari) & set(MINATAR_GAMES)  # a name alone says its suite
    assert describe_games() == {"atari": list(atari), "minatar": list(MINATAR_GAMES)}
    assert ATARI.matches("Breakout") and not ATARI.matches("MinAtar-Breakout")
    assert not MINATAR.matches("Breakout")


def test_unknown_game_is_one_line_pointing_at_the_full_list():
    with pytest.raises(UsageError) as info:
        suite_of("Zork")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "unknown game 'Zork'; valid games: Alien, Freeway, Frostbite, Gravitar, MsPacman, Qbert, "
        "SpaceInvaders, Venture, Pong, MinAtar-Breakout"
    )
    assert "any other ALE game (`python -m agents list` shows all" in message
    assert "did you mean" not in message
    with pytest.raises(UsageError, match=r"did you mean 'Breakout'\?$"):
        check_game("Breakot")
    with pytest.raises(UsageError, match=r"did you mean 'MinAtar-Breakout'\?$"):
        make_env("minatar-breakout")


@pytest.mark.parametrize(
    "game,frame_stack,color",
    [("Breakout", 4, False), ("MsPacman", 4, True), ("MinAtar-Breakout", 1, False)],
)
def test_suite_torso_fits_its_frames(game, frame_stack, color):
    suite = suite_of(game)
    env = suite.make_env(game, frame_stack=frame_stack, color=color)
    obs_shape = env.observation_space.shape
    torso = conv_torso(obs_shape, layers=suite.torso)
    assert conv_output_size(torso, obs_shape) == np.prod(
        torso_output_shape(obs_shape, layers=suite.torso)
    )
    env.close()


def test_suite_refuses_another_suites_game():
    with pytest.raises(UsageError, match="'MinAtar-Breakout' is not in the atari suite"):
        ATARI.make_env("MinAtar-Breakout")


def test_train_cli_runs_any_ale_game(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents",
            "train",
            "--agent",
            "ddqn",
            "--game",
            "Breakout",
            "--frames",
            "2000",
            "--out",
            str(out),
            "--set",
            "learning_starts=100",
            "--set",
            "replay_capacity=500",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["game"] == "Breakout" and summary["frames"] == 2000
