"""A uniform-random policy: the floor every table normalises by, kept as a real baseline.

It is also the smallest example of the agent contract (:mod:`agents.contract`): no memory, no
learning, a config with only the keys every agent has.
"""

from __future__ import annotations

import numpy as np
import torch

from agents.config import RandomConfig
from agents.contract import Agent, EnvSpec


class RandomAgent(Agent):
    """Picks every action uniformly at random, in training and in evaluation alike."""

    name = "random"

    def __init__(self, config: RandomConfig, spec: EnvSpec, device: torch.device):
        super().__init__(config, spec, device)

    def act(self, obs: np.ndarray, step: int, rng: np.random.Generator) -> int:
        return int(rng.integers(self.spec.num_actions))

    def act_eval(self, obs: np.ndarray, rng: np.random.Generator) -> int:
        return int(rng.integers(self.spec.num_actions))

    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        """Equal preferences for every action: the policy is uniform."""
        return torch.zeros(len(obs), self.spec.num_actions)

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The raw pixels, flattened and scaled to [0, 1]: the random agent learns no embedding."""
        return torch.as_tensor(obs).float().flatten(1) / 255.0
