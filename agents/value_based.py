"""What every value-based agent shares: a frame replay and the learning schedule around it.

DDQN and i-DQN subclass :class:`ValueBasedAgent` and implement the algorithm itself: ``act``,
``act_eval``, ``update(batch, step)`` (one gradient step) and ``sync_target``. The base owns
what Dopamine's agents own: the replay, reward clipping, learning starts, the update frequency
and target syncs, and the replay's place in a checkpoint.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch

from agents.config import TrainConfig
from agents.contract import Agent, EnvSpec
from agents.replay import Batch, FrameReplay
from agents.rollout import Step


class ValueBasedAgent(Agent):
    """An agent that learns from uniformly sampled replay, every ``train_freq`` steps."""

    config: TrainConfig

    def __init__(self, config: TrainConfig, spec: EnvSpec, device: torch.device):
        super().__init__(config, spec, device)
        self.replay = FrameReplay(config.replay_capacity, spec.frame_shape, config.frame_stack)

    @abstractmethod
    def update(self, batch: Batch, step: int) -> dict[str, Any]:
        """One gradient step on a minibatch; returns detached statistics (:attr:`log_columns`)."""

    @abstractmethod
    def sync_target(self) -> None:
        """Copy the online network into the target network."""

    def observe(self, step: Step, global_step: int, rng: np.random.Generator) -> dict | None:
        c = self.config
        if step.t == 0 or len(self.replay) == 0:  # an episode's first frame (or a fresh replay)
            self.replay.start_episode(self.replay.newest_frame(step.obs))
        reward = float(np.clip(step.reward, -1.0, 1.0)) if c.clip_rewards else step.reward
        self.replay.add(
            step.action, reward, step.terminated, self.replay.newest_frame(step.next_obs)
        )
        stats = None
        if global_step % c.train_freq == 0 and self.replay.transitions_added >= max(
            c.learning_starts, 1
        ):
            stats = self.update(self.replay.sample(c.batch_size, rng, self.device), global_step)
            self.updates += 1
        if global_step % c.target_sync_steps == 0:
            self.sync_target()
        return stats

    def memory_state_dict(self) -> dict[str, Any] | None:
        return self.replay.state_dict() if self.config.checkpoint_replay else None

    def load_memory_state_dict(self, state: dict[str, Any]) -> None:
        self.replay.load_state_dict(state)
