"""How spread out i-DQN's attention is: the number behind the paper's Figs 9b/c.

The paper says that without the diversity loss (lambda_4 = 0) "the agent attends over a small set
of keys". Two statistics of the attention weights w_a(s) over the N keys of each action say how
small, per state and action, then averaged:

* the entropy, -sum_i w_i log w_i: 0 for attention on one key, log N for uniform attention;
* the count of keys holding at least ``mass`` of the attention (default 1%): 1 and N there.

The paper's diversity loss ||A A^T - I|| works across the batch: it asks each state's attention to
peak on a few keys and different states to use different keys. So the construct has two sides,
measured over the same states (:func:`across_states`):

* across states, whether states use different keys: the number of distinct argmax keys, and the
  entropy of the state-averaged attention;
* per state, whether attention peaks: the top weight, and the effective number of keys
  exp(entropy) (1 for one key, N for uniform attention).
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


def across_states(weights: torch.Tensor) -> dict[str, np.ndarray]:
    """Per action (axis 1 of ``weights``, shaped (states, actions, keys)): the distinct argmax keys
    over the states, the entropy of the state-averaged attention, and the per-state peakedness
    averaged over states (top weight, effective number of keys exp(entropy))."""
    argmax = weights.argmax(dim=-1)  # (B, A)
    distinct = [len(torch.unique(argmax[:, a])) for a in range(weights.shape[1])]
    return {
        "distinct_keys": np.array(distinct, dtype=float),
        "averaged_entropy": attention_entropy(weights.mean(dim=0)).numpy(),
        "top_weight": weights.max(dim=-1).values.mean(dim=0).numpy(),
        "effective_keys": attention_entropy(weights).exp().mean(dim=0).numpy(),
    }


def attention_spread(agent, observations: np.ndarray, mass: float = DEFAULT_MASS) -> dict:
    """Mean entropy and key count of an i-DQN agent's attention over ``observations``.

    Returns ``{"entropy": (A,), "keys": (A,), "entropy_max": log N, "keys_max": N}``, the
    per-action means over the states, so settings compare action by action, and the
    :func:`across_states` measures, (A,) each.
    """
    weights = agent.inspect(observations).attention.float().cpu()  # (B, A, N)
    return across_states(weights) | {
        "entropy": attention_entropy(weights).mean(dim=0).numpy(),
        "keys": keys_holding(weights, mass).float().mean(dim=0).numpy(),
        "entropy_max": float(np.log(weights.shape[-1])),
        "keys_max": int(weights.shape[-1]),
    }
