"""Figures of the interpretability analyses, from a trained run directory.

    python -m agents interpret keys --run RUN --out reports/interpret/MsPacman/keys
    python -m agents interpret maps --run RUN --out .../maps [--states 3]
    python -m agents interpret tsne --run RUN [--ddqn-run DDQN_RUN] --out .../tsne [--states 500]

Each writes a PNG and a PDF atomically (``--out`` is the path without suffix).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from agents.errors import UsageError
from agents.interpret.inversion import (
    PAPER_VALUE_TARGETS,
    displayable,
    invert_keys,
    nearest_value_indices,
)
from agents.interpret.saliency import perturbation_saliency, q_function
from agents.interpret.tsne import tsne_2d
from agents.runner import episode_seed, load_agent, make_run_env


def save(fig: plt.Figure, stem: Path) -> list[Path]:
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.tight_layout()
    for path in paths:
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    plt.close(fig)
    return paths


def _idqn(run_dir: Path):
    run, config, agent = load_agent(run_dir, device="cpu")
    if not hasattr(agent, "keys"):
        raise UsageError(f"{run_dir} is a {run.agent} run; this analysis needs an i-DQN run")
    return run, config, agent


def collect_states(run, config, agent, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Observations (n, C, H, W) uint8 and actions visited by the run's evaluation policy."""
    env = make_run_env(run, config)
    rng = np.random.default_rng(seed)
    states, actions = [], []
    episode = 0
    obs, _ = env.reset(seed=episode_seed(seed, episode, stream=3))
    while len(states) < count:
        action = agent.act_eval(obs, rng)
        states.append(obs)
        actions.append(action)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=episode_seed(seed, episode, stream=3))
    env.close()
    return np.stack(states), np.array(actions)


def key_grid(run_dir: Path, stem: Path) -> list[Path]:
    """Decoded keys: actions x the supports nearest 25, 3, -11 and -25 (paper Figs 3, 4, 10-12)."""
    run, config, agent = _idqn(run_dir)
    indices = nearest_value_indices(agent.values, PAPER_VALUE_TARGETS)
    actions = list(range(agent.spec.num_actions))
    images = invert_keys(agent, actions, indices)
    fig, axes = plt.subplots(
        len(actions), len(indices), figsize=(1.6 * len(indices), 1.7 * len(actions)), squeeze=False
    )
    for a in actions:
        for j, index in enumerate(indices):
            ax = axes[a, j]
            frame = displayable(images[a, j], config.frame_stack)
            ax.imshow(frame, cmap="gray" if frame.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if a == 0:
                ax.set_title(f"v = {agent.values[index]:.1f}", fontsize=8)
            if j == 0:
                ax.set_ylabel(agent.spec.action_meanings[a], fontsize=8)
    fig.suptitle(f"Key inversion, {run.game} (newest frame of each decoded key)", fontsize=9)
    return save(fig, stem)


def _state_row(fig, axes, agent, obs: np.ndarray, frame_stack: int, label: str) -> None:
    """One row: the frame, the attention heat map (actions x sorted values), the saliency overlay."""
    out = agent.inspect(obs[None])
    action = int(out.q.argmax())
    frame = displayable(obs, frame_stack)
    saliency = perturbation_saliency(q_function(agent), obs)[action].numpy()
    order = agent.values.argsort()
    cmap = "gray" if frame.ndim == 2 else None
    axes[0].imshow(frame, cmap=cmap)
    axes[0].set_title(label)
    image = axes[1].imshow(
        out.attention[0][:, order].cpu().numpy(), cmap="Greys", aspect="auto", vmin=0
    )
    axes[1].set(
        title="attention w_a(s)", xlabel="values (sorted)", yticks=range(agent.spec.num_actions)
    )
    axes[1].set_yticklabels(agent.spec.action_meanings, fontsize=7)
    ticks = np.linspace(0, len(order) - 1, 5).astype(int)
    axes[1].set_xticks(ticks, [f"{agent.values[order[t]]:.0f}" for t in ticks])
    fig.colorbar(image, ax=axes[1])
    axes[2].imshow(frame, cmap=cmap)
    axes[2].imshow(saliency, cmap="Reds", alpha=0.6)
    axes[2].set_title(f"saliency of Q(s, {agent.spec.action_meanings[action]})")
    for ax in (axes[0], axes[2]):
        ax.set_xticks([])
        ax.set_yticks([])


def attention_and_saliency(run_dir: Path, stem: Path, states: int = 3, seed: int = 0) -> list[Path]:
    """Per state: the frame, the attention heat map (actions x values) and saliency of the greedy action."""
    run, config, agent = _idqn(run_dir)
    observations, _ = collect_states(run, config, agent, 60 * states, seed)
    chosen = observations[:: max(1, len(observations) // states)][:states]
    fig, axes = plt.subplots(len(chosen), 3, figsize=(10, 3.2 * len(chosen)), squeeze=False)
    for row, obs in enumerate(chosen):
        _state_row(fig, axes[row], agent, obs, config.frame_stack, "state")
    fig.suptitle(f"Attention and perturbation saliency, {run.game}", fontsize=10)
    return save(fig, stem)


def adversarial(run_dir: Path, stem: Path, steps: int = 120, seed: int = 0) -> list[Path]:
    """A visited state, the same state edited through the console's RAM (MsPacman: Ms. Pac-Man
    moved 20 px right and 12 px down), and the pixel-wise max over visited states (Figs 7, 13-15)."""
    from agents.interpret.adversarial import (
        MSPACMAN_PLAYER_X,
        MSPACMAN_PLAYER_Y,
        edited_observations,
        pixelwise_max,
    )

    run, config, agent = _idqn(run_dir)
    env = make_run_env(run, config)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=episode_seed(seed, 0, stream=5))
    visited = []
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(agent.act_eval(obs, rng))
        visited.append(obs)
        if terminated or truncated:
            break
    rows = []
    if run.game == "MsPacman":
        before, after = edited_observations(env, {MSPACMAN_PLAYER_X: 20, MSPACMAN_PLAYER_Y: 12})
        rows += [(before, "visited state"), (after, "RAM edit: Ms. Pac-Man moved")]
    else:
        rows.append((visited[-1], "visited state"))
    env.close()
    rows.append(
        (
            pixelwise_max(np.stack(visited[:: max(1, len(visited) // 4)][:4])),
            "pixel-wise max of 4 states",
        )
    )
    fig, axes = plt.subplots(len(rows), 3, figsize=(10, 3.2 * len(rows)), squeeze=False)
    for row, (state, label) in enumerate(rows):
        _state_row(fig, axes[row], agent, state, config.frame_stack, label)
    fig.suptitle(f"Out-of-sample states, {run.game}", fontsize=10)
    return save(fig, stem)


def tsne_figure(
    run_dir: Path, stem: Path, ddqn_run: Path | None = None, states: int = 500, seed: int = 0
) -> list[Path]:
    """t-SNE of visited states coloured by their top (action, value) key, keys as stars (Fig 2)."""
    run, config, agent = _idqn(run_dir)
    observations, _ = collect_states(run, config, agent, states, seed)
    out = agent.inspect(observations)
    top = out.attention.flatten(1).argmax(dim=1).cpu().numpy()  # index into (action, key)
    keys = agent.keys.flatten(0, 1).cpu().numpy()
    coords = tsne_2d(np.vstack([out.embedding.cpu().numpy(), keys]), seed=seed)
    panels = 2 if ddqn_run else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 5), squeeze=False)
    ax = axes[0, 0]
    n = len(observations)
    ax.scatter(coords[:n, 0], coords[:n, 1], c=top, cmap="tab20", s=8)
    ax.scatter(
        coords[n:, 0],
        coords[n:, 1],
        marker="*",
        c=np.arange(len(keys)),
        cmap="tab20",
        s=90,
        edgecolors="black",
    )
    ax.set_title(f"i-DQN, {run.game}: states (dots) and keys (stars)")
    if ddqn_run:
        _, _, ddqn = load_agent(ddqn_run, device="cpu")
        with torch.no_grad():
            features = ddqn.online.features(torch.as_tensor(observations)).numpy()
        flat = tsne_2d(features, seed=seed)
        axes[0, 1].scatter(flat[:, 0], flat[:, 1], c=top, cmap="tab20", s=8)
        axes[0, 1].set_title("DDQN penultimate layer, same states (colour: i-DQN's top key)")
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    return save(fig, stem)
