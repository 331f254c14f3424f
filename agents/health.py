"""Is a value-based agent's network still alive? Measured on the states of its own replay.

A run whose curve stays flat may be exploring still, or its network may have stopped being able
to learn at all. The second has a plain signature: a ReLU unit that is zero on every state the
agent trains on passes no gradient, and once every unit of a layer is so, no gradient reaches
the layers below it and the Q-values no longer depend on the state. :func:`network_health`
measures that on a checkpoint:

* per ReLU layer of the online network, the fraction of its units that are positive on at least
  one of the states (0 is a dead layer, which nothing in training can revive);
* the Q spread: the largest, over actions, standard deviation of Q across the states (0 when the
  network answers every state alike);
* how many distinct greedy actions the states get (1 for a state-independent policy).

A live network can still be wrong about values. :func:`value_against_return` sets the mean Q of
the action the agent took against the mean discounted return that followed it, on the replay's
states whose episode ended inside the replay (van Hasselt et al., 2016, Fig. 3, measured
overestimation the same way on the greedy policy). The return is that of the policy that acted:
while ε is large it sits below the greedy policy's value, which Q estimates, so Q above it is
expected then; once ε is near its floor the two should agree if Q is unbiased.

An agent that explores without ε (i-DQN: argmax Q + λ U) can stop exploring altogether when
its bonus no longer changes an action. :func:`directed_exploration` measures how often it does:
the fraction of the states whose directed action is not their greedy one.

The states are the checkpoint's own replay (``checkpoint_replay: true``), evenly spaced over it.
``python -m agents health --run DIR [--checkpoints FILE ...]`` writes the table; ``--run DIR ...``
with several runs gives a row for each run's ``checkpoint.pt``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from agents.errors import UsageError
from agents.replay import FrameReplay, evenly_spaced
from agents.rundir import identity_digest, load_agent, load_resume_point, restore_agent


def network_health(agent, observations: np.ndarray) -> dict[str, float | int]:
    """The measures of the module docstring for ``agent`` (with an ``online`` network and
    ``q_values``) on ``observations`` (B, C, H, W): ``active <layer>`` per ReLU module, in the
    order the forward pass meets them, ``Q spread`` and ``greedy actions``."""
    network = getattr(agent, "online", None)
    if not isinstance(network, nn.Module):
        raise UsageError(f"{type(agent).__name__} has no online network to diagnose")
    activity: dict[str, torch.Tensor] = {}

    def record(name: str):
        def hook(module, inputs, output) -> None:
            positive = (output.detach().flatten(1) > 0).any(dim=0)
            activity[name] = activity[name] | positive if name in activity else positive

        return hook

    handles = [
        module.register_forward_hook(record(name))
        for name, module in network.named_modules()
        if isinstance(module, nn.ReLU)
    ]
    try:
        q = agent.q_values(torch.as_tensor(observations)).float().cpu()
    finally:
        for handle in handles:
            handle.remove()
    if not activity:
        raise UsageError(f"{type(agent).__name__}'s online network has no nn.ReLU module")
    row: dict[str, float | int] = {
        f"active {name}": float(units.float().mean()) for name, units in activity.items()
    }
    row["Q spread"] = float(q.std(dim=0).max()) if len(q) > 1 else 0.0
    row["greedy actions"] = int(q.argmax(dim=1).unique().numel())
    return row


def directed_exploration(agent, observations: np.ndarray) -> dict[str, float]:
    """``directed not greedy``: the fraction of ``observations`` on which an agent with its own
    ``directed_actions`` (i-DQN) acts otherwise than greedily in Q; nothing for other agents,
    whose exploration (ε) does not depend on the network."""
    obs = torch.as_tensor(observations)
    try:
        directed = agent.directed_actions(obs).cpu()
    except NotImplementedError:
        return {}
    greedy = agent.q_values(obs).argmax(dim=1).cpu()
    return {"directed not greedy": float((directed != greedy).float().mean())}


def value_against_return(
    agent, replay: FrameReplay, gamma: float, states: int
) -> dict[str, float | int]:
    """``states with a return``: how many of up to ``states`` replay states (evenly spaced over
    those whose episode ended inside the replay) were measured; ``mean Q of action taken``, the
    mean of ``agent.q_values`` at the action the agent took there; ``mean return``, the mean of
    :meth:`FrameReplay.returns_to_episode_end` (NaN both, when no episode ended in the replay)."""
    idx, returns = replay.returns_to_episode_end(gamma)
    keep = evenly_spaced(len(idx), states)
    idx, returns = idx[keep], returns[keep]
    if len(idx) == 0:
        return {"states with a return": 0, "mean Q of action taken": np.nan, "mean return": np.nan}
    q = agent.q_values(torch.as_tensor(replay.observations_at(idx))).float().cpu()
    taken = q.gather(1, torch.as_tensor(replay.actions[idx]).view(-1, 1)).squeeze(1)
    return {
        "states with a return": len(idx),
        "mean Q of action taken": float(taken.mean()),
        "mean return": float(returns.mean()),
    }


def health_table(
    run_dir: Path,
    checkpoints: list[Path] | None = None,
    states: int = 1000,
    resume_points: list[Path] | None = None,
) -> pd.DataFrame:
    """One row per checkpoint of the run at ``run_dir`` (default: its ``checkpoint.pt``): the
    frame it was taken at, the number of replay states measured, :func:`network_health`,
    :func:`directed_exploration` and :func:`value_against_return`.

    ``resume_points`` (``resume.pt`` files of the run, e.g. committed ones from git history,
    which carry no replay) add a row each: that network measured on the states of the last
    checkpoint's replay, so every row of them reads the same states. They get no
    :func:`value_against_return`: the replay's returns are another policy's."""
    if states < 2:
        raise UsageError(f"--states must be at least 2, got {states}")
    paths = [Path(p) for p in checkpoints] if checkpoints else [Path(run_dir) / "checkpoint.pt"]
    rows = []
    for path in paths:
        run, config, agent = load_agent(run_dir, "cpu", checkpoint_path=path, with_replay=True)
        observations = agent.replay.observations(states)
        # Every transition the replay has taken is one agent step of the run.
        frames = agent.replay.transitions_added * config.frame_skip
        rows.append(
            {"checkpoint": str(path), "frames": frames, "states": len(observations)}
            | network_health(agent, observations)
            | directed_exploration(agent, observations)
            | value_against_return(agent, agent.replay, config.gamma, states)
        )
    for path in resume_points or []:
        point = load_resume_point(Path(path), identity_digest(run, config))
        restore_agent(agent, point)
        rows.append(
            {
                "checkpoint": str(path),
                "frames": point["step"] * config.frame_skip,
                "states": len(observations),
            }
            | network_health(agent, observations)
            | directed_exploration(agent, observations)
        )
    return pd.DataFrame(rows).sort_values("frames", kind="stable").reset_index(drop=True)
