"""Advantage actor-critic pieces for a recurrent agent, over unrolls of fixed length.

The learner of the attention agent (issue 13) is built from these: an unroll of T steps from B
synchronous environments, the network re-run over it from the recurrent state it started with
(backpropagation through time), generalised advantage estimation (Schulman et al. 2016), and the
A2C loss with an entropy bonus (Mnih et al. 2016). Shapes are time-major: (T, B, ...).

    advantages, returns = gae(rewards, values, bootstrap, dones, gamma, lam)
    loss = policy loss + baseline_cost * value loss - entropy_cost * entropy
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from agents.attention import AttentionNet, AttentionState


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap: torch.Tensor,
    dones: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantages and lambda-returns of an unroll.

    Args:
        rewards: (T, B), r_t for the step from s_t.
        values: (T, B), V(s_t).
        bootstrap: (B,), V(s_T), the state after the unroll.
        dones: (T, B), 1.0 where the step from s_t ended its episode (no bootstrap across it).
        gamma, lam: the discount and GAE's lambda (1.0 gives Monte-Carlo returns minus V).

    Returns:
        ``(advantages, returns)``, both (T, B); returns = advantages + values.
    """
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(bootstrap)
    next_value = bootstrap
    for t in reversed(range(steps)):
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * not_done - values[t]  # (B,)
        running = delta + gamma * lam * not_done * running
        advantages[t] = running
        next_value = values[t]
    return advantages, advantages + values


@dataclass
class Unroll:
    """What the network gives over an unroll, time-major."""

    logits: torch.Tensor  # (T, B, A)
    values: torch.Tensor  # (T, B)
    attention: torch.Tensor  # (T, B, Q, h, w)
    state: AttentionState  # after the last step


def unroll(
    net: AttentionNet,
    obs: torch.Tensor,
    prev_actions: torch.Tensor,
    prev_rewards: torch.Tensor,
    episode_starts: torch.Tensor,
    state: AttentionState,
) -> Unroll:
    """Run ``net`` step by step over (T, B, ...) inputs from ``state``, carrying its state."""
    logits, values, attention = [], [], []
    for t in range(obs.shape[0]):
        out = net(obs[t], prev_actions[t], prev_rewards[t], episode_starts[t], state)
        logits.append(out.logits)  # (B, A)
        values.append(out.value)  # (B,)
        attention.append(out.attention)  # (B, Q, h, w)
        state = out.state
    return Unroll(torch.stack(logits), torch.stack(values), torch.stack(attention), state)


def a2c_loss(
    logits: torch.Tensor,
    values: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    entropy_cost: float,
    baseline_cost: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The A2C loss of an unroll: -log pi(a|s) * A, squared value error, minus the entropy.

    ``logits`` (T, B, A) and ``values`` (T, B) carry gradients; ``advantages`` and ``returns``
    (T, B) are targets (detached here); ``actions`` (T, B) int64. Means over T and B.
    """
    advantages, returns = advantages.detach(), returns.detach()
    log_probs = F.log_softmax(logits, dim=-1)  # (T, B, A)
    taken = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # (T, B)
    policy = -(taken * advantages).mean()
    value = 0.5 * (returns - values).pow(2).mean()
    entropy = -(log_probs.exp() * log_probs).sum(dim=-1).mean()
    total = policy + baseline_cost * value - entropy_cost * entropy
    return total, {"policy": policy, "value": value, "entropy": entropy}
