"""The agent contract: what the runner, the rollout and the analyses ask of any agent.

Light on purpose (no gym, no torch at import): an agent module depends on this, never on the
runner. An agent owns its memory and its learning schedule, as Dopamine's agents do; the runner
only steps the environment (through :func:`agents.rollout.rollout`), hands each step to
:meth:`Agent.observe`, logs and checkpoints.

Lifecycle of one training run::

    agent = AgentClass(config, spec, device)
    for step in rollout(env, lambda obs: agent.act(obs, global_step, rng), ...,
                        begin_episode=agent.begin_episode):
        global_step += 1
        stats = agent.observe(step, global_step, rng)   # stores, learns when it decides to
    checkpoint = {"agent": agent.state_dict(), "replay": agent.memory_state_dict()}

An on-policy agent that acts in several environments at once subclasses :class:`VectorAgent`;
the runner then steps a synchronous vector of environments (:mod:`agents.vector_runner`).

Capabilities the analyses use: :meth:`Agent.q_values` (action values, or preferences for an
agent without values) and :meth:`Agent.features` (the embedding t-SNE draws). i-DQN adds its
key-value inspection API on top.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch

    from agents.config import RunConfig
    from agents.rollout import Step


@dataclass(frozen=True)
class EnvSpec:
    """What an agent needs to know about an environment before building its networks."""

    game: str
    num_actions: int
    obs_shape: tuple[int, ...]  # what the env returns, e.g. (4, 84, 84) or (12, 210, 160)
    frame_shape: tuple[int, ...]  # one frame, as a replay stores it
    frame_stack: int
    action_meanings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain types, so a checkpoint loaded with ``weights_only=True`` can carry it."""
        return {
            "game": self.game,
            "num_actions": self.num_actions,
            "obs_shape": list(self.obs_shape),
            "frame_shape": list(self.frame_shape),
            "frame_stack": self.frame_stack,
            "action_meanings": list(self.action_meanings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvSpec:
        return cls(
            game=data["game"],
            num_actions=int(data["num_actions"]),
            obs_shape=tuple(data["obs_shape"]),
            frame_shape=tuple(data["frame_shape"]),
            frame_stack=int(data["frame_stack"]),
            action_meanings=tuple(data["action_meanings"]),
        )


class Agent(ABC):
    """Base of every agent. Subclasses implement :meth:`act`, :meth:`act_eval` and the capabilities.

    Attributes:
        name: the registry name (``"ddqn"``).
        log_columns: what :meth:`observe` returns after a learning update; the runner logs them.
        updates: learning updates so far (checkpointed by the runner).
    """

    name: ClassVar[str]
    log_columns: tuple[str, ...] = ()

    @classmethod
    def loss_columns(cls, config: RunConfig) -> tuple[str, ...]:
        """The :attr:`log_columns` an agent built with ``config`` logs, without building it: what
        a resume checks its ``losses.csv`` against. Agents whose columns depend on the config
        override it."""
        return cls.log_columns

    def __init__(self, config: RunConfig, spec: EnvSpec, device: torch.device):
        self.config = config
        self.spec = spec
        self.device = device
        self.updates = 0

    # Acting ------------------------------------------------------------------------------------
    def begin_episode(self, obs: np.ndarray) -> None:
        """A new episode starts with ``obs``: reset per-episode state (a recurrent core's)."""
        return None

    def after_step(self, step: Step) -> None:
        """The step the last action of :meth:`act` or :meth:`act_eval` made (a recurrent agent
        feeds its reward back in); training hands steps to :meth:`observe` instead."""
        return None

    @abstractmethod
    def act(self, obs: np.ndarray, step: int, rng: np.random.Generator) -> int:
        """The exploring action during training; ``step`` counts the agent steps taken so far."""

    @abstractmethod
    def act_eval(self, obs: np.ndarray, rng: np.random.Generator) -> int:
        """The evaluation action. Must not change the agent."""

    # Learning ----------------------------------------------------------------------------------
    def observe(self, step: Step, global_step: int, rng: np.random.Generator) -> dict | None:
        """Take in one training step; learn if the agent's schedule says so.

        ``global_step`` counts agent steps including this one. Returns the loss statistics
        (keys :attr:`log_columns`) when it made a learning update, else None.
        """
        return None

    # Checkpoint state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything learned (networks, optimiser, statistics), without the memory."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        return None

    def weights_state_dict(self) -> dict[str, Any]:
        """What the analyses need of a trained agent, without optimiser or target copies: the
        weights-only ``model.pt`` a run directory keeps (and a repository can commit)."""
        return self.state_dict()

    def load_weights_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`weights_state_dict` (an agent ready to act and be inspected)."""
        self.load_state_dict(state)

    def memory_state_dict(self) -> dict[str, Any] | None:
        """The memory (a replay, an unroll store) for a bit-exact resume, or None to leave it out."""
        return None

    def load_memory_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`memory_state_dict`."""
        return None

    # Capabilities (analyses) -------------------------------------------------------------------
    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        """Action values, or action preferences, (B, A) for pixel observations (B, C, H, W)."""
        raise NotImplementedError(f"{type(self).__name__} gives no action values")

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The embedding (B, D) of pixel observations that t-SNE and similar analyses draw."""
        raise NotImplementedError(f"{type(self).__name__} gives no features")

    # Capabilities of an agent that attends over decodable keys (i-DQN; Table 2's agreement) -----
    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 observations (B, C, H, W) -> the network's input, the space its decoder
        reconstructs and :meth:`decoded_keys` are in."""
        raise NotImplementedError(f"{type(self).__name__} has no decodable keys")

    def decoded_keys(self) -> torch.Tensor:
        """Every key through the decoder, (A, N, C, H, W), in :meth:`normalise`'s space."""
        raise NotImplementedError(f"{type(self).__name__} has no decodable keys")

    def action_from_attention(self, attention: torch.Tensor) -> torch.Tensor:
        """The action (B,) the agent's own rule picks from attention weights (B, A, N) over its
        keys: what it would do if it attended so."""
        raise NotImplementedError(f"{type(self).__name__} has no decodable keys")

    def directed_actions(self, obs: torch.Tensor) -> torch.Tensor:
        """The agent's own choice (B,) for uint8 observations (B, C, H, W) under its training
        rule without exploration noise, leaving the agent unchanged (no statistics move)."""
        raise NotImplementedError(f"{type(self).__name__} has no decodable keys")


@dataclass(frozen=True)
class VectorStep:
    """One synchronous step of N environments; every array's first axis is the environment."""

    obs: np.ndarray  # (N, *obs_shape), s_t
    actions: np.ndarray  # (N,) int64
    rewards: np.ndarray  # (N,) float64, raw game rewards
    next_obs: np.ndarray  # (N, *obs_shape), s_t+1 (an episode's last observation where done)
    terminated: np.ndarray  # (N,) bool
    truncated: np.ndarray  # (N,) bool

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated


class VectorAgent(Agent):
    """An on-policy agent that acts in ``num_envs`` synchronous environments and learns from what
    it has just collected (an actor-critic over unrolls).

    The runner (:mod:`agents.vector_runner`) asks :meth:`act_vector` for N actions, steps the
    environments, hands the result to :meth:`observe_vector` and resets the environments whose
    episode ended; the agent knows from the dones which environments start an episode. Its memory,
    the recurrent state and the unroll collected so far, goes into every checkpoint
    (:meth:`memory_state_dict`), so that a resume continues exactly. :meth:`act` and
    :meth:`act_eval` act in one environment (evaluation, the analyses).
    """

    @property
    def num_envs(self) -> int:
        return int(self.config.num_envs)  # type: ignore[attr-defined]

    @abstractmethod
    def act_vector(self, obs: np.ndarray, step: int, rng: np.random.Generator) -> np.ndarray:
        """Actions (N,) for observations (N, *obs_shape); ``step`` counts the steps so far."""

    @abstractmethod
    def observe_vector(
        self, step: VectorStep, global_step: int, rng: np.random.Generator
    ) -> dict | None:
        """Take in one synchronous step (the one :meth:`act_vector` chose); learn when an unroll
        is complete. Returns the loss statistics (:attr:`log_columns`) after an update."""
