"""How spread out i-DQN's attention is: the number behind the paper's Figs 9b/c.

The paper says that without the diversity loss (lambda_4 = 0) "the agent attends over a small set
of keys". Two statistics of the attention weights w_a(s) over the N keys of each action say how
small, per state and action, then averaged:

* the entropy, -sum_i w_i log w_i: 0 for attention on one key, log N for uniform attention;
* the count of keys holding at least ``mass`` of the attention (default 1%): 1 and N there.
"""

from __future__ import annotations

import numpy as np
import torch

DEFAULT_MASS = 0.01


def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) over the last axis of attention weights that sum to 1 there."""
    logs = torch.where(weights > 0, weights.log(), torch.zeros_like(weights))
    return -(weights * logs).sum(dim=-1)


def keys_holding(weights: torch.Tensor, mass: float = DEFAULT_MASS) -> torch.Tensor:
    """How many keys (last axis) hold at least ``mass`` of the attention."""
    return (weights >= mass).sum(dim=-1)


def attention_spread(agent, observations: np.ndarray, mass: float = DEFAULT_MASS) -> dict:
    """Mean entropy and key count of an i-DQN agent's attention over ``observations``.

    Returns ``{"entropy": (A,), "keys": (A,), "entropy_max": log N, "keys_max": N}``, the
    per-action means over the states, so settings compare action by action.
    """
    weights = agent.inspect(observations).attention.float().cpu()  # (B, A, N)
    return {
        "entropy": attention_entropy(weights).mean(dim=0).numpy(),
        "keys": keys_holding(weights, mass).float().mean(dim=0).numpy(),
        "entropy_max": float(np.log(weights.shape[-1])),
        "keys_max": int(weights.shape[-1]),
    }
