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
        self.store(step)
        stats = None
        if self.update_due(global_step):
            stats = self.update(
                self.replay.sample(self.config.batch_size, rng, self.device), global_step
            )
            self.updates += 1
        if self.target_sync_due(global_step):
            self.sync_target()
        return stats

    # observe's three parts, apart, for a loop that batches the update of several agents
    # (agents.lockstep): store, then sample and update when due, then sync the target when due.
    def store(self, step: Step) -> None:
        """Put one training step into the replay (its reward clipped if the config says so)."""
        c = self.config
        if step.t == 0 or len(self.replay) == 0:  # an episode's first frame (or a fresh replay)
            self.replay.start_episode(self.replay.newest_frame(step.obs))
        reward = float(np.clip(step.reward, -1.0, 1.0)) if c.clip_rewards else step.reward
        self.replay.add(
            step.action, reward, step.terminated, self.replay.newest_frame(step.next_obs)
        )

    def update_due(self, global_step: int) -> bool:
        """Whether the step just stored is followed by a learning update."""
        c = self.config
        return global_step % c.train_freq == 0 and self.replay.transitions_added >= max(
            c.learning_starts, 1
        )

    def target_sync_due(self, global_step: int) -> bool:
        """Whether the target network is synced after this step (and its update, if any)."""
        return global_step % self.config.target_sync_steps == 0

    def memory_state_dict(self) -> dict[str, Any] | None:
        return self.replay.state_dict() if self.config.checkpoint_replay else None

    def load_memory_state_dict(self, state: dict[str, Any]) -> None:
        self.replay.load_state_dict(state)
