"""The agents this suite can train, by CLI name: one line per agent.

An entry names the agent's class by import path, so that listing agents imports nothing heavy and
adding an agent is one line here (plus its module and its presets under
``agents/presets/<name>/``). The class names its config model in ``config_class``.
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
        label: how tables and figures name it.
        baseline: the agent reports compare this one against, P(agent > baseline).
        default_preset: the preset ``train`` uses without ``--preset``.
        lockstep: whether ``train --seeds`` can train several of its seeds in one process
            (:data:`agents.lockstep.LEARNERS`); the workflow's config ``lockstep`` applies to it.
    """

    path: str
    label: str
    baseline: str | None = None
    default_preset: str = "paper"
    lockstep: bool = False

    @cached_property
    def agent(self) -> type:
        module, _, name = self.path.partition(":")
        return getattr(import_module(module), name)

    @property
    def config(self) -> type:
        return self.agent.config_class


AGENTS: dict[str, AgentEntry] = {
    "ddqn": AgentEntry("agents.ddqn:DDQNAgent", label="DDQN", lockstep=True),
    "idqn": AgentEntry("agents.idqn:IDQNAgent", label="i-DQN", baseline="ddqn", lockstep=True),
    "attention": AgentEntry(
        "agents.attention_agent:AttentionAgent", label="Attention", baseline="no-attention"
    ),
    "no-attention": AgentEntry("agents.attention_agent:PooledAgent", label="No attention"),
    "random": AgentEntry("agents.random_agent:RandomAgent", label="Random"),
}


#: Peer baselines (``python -m agents peer``): other projects' agents, in the reports by these
#: labels, never trained through ``train``.
PEER_LABELS: dict[str, str] = {"sb3-dqn": "SB3 DQN"}


def get_agent(name: str) -> AgentEntry:
    """Look up an agent by name, or raise a one-line :class:`UsageError` listing the valid ones."""
    if name not in AGENTS:
        raise UsageError(f"unknown agent {name!r}; valid agents: {', '.join(AGENTS)}")
    return AGENTS[name]
