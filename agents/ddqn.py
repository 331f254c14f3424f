"""Double DQN (van Hasselt, Guez & Silver, 2016): the paper's baseline.

Reads top to bottom: network, target, agent (action selection, update, checkpoint state,
capabilities). The replay and the learning schedule come from :mod:`agents.value_based`; the
config, :class:`~agents.config.DDQNConfig`, from :mod:`agents.config` (which imports no torch).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.config import DDQNConfig
from agents.contract import EnvSpec
from agents.networks import (
    ConvLayers,
    bf16_autocast,
    clip_gradients,
    conv_output_size,
    conv_torso,
    make_adam,
    pixels_to_float,
    xavier_init,
)
from agents.replay import Batch
from agents.suites import suite_of
from agents.value_based import ValueBasedAgent


class QNetwork(nn.Module):
    """Nature-DQN (MinAtar: a smaller torso): conv trunk, one hidden layer, a Q-value per action."""

    def __init__(
        self,
        obs_shape: tuple[int, ...],
        num_actions: int,
        hidden_dim: int = 512,
        bf16: bool = False,
        *,
        layers: ConvLayers,
    ):
        super().__init__()
        self.bf16 = bf16
        self.trunk = conv_torso(obs_shape, layers=layers)
        self.head = nn.Sequential(
            nn.Linear(conv_output_size(self.trunk, obs_shape), hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, num_actions),
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 observations (B, C, H, W) -> Q-values (B, A)."""
        return self.q_of_pixels(pixels_to_float(obs))

    def q_of_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Float pixels (B, C, H, W) in [0, 1] -> Q-values (B, A), in whatever memory layout they
        come: ``torch.func.vmap`` (:mod:`agents.lockstep`) cannot make a tensor channels-last."""
        with bf16_autocast(pixels.device, self.bf16):
            q = self.head(self.trunk(pixels))
        return q.float()

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer embedding (B, hidden_dim), for t-SNE comparisons with i-DQN."""
        with bf16_autocast(obs.device, self.bf16):
            hidden = self.head[1](self.head[0](self.trunk(pixels_to_float(obs))))
        return hidden.float()


def double_dqn_target(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float,
    next_q_online: torch.Tensor,
    next_q_target: torch.Tensor,
) -> torch.Tensor:
    """r + gamma * (1 - terminal) * Q_target(s', argmax_a Q_online(s', a)).

    The online network picks the next action, the target network evaluates it; this decoupling is
    what removes DQN's max-operator overestimation.
    """
    next_actions = next_q_online.argmax(dim=1, keepdim=True)
    next_values = next_q_target.gather(1, next_actions).squeeze(1)
    return rewards + gamma * (1.0 - terminated) * next_values


def td_loss(q: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """The mean TD loss of a minibatch: Huber (the paper) or squared error."""
    return F.smooth_l1_loss(q, target) if kind == "huber" else F.mse_loss(q, target)


def linear_epsilon(step: int, start: float, end: float, decay_steps: int) -> float:
    """Linearly anneal from ``start`` to ``end`` over ``decay_steps`` agent steps, then hold."""
    fraction = min(step / decay_steps, 1.0)
    return start + fraction * (end - start)


class DDQNAgent(ValueBasedAgent):
    """Double DQN with epsilon-greedy exploration."""

    name = "ddqn"
    log_columns = ("loss", "q_mean", "epsilon")

    def __init__(self, config: DDQNConfig, spec: EnvSpec, device: torch.device):
        super().__init__(config, spec, device)
        bf16 = config.precision == "bf16"
        torso = suite_of(spec.game).torso
        self.online = QNetwork(
            spec.obs_shape, spec.num_actions, config.hidden_dim, bf16, layers=torso
        )
        if config.init == "xavier":
            xavier_init(self.online)
        self.online.to(device, memory_format=torch.channels_last)
        self.target = QNetwork(
            spec.obs_shape, spec.num_actions, config.hidden_dim, bf16, layers=torso
        )
        self.target.to(device, memory_format=torch.channels_last)
        self.target.requires_grad_(False)
        self.sync_target()
        self.optimizer = make_adam(self.online.parameters(), config.lr, config.adam_eps)

    # Action selection ------------------------------------------------------------------------
    def epsilon(self, step: int) -> float:
        c = self.config
        return linear_epsilon(step, c.eps_start, c.eps_end, c.eps_decay_steps)

    @torch.inference_mode()
    def greedy_action(self, obs: np.ndarray) -> int:
        q = self.online(torch.from_numpy(obs).to(self.device).unsqueeze(0))
        return int(q.argmax(dim=1).item())

    def act(self, obs: np.ndarray, step: int, rng: np.random.Generator) -> int:
        """Epsilon-greedy action during training; skips the forward pass when exploring."""
        action = self.explore(step, rng)
        return self.greedy_action(obs) if action is None else action

    def explore(self, step: int, rng: np.random.Generator) -> int | None:
        """:meth:`act`'s random draws: the exploring action, or None where it acts greedily.

        Apart from the forward pass so that a loop of several agents can batch theirs
        (:mod:`agents.lockstep`) and still draw exactly what :meth:`act` draws.
        """
        if rng.random() < self.epsilon(step):
            return int(rng.integers(self.spec.num_actions))
        return None

    def act_eval(self, obs: np.ndarray, rng: np.random.Generator) -> int:
        """Evaluation policy: greedy with a small ``eval_epsilon``."""
        if rng.random() < self.config.eval_epsilon:
            return int(rng.integers(self.spec.num_actions))
        return self.greedy_action(obs)

    # Learning ----------------------------------------------------------------------------------
    def update(self, batch: Batch, step: int) -> dict[str, torch.Tensor]:
        """One gradient step on a minibatch; returns detached scalar tensors for the loss log."""
        c = self.config
        q = self.online(batch.obs).gather(1, batch.actions.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            target = double_dqn_target(
                batch.rewards,
                batch.terminated,
                c.gamma,
                next_q_online=self.online(batch.next_obs),
                next_q_target=self.target(batch.next_obs),
            )
        loss = td_loss(q, target, c.loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_gradients(self.online, c.grad_clip_norm, c.grad_clip_per_layer)
        self.optimizer.step()
        # Tensors, not floats: .item() would sync the GPU every update; the runner reads them rarely.
        return {"loss": loss.detach(), "q_mean": q.detach().mean(), "epsilon": self.epsilon(step)}

    def sync_target(self) -> None:
        self.target.load_state_dict(self.online.state_dict())

    # Checkpoint state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, object]:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])

    def weights_state_dict(self) -> dict[str, object]:
        return {"online": self.online.state_dict()}

    def load_weights_state_dict(self, state: dict[str, object]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["online"])

    # Capabilities ------------------------------------------------------------------------------
    @torch.inference_mode()
    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        """Q-values (B, A) of pixel observations (uint8 or float in [0, 255])."""
        return self.online(torch.as_tensor(obs, device=self.device))

    @torch.inference_mode()
    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The penultimate layer (B, hidden_dim): what t-SNE compares with i-DQN's embedding."""
        return self.online.features(torch.as_tensor(obs, device=self.device))
