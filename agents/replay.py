"""Uniform experience replay that stores each frame once.

A stacked observation of 4 frames shares 3 of them with its neighbours, so storing whole stacks
(and next-stacks) costs 8x the memory. Here every entry of a ring buffer holds one frame, the
newest of an observation, plus the action taken from it, the reward and whether the episode
terminated. Stacks are rebuilt at sampling time from the previous entries, never reaching into
the previous episode: positions before an episode's first frame repeat that frame, exactly like
gymnasium's ``FrameStackObservation(padding_type="reset")``.

Each episode adds one entry per step plus one for its final observation (which carries no
action and is never sampled as a transition's start). 1M gray 84x84 entries take 7.06 GB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Batch:
    """A minibatch of transitions, on the learner's device."""

    obs: torch.Tensor  # uint8, (B, C, H, W)
    actions: torch.Tensor  # int64, (B,)
    rewards: torch.Tensor  # float32, (B,)
    terminated: torch.Tensor  # float32, (B,), 1.0 where s' is terminal
    next_obs: torch.Tensor  # uint8, (B, C, H, W)


def evenly_spaced(length: int, count: int) -> np.ndarray:
    """Positions of at most ``count`` items evenly spaced over ``range(length)``: every position
    when ``length <= count``, else the first, the last (when ``count >= 2``) and evenly spaced ones
    between. Subsamples the replay's states for a diagnosis without favouring its oldest or newest
    part."""
    if length <= count:
        return np.arange(length)
    return np.linspace(0, length - 1, count).round().astype(np.int64)


class FrameReplay:
    """Ring buffer of single frames that rebuilds frame stacks on sampling.

    Use it alongside one environment::

        replay.start_episode(frame_of(obs))
        ... replay.add(action, reward, terminated, frame_of(next_obs))   # each step
        (on episode end, the next start_episode follows; nothing else to call)

    Args:
        capacity: number of frames (entries) kept.
        frame_shape: shape of one frame, e.g. ``(84, 84)`` or ``(3, 210, 160)``.
        frame_stack: frames per observation.
    """

    def __init__(self, capacity: int, frame_shape: tuple[int, ...], frame_stack: int = 4):
        if capacity <= frame_stack + 1:
            raise ValueError(f"replay capacity must exceed frame_stack + 1, got {capacity}")
        self.capacity = capacity
        self.frame_shape = tuple(frame_shape)
        self.frame_stack = frame_stack
        # np.zeros maps pages lazily, so an unused 1M buffer costs nothing until written.
        self.frames = np.zeros((capacity, *self.frame_shape), dtype=np.uint8)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.has_action = np.zeros(capacity, dtype=bool)  # entry starts a stored transition
        self.episode_pos = np.zeros(capacity, dtype=np.int64)  # steps since episode start, capped
        self.cursor = 0  # where the next frame goes
        self.size = 0  # entries in use
        self.transitions_added = 0

    def __len__(self) -> int:
        return self.size

    @staticmethod
    def bytes_when_full(capacity: int, frame_shape: tuple[int, ...]) -> int:
        """Bytes the arrays of ``__init__`` take once all ``capacity`` entries are written.

        ``np.zeros`` maps pages lazily, so a replay costs this only as it fills, hours into a run:
        :func:`agents.rundir.check_memory` asks it up front instead.
        """
        entry = sum(np.dtype(t).itemsize for t in (np.int64, np.float32, bool, bool, np.int64))
        return capacity * (int(np.prod(frame_shape, dtype=np.int64)) + entry)

    def newest_frame(self, obs: np.ndarray) -> np.ndarray:
        """The most recent frame of a stacked observation (C * stack, H, W), as stored here."""
        channels = obs.shape[0] // self.frame_stack
        return obs[-1] if channels == 1 else obs[-channels:]

    def _write_frame(self, frame: np.ndarray, episode_pos: int) -> None:
        i = self.cursor
        self.frames[i] = frame
        self.has_action[i] = False
        self.episode_pos[i] = min(episode_pos, self.frame_stack - 1)
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def start_episode(self, frame: np.ndarray) -> None:
        """Store the first frame of a new episode."""
        self._write_frame(frame, 0)

    def add(self, action: int, reward: float, terminated: bool, next_frame: np.ndarray) -> None:
        """Record the step taken from the newest entry and store the next observation's frame."""
        if self.size == 0:
            raise RuntimeError("call start_episode() before add()")
        i = (self.cursor - 1) % self.capacity
        self.actions[i] = action
        self.rewards[i] = reward
        self.terminated[i] = terminated
        self.has_action[i] = True
        self._write_frame(next_frame, int(self.episode_pos[i]) + 1)
        self.transitions_added += 1

    def num_transitions(self) -> int:
        """Transitions that can be sampled now."""
        return int(self._sampleable_mask().sum())

    def _sampleable_mask(self) -> np.ndarray:
        mask = self.has_action.copy()
        if self.size == self.capacity:
            # The oldest entries may have lost their predecessors to overwriting.
            oldest = (self.cursor + np.arange(self.frame_stack - 1)) % self.capacity
            mask[oldest] = False
        return mask

    def _stacks(self, idx: np.ndarray) -> np.ndarray:
        """Frame stacks ending at entries ``idx``, shape (B, stack * channels, H, W)."""
        offsets = np.arange(1 - self.frame_stack, 1)  # e.g. [-3, -2, -1, 0]
        back = np.maximum(offsets[None, :], -self.episode_pos[idx][:, None])
        frames = self.frames[(idx[:, None] + back) % self.capacity]
        return frames.reshape(len(idx), -1, *frames.shape[-2:])

    def observations(self, count: int) -> np.ndarray:
        """Up to ``count`` stored observations (B, stack * channels, H, W), evenly spaced over the
        entries that start a transition: the states a diagnosis of the trained network
        (:mod:`agents.health`) asks about, the ones the agent learned from."""
        idx = np.flatnonzero(self._sampleable_mask())
        return self.observations_at(idx[evenly_spaced(len(idx), count)])

    def observations_at(self, idx: np.ndarray) -> np.ndarray:
        """The stored observations (B, stack * channels, H, W) that end at entries ``idx``."""
        return self._stacks(np.asarray(idx, dtype=np.int64))

    def returns_to_episode_end(self, gamma: float) -> tuple[np.ndarray, np.ndarray]:
        """Every entry that starts a transition of an episode that terminated inside the replay,
        and its discounted return to that end, sum over k of ``gamma**k * r[t + k]``.

        That return is what the policy that acted (exploration included) earned from the state,
        the quantity a Q estimate is checked against (:mod:`agents.health`). Entries of an
        episode still running at the newest entry, or cut off by truncation, have no such return
        and are left out.
        """
        oldest_to_newest = (self.cursor - self.size + np.arange(self.size)) % self.capacity
        returns = np.zeros(self.capacity, dtype=np.float64)
        ends_inside = np.zeros(self.capacity, dtype=bool)
        running, terminated = 0.0, False
        for i in oldest_to_newest[::-1]:
            if not self.has_action[i]:  # an episode's last observation, or the newest entry
                running, terminated = 0.0, False
            elif self.terminated[i]:
                running, terminated = float(self.rewards[i]), True
            else:
                running = float(self.rewards[i]) + gamma * running
            returns[i], ends_inside[i] = running, terminated
        idx = np.flatnonzero(self._sampleable_mask() & ends_inside)
        return idx, returns[idx]

    def sample_indices(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Uniformly sample entries that start a complete transition.

        Rejection sampling over the used entries: O(batch), whatever the capacity.
        """
        if self.transitions_added == 0:
            raise RuntimeError("no complete transition in the replay yet")
        full = self.size == self.capacity
        oldest = self.cursor if full else 0
        skip = self.frame_stack - 1 if full else 0  # entries whose predecessors were overwritten
        chosen = np.empty(0, dtype=np.int64)
        while len(chosen) < batch_size:
            logical = rng.integers(skip, self.size, size=2 * batch_size)
            idx = (oldest + logical) % self.capacity
            chosen = np.concatenate([chosen, idx[self.has_action[idx]]])
        return chosen[:batch_size]

    def sample(self, batch_size: int, rng: np.random.Generator, device: torch.device) -> Batch:
        """Sample a minibatch of transitions and move it to ``device``."""
        idx = self.sample_indices(batch_size, rng)
        next_idx = (idx + 1) % self.capacity
        pin = device.type == "cuda"

        def to(array: np.ndarray) -> torch.Tensor:
            tensor = torch.from_numpy(array)
            return (tensor.pin_memory() if pin else tensor).to(device, non_blocking=pin)

        return Batch(
            obs=to(self._stacks(idx)),
            actions=to(self.actions[idx]),
            rewards=to(self.rewards[idx]),
            terminated=to(self.terminated[idx].astype(np.float32)),
            next_obs=to(self._stacks(next_idx)),
        )

    # Checkpointing: plain tensors, so that torch.load(weights_only=True) can read them back.
    def state_dict(self) -> dict[str, object]:
        used = slice(0, self.size)
        return {
            "capacity": self.capacity,
            "frame_shape": list(self.frame_shape),
            "cursor": self.cursor,
            "size": self.size,
            "transitions_added": self.transitions_added,
            "frames": torch.from_numpy(self.frames[used].copy()),
            "actions": torch.from_numpy(self.actions[used].copy()),
            "rewards": torch.from_numpy(self.rewards[used].copy()),
            "terminated": torch.from_numpy(self.terminated[used].copy()),
            "has_action": torch.from_numpy(self.has_action[used].copy()),
            "episode_pos": torch.from_numpy(self.episode_pos[used].copy()),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        if state["capacity"] != self.capacity or tuple(state["frame_shape"]) != self.frame_shape:
            raise ValueError("replay checkpoint has a different capacity or frame shape")
        size = int(state["size"])
        for name in ("frames", "actions", "rewards", "terminated", "has_action", "episode_pos"):
            getattr(self, name)[:size] = state[name].numpy()
        self.cursor = int(state["cursor"])
        self.size = size
        self.transitions_added = int(state["transitions_added"])
