"""The agents this suite can train, by CLI name."""

from __future__ import annotations

from dataclasses import dataclass

from agents.config import TrainConfig
from agents.ddqn import DDQNAgent, DDQNConfig
from agents.errors import UsageError
from agents.idqn import IDQNAgent, IDQNConfig


@dataclass(frozen=True)
class AgentEntry:
    config: type[TrainConfig]
    agent: type
    default_preset: str = "paper"


AGENTS: dict[str, AgentEntry] = {
    "ddqn": AgentEntry(DDQNConfig, DDQNAgent),
    "idqn": AgentEntry(IDQNConfig, IDQNAgent),
}


def get_agent(name: str) -> AgentEntry:
    """Look up an agent by name, or raise a one-line :class:`UsageError` listing the valid ones."""
    if name not in AGENTS:
        raise UsageError(f"unknown agent {name!r}; valid agents: {', '.join(AGENTS)}")
    return AGENTS[name]
