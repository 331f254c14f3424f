"""The attention-augmented agent (Mott et al. 2019) as a trainable agent: an advantage
actor-critic over fixed-length unrolls from synchronous environments.

Read top to bottom (the config, :class:`~agents.config.AttentionConfig`, is in
:mod:`agents.config`): acting (one step in N environments, recurrent state carried),
learning (re-run the network over the unroll from the state it started in, GAE, the A2C loss,
RMSProp, gradient clipping), memory for an exact resume, and the single-environment acting that
evaluation and the analyses use. The network is :class:`agents.attention.AttentionNet`; the
losses are :mod:`agents.actor_critic`.

Mott et al. trained with IMPALA (many actors, V-trace off-policy correction). Here one process
acts and learns in turn, so every unroll is on-policy: V-trace's corrections are then all 1 and it
reduces to n-step returns, which GAE with ``gae_lambda: 1`` gives exactly. What is kept and what
is scaled down is listed in the presets (``agents/presets/attention/``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.actor_critic import a2c_loss, gae, unroll
from agents.attention import AttentionNet, AttentionOutput, AttentionState
from agents.config import AttentionConfig
from agents.contract import EnvSpec, VectorAgent, VectorStep
from agents.rollout import Step


def _sample(logits: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``logits`` (N, A), drawn with ``rng`` (inverse CDF), so that the
    run's one numpy stream decides every action and a resume redraws the same ones."""
    probs = torch.softmax(logits.double(), dim=-1).cpu().numpy()  # (N, A)
    cdf = probs.cumsum(axis=1)
    draws = rng.random(len(probs))[:, None]  # (N, 1)
    return np.minimum((cdf < draws).sum(axis=1), probs.shape[1] - 1).astype(np.int64)


class AttentionAgent(VectorAgent):
    """Mott et al.'s agent, trained by A2C with GAE over unrolls of ``unroll_length`` steps."""

    name = "attention"
    readout = "attention"  # what the policy LSTM reads (agents.attention.AttentionNet)
    log_columns = ("loss", "policy", "value", "entropy", "grad_norm")
    config: AttentionConfig

    def __init__(self, config: AttentionConfig, spec: EnvSpec, device: torch.device):
        super().__init__(config, spec, device)
        c = config
        self.net = AttentionNet(
            spec.obs_shape,
            spec.num_actions,
            torso=c.torso,
            core_channels=c.core_channels,
            key_channels=c.key_channels,
            value_channels=c.value_channels,
            basis_u=c.basis_u,
            basis_v=c.basis_v,
            num_queries=c.num_queries,
            policy_hidden=c.policy_hidden,
            answer_hidden=c.answer_hidden,
            readout=self.readout,
            init=c.init,
            core_norm=c.core_norm,
            attention_scale=c.attention_scale,
        ).to(device)
        self.optimizer = torch.optim.RMSprop(
            self.net.parameters(), lr=c.lr, alpha=c.rmsprop_alpha, eps=c.rmsprop_eps
        )
        n = c.num_envs
        # What the next step of the N training environments is conditioned on.
        self.state = self.net.initial_state(n, device)
        self.prev_actions = torch.zeros(n, dtype=torch.int64, device=device)  # (N,)
        self.prev_rewards = torch.zeros(n, device=device)  # (N,), clipped if the config clips
        self.starts = torch.ones(n, dtype=torch.bool, device=device)  # (N,) s_t begins an episode
        # The unroll being collected: one dict of tensors per step, and the state before it.
        self.unroll_steps: list[dict[str, torch.Tensor]] = []
        self.unroll_state: AttentionState = self.state
        self._eval = self._fresh_eval_memory()

    # Acting in N environments ------------------------------------------------------------------
    def act_vector(self, obs: np.ndarray, step: int, rng: np.random.Generator) -> np.ndarray:
        obs_t = torch.as_tensor(obs, device=self.device)  # (N, C, H, W) uint8
        if not self.unroll_steps:
            self.unroll_state = self.state
        with torch.no_grad():
            out = self.net(obs_t, self.prev_actions, self.prev_rewards, self.starts, self.state)
        actions = _sample(out.logits, rng)  # (N,)
        self.unroll_steps.append(
            {
                "obs": obs_t,
                "prev_actions": self.prev_actions,
                "prev_rewards": self.prev_rewards,
                "starts": self.starts,
                "actions": torch.as_tensor(actions, device=self.device),
            }
        )
        self.state = out.state
        return actions

    def observe_vector(
        self, step: VectorStep, global_step: int, rng: np.random.Generator
    ) -> dict | None:
        rewards = torch.as_tensor(step.rewards, dtype=torch.float32, device=self.device)  # (N,)
        if self.config.clip_rewards:
            rewards = rewards.clamp(-1.0, 1.0)
        dones = torch.as_tensor(step.done, device=self.device)  # (N,) bool
        self.unroll_steps[-1].update(rewards=rewards, dones=dones)
        self.prev_actions = self.unroll_steps[-1]["actions"]
        self.prev_rewards = rewards
        self.starts = dones
        if len(self.unroll_steps) < self.config.unroll_length:
            return None
        stats = self._learn(torch.as_tensor(step.next_obs, device=self.device))
        self.updates += 1
        return stats

    # Learning ----------------------------------------------------------------------------------
    def _learn(self, next_obs: torch.Tensor) -> dict[str, float]:
        """One update on the completed unroll: BPTT from the state the unroll started in."""
        c = self.config
        batch = {k: torch.stack([s[k] for s in self.unroll_steps]) for k in self.unroll_steps[0]}
        self.unroll_steps = []  # (T, N, ...) tensors in batch
        result = unroll(
            self.net,
            batch["obs"],
            batch["prev_actions"],
            batch["prev_rewards"],
            batch["starts"],
            self.unroll_state,
        )
        with torch.no_grad():  # V(s_T) from where the unroll left off, for the bootstrap
            bootstrap = self.net(
                next_obs, self.prev_actions, self.prev_rewards, self.starts, _detach(result.state)
            ).value  # (N,)
        advantages, returns = gae(
            batch["rewards"],
            result.values.detach(),
            bootstrap,
            batch["dones"].float(),
            c.gamma,
            c.gae_lambda,
        )
        loss, parts = a2c_loss(
            result.logits,
            result.values,
            batch["actions"],
            advantages,
            returns,
            c.entropy_cost,
            c.baseline_cost,
        )
        steps = batch["actions"].numel()  # T x N
        self.optimizer.zero_grad(set_to_none=True)
        (loss * steps if c.loss_reduction == "sum" else loss).backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), c.grad_clip_norm)
        self.optimizer.step()
        stats = {name: float(value.detach()) for name, value in parts.items()}
        return {"loss": float(loss.detach()), **stats, "grad_norm": float(grad_norm)}

    # Checkpoint state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])

    def weights_state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict()}

    def load_weights_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])

    def memory_state_dict(self) -> dict[str, Any]:
        """The recurrent state, what conditions the next step, and the unroll collected so far
        (non-empty only when a budget ends mid-unroll): what an exact resume needs."""
        partial = (
            {k: torch.stack([s[k] for s in self.unroll_steps]) for k in self.unroll_steps[0]}
            if self.unroll_steps
            else None
        )
        return {
            "state": _state_dict(self.state),
            "unroll_state": _state_dict(self.unroll_state),
            "prev_actions": self.prev_actions,
            "prev_rewards": self.prev_rewards,
            "starts": self.starts,
            "unroll": partial,
        }

    def load_memory_state_dict(self, state: dict[str, Any]) -> None:
        device = self.device
        self.state = _load_state(state["state"], device)
        self.unroll_state = _load_state(state["unroll_state"], device)
        self.prev_actions = state["prev_actions"].to(device)
        self.prev_rewards = state["prev_rewards"].to(device)
        self.starts = state["starts"].to(device)
        partial = state["unroll"]
        self.unroll_steps = (
            []
            if partial is None
            else [
                {k: v[t].to(device) for k, v in partial.items()} for t in range(len(partial["obs"]))
            ]
        )

    # Acting in one environment (evaluation, analyses) ------------------------------------------
    def _fresh_eval_memory(self) -> dict[str, Any]:
        return {
            "state": self.net.initial_state(1, self.device),
            "prev_action": torch.zeros(1, dtype=torch.int64, device=self.device),
            "prev_reward": torch.zeros(1, device=self.device),
            "start": torch.ones(1, dtype=torch.bool, device=self.device),
            "last": None,
        }

    def begin_episode(self, obs: np.ndarray) -> None:
        self._eval = self._fresh_eval_memory()

    def step_one(self, obs: np.ndarray) -> AttentionOutput:
        """Advance the single-environment recurrent state by one observation and return the
        network's output (logits, value, attention maps): what the attention figures draw."""
        m = self._eval
        obs_t = torch.as_tensor(obs, device=self.device).unsqueeze(0)
        with torch.no_grad():
            out = self.net(obs_t, m["prev_action"], m["prev_reward"], m["start"], m["state"])
        m["state"], m["start"], m["last"] = out.state, torch.zeros_like(m["start"]), out
        return out

    def eval_memory(self) -> dict[str, Any]:
        """A snapshot of the single-environment memory (what the next :meth:`step_one` is
        conditioned on); :meth:`restore_eval_memory` puts it back. The analyses use it to read a
        moment of an episode again, e.g. its saliency, after playing on."""
        return dict(self._eval)  # a shallow copy suffices: steps replace tensors, never mutate them

    def restore_eval_memory(self, memory: dict[str, Any]) -> None:
        self._eval = dict(memory)

    @property
    def last_output(self) -> AttentionOutput | None:
        """The output of the last :meth:`step_one` (None before an episode's first step)."""
        return self._eval["last"]

    def act_eval(self, obs: np.ndarray, rng: np.random.Generator) -> int:
        """A draw from the policy (Mott et al. evaluate the stochastic policy, as IMPALA does)."""
        return int(_sample(self.step_one(obs).logits, rng)[0])

    def act(self, obs: np.ndarray, step: int, rng: np.random.Generator) -> int:
        return self.act_eval(obs, rng)

    def after_step(self, step: Step) -> None:
        reward = float(np.clip(step.reward, -1, 1)) if self.config.clip_rewards else step.reward
        self._eval["prev_action"] = torch.tensor([step.action], device=self.device)
        self._eval["prev_reward"] = torch.tensor([reward], device=self.device)

    # Capabilities (analyses) -------------------------------------------------------------------
    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        """Policy logits (B, A) of each observation, as the first step of an episode (zero
        recurrent state): the preferences the perturbation-saliency analyses compare. Within an
        episode the agent's preferences also depend on its memory; :meth:`preferences_in_context`
        gives those."""
        return self._first_step(obs).logits

    def preferences_in_context(self, obs: torch.Tensor) -> torch.Tensor:
        """Logits (B, A) of B versions of the next observation, each from the current
        single-environment memory (the state before :meth:`step_one` would take it): saliency of
        a recurrent agent at a moment of an episode. Does not advance the memory."""
        m, batch = self._eval, len(obs)
        state = AttentionState(*(t.expand(batch, *t.shape[1:]) for t in _state_tuple(m["state"])))
        with torch.no_grad():
            return self.net(
                torch.as_tensor(obs, device=self.device),
                m["prev_action"].expand(batch),
                m["prev_reward"].expand(batch),
                m["start"].expand(batch),
                state,
            ).logits

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The policy LSTM's hidden state (B, P) after each observation as an episode's first."""
        return self._first_step(obs).state.policy_hidden

    def _first_step(self, obs: torch.Tensor) -> AttentionOutput:
        """The network's output for each of B observations as the first step of an episode."""
        batch = len(obs)
        with torch.no_grad():
            return self.net(
                torch.as_tensor(obs, device=self.device),
                torch.zeros(batch, dtype=torch.int64, device=self.device),
                torch.zeros(batch, device=self.device),
                torch.ones(batch, dtype=torch.bool, device=self.device),
                self.net.initial_state(batch, self.device),
            )


class PooledAgent(AttentionAgent):
    """The no-attention baseline of Mott et al.'s claim that attention costs little score: the
    same agent, learner and settings, with the value maps averaged over the locations in place
    of the attention readouts. Its ``attention`` outputs have no maps (Q = 0)."""

    name = "no-attention"
    readout = "pool"


def _state_tuple(state: AttentionState) -> tuple[torch.Tensor, ...]:
    return (state.vision_hidden, state.vision_cell, state.policy_hidden, state.policy_cell)


def _detach(state: AttentionState) -> AttentionState:
    return AttentionState(*(t.detach() for t in _state_tuple(state)))


def _state_dict(state: AttentionState) -> dict[str, torch.Tensor]:
    names = ("vision_hidden", "vision_cell", "policy_hidden", "policy_cell")
    return dict(zip(names, _state_tuple(_detach(state)), strict=True))


def _load_state(saved: dict[str, torch.Tensor], device: torch.device) -> AttentionState:
    return AttentionState(**{k: v.to(device) for k, v in saved.items()})
