"""The agents this suite can train, by CLI name: one line per agent.

An entry names the agent's class and its config model by import path, so that listing agents and
checking their configs imports nothing heavy (the models live in :mod:`agents.config`, which
imports no torch), and adding an agent is one line here (plus its module, its model and its
presets under ``agents/presets/<name>/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import import_module

from agents.errors import UsageError


@dataclass(frozen=True)
class AgentEntry:
    """One trainable agent.

    Args:
        path: ``"module:Class"`` of the agent class (a subclass of :class:`agents.contract.Agent`).
        config_path: ``"module:Class"`` of its config model (a :class:`agents.config.RunConfig`),
            what its presets are validated against and its constructor receives.
        label: how tables and figures name it.
        baseline: the agent reports compare this one against, P(agent > baseline).
        default_preset: the preset ``train`` uses without ``--preset``.
        lockstep: whether ``train --seeds`` can train several of its seeds in one process
            (:data:`agents.lockstep.LEARNERS`); the workflow's config ``lockstep`` applies to it.
    """

    path: str
    config_path: str
    label: str
    baseline: str | None = None
    default_preset: str = "paper"
    lockstep: bool = False

    @cached_property
    def agent(self) -> type:
        return _imported(self.path)

    @cached_property
    def config(self) -> type:
        return _imported(self.config_path)


def _imported(path: str) -> type:
    """The object ``"module:Name"`` names, its module imported now."""
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


AGENTS: dict[str, AgentEntry] = {
    "ddqn": AgentEntry(
        "agents.ddqn:DDQNAgent", "agents.config:DDQNConfig", label="DDQN", lockstep=True
    ),
    "idqn": AgentEntry(
        "agents.idqn:IDQNAgent",
        "agents.config:IDQNConfig",
        label="i-DQN",
        baseline="ddqn",
        lockstep=True,
    ),
    "attention": AgentEntry(
        "agents.attention_agent:AttentionAgent",
        "agents.config:AttentionConfig",
        label="Attention",
        baseline="no-attention",
    ),
    "no-attention": AgentEntry(
        "agents.attention_agent:PooledAgent", "agents.config:AttentionConfig", label="No attention"
    ),
    "random": AgentEntry(
        "agents.random_agent:RandomAgent", "agents.config:RandomConfig", label="Random"
    ),
}


#: Peer baselines (``python -m agents peer``): other projects' agents, in the reports by these
#: labels, never trained through ``train``.
PEER_LABELS: dict[str, str] = {"sb3-dqn": "SB3 DQN"}


def get_agent(name: str) -> AgentEntry:
    """Look up an agent by name, or raise a one-line :class:`UsageError` listing the valid ones."""
    if name not in AGENTS:
        raise UsageError(f"unknown agent {name!r}; valid agents: {', '.join(AGENTS)}")
    return AGENTS[name]
