import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.wrappers import FrameStackObservation

from agents.replay import FrameReplay, evenly_spaced


class CounterEnv(gym.Env):
    """Each frame is filled with a unique id, so a stack shows exactly which frames it holds."""

    observation_space = gym.spaces.Box(0, 255, (2, 3), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def __init__(self, rng):
        self.rng, self.counter = rng, 0

    def _frame(self):
        self.counter += 1
        return np.full((2, 3), self.counter % 251, dtype=np.uint8)

    def reset(self, *, seed=None, options=None):
        self.left = int(self.rng.integers(1, 9))  # short episodes, shorter than a stack too
        return self._frame(), {}

    def step(self, action):
        self.left -= 1
        ended = self.left == 0
        terminated = ended and self.rng.random() < 0.5  # otherwise truncated
        return self._frame(), float(self.counter), terminated, ended and not terminated, {}


def fill(replay, steps, seed=0):
    """Play CounterEnv through gymnasium's own frame stacker; return every true transition."""
    rng = np.random.default_rng(seed)
    env = FrameStackObservation(CounterEnv(rng), 4)
    truth = {}
    obs, _ = env.reset()
    replay.start_episode(obs[-1])
    for _ in range(steps):
        action = int(rng.integers(3))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        entry = (replay.cursor - 1) % replay.capacity
        replay.add(action, reward, terminated, next_obs[-1])
        truth[entry] = (obs, action, reward, terminated, next_obs)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
            replay.start_episode(obs[-1])
    return truth


@pytest.mark.parametrize("capacity,steps", [(500, 300), (50, 400)])  # without and with wrap-around
def test_stacks_match_gymnasium_frame_stack_across_episodes(capacity, steps):
    replay = FrameReplay(capacity, (2, 3), frame_stack=4)
    truth = fill(replay, steps)
    rng = np.random.default_rng(1)
    idx = replay.sample_indices(400, rng)
    batch = replay.sample(400, np.random.default_rng(1), torch.device("cpu"))
    for row, i in enumerate(idx):
        obs, action, reward, terminated, next_obs = truth[int(i)]
        assert np.array_equal(batch.obs[row].numpy(), obs)
        assert np.array_equal(batch.next_obs[row].numpy(), next_obs)
        assert batch.actions[row] == action and batch.rewards[row] == reward
        assert batch.terminated[row] == float(terminated)


def test_never_samples_an_episode_final_frame_or_overwritten_history():
    replay = FrameReplay(50, (2, 3), frame_stack=4)
    truth = fill(replay, 400)
    idx = replay.sample_indices(5000, np.random.default_rng(2))
    assert set(idx.tolist()) <= set(truth)
    oldest = {(replay.cursor + k) % replay.capacity for k in range(3)}
    assert not oldest & set(idx.tolist())
    # Every sampleable entry is reached: sampling is uniform over them.
    assert len(set(idx.tolist())) == replay.num_transitions()


@pytest.mark.parametrize("capacity,steps", [(500, 300), (50, 400)])
def test_observations_are_true_stacks_spread_over_the_replay(capacity, steps):
    replay = FrameReplay(capacity, (2, 3), frame_stack=4)
    truth = fill(replay, steps)
    observations = replay.observations(20)
    assert observations.shape == (20, 4, 2, 3)
    stacks = {obs.tobytes() for obs, *_ in truth.values()}
    assert all(obs.tobytes() in stacks for obs in observations)  # never across episodes
    every = replay.observations(10_000)
    assert len(every) == replay.num_transitions()


@pytest.mark.parametrize("length,count", [(0, 5), (3, 5), (5, 5), (100, 7), (1000, 2), (10, 1)])
def test_evenly_spaced_keeps_the_ends_and_never_repeats(length, count):
    positions = evenly_spaced(length, count)
    assert len(positions) == min(length, count)
    assert len(set(positions.tolist())) == len(positions)
    if length:
        assert positions[0] == 0
    if min(length, count) >= 2:
        assert positions[-1] == length - 1
    if length > count >= 2:  # gaps differ by at most one: no part of the range is favoured
        gaps = np.diff(positions)
        assert gaps.max() - gaps.min() <= 1


def test_state_dict_roundtrip():
    replay = FrameReplay(50, (2, 3))
    fill(replay, 120)
    copy = FrameReplay(50, (2, 3))
    copy.load_state_dict(replay.state_dict())
    a = replay.sample(16, np.random.default_rng(3), torch.device("cpu"))
    b = copy.sample(16, np.random.default_rng(3), torch.device("cpu"))
    assert torch.equal(a.obs, b.obs) and torch.equal(a.next_obs, b.next_obs)


def test_color_frames_concatenate_channels():
    replay = FrameReplay(20, (3, 4, 5))
    replay.start_episode(np.full((3, 4, 5), 1, np.uint8))
    replay.add(0, 0.0, False, np.full((3, 4, 5), 2, np.uint8))
    batch = replay.sample(1, np.random.default_rng(0), torch.device("cpu"))
    assert batch.obs.shape == (1, 12, 4, 5)
    assert batch.next_obs[0, :9].eq(1).all() and batch.next_obs[0, 9:].eq(2).all()


def test_stores_each_frame_once():
    replay = FrameReplay(1000, (84, 84))
    assert replay.frames.nbytes == 1000 * 84 * 84


@pytest.mark.parametrize("capacity,steps", [(500, 300), (50, 400)])  # without and with wrap-around
def test_returns_to_episode_end_match_a_replay_of_the_episodes(capacity, steps):
    replay = FrameReplay(capacity, (2, 3), frame_stack=4)
    rng = np.random.default_rng(3)
    env = FrameStackObservation(CounterEnv(rng), 4)
    obs, _ = env.reset()
    replay.start_episode(obs[-1])
    played = []  # (entry, reward, terminated, episode over) in the order played
    for _ in range(steps):
        next_obs, reward, terminated, truncated, _ = env.step(int(rng.integers(3)))
        played.append(((replay.cursor - 1) % capacity, reward, terminated, terminated or truncated))
        replay.add(0, reward, terminated, next_obs[-1])
        if terminated or truncated:
            obs, _ = env.reset()
            replay.start_episode(obs[-1])
    expected, running, ends_in_termination, seen = {}, 0.0, False, set()
    for entry, reward, terminated, over in reversed(played):
        if over:
            running, ends_in_termination = 0.0, terminated
        running = reward + 0.9 * running
        if entry not in seen:  # the newest step to write an entry is the one stored there
            seen.add(entry)
            if ends_in_termination:
                expected[entry] = running
    sampleable = set(replay.sample_indices(20000, np.random.default_rng(4)).tolist())
    expected = {e: g for e, g in expected.items() if e in sampleable}
    idx, returns = replay.returns_to_episode_end(0.9)
    assert dict(zip(idx.tolist(), returns.tolist(), strict=True)) == pytest.approx(expected)
    assert 0 < len(expected) < len(sampleable)  # the running episode and truncations are left out
