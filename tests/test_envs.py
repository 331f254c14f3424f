import numpy as np
import pytest

from agents.envs import (
    ATARI_GAMES,
    MINATAR_GAMES,
    PAPER_GAMES,
    check_game,
    env_spec,
    make_env,
    newest_frame,
)
from agents.errors import UsageError

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
    frame = newest_frame(obs, spec)
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
