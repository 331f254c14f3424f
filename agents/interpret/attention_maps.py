"""Where the attention agent (Mott et al. 2019) looks, step by step, over one episode.

    python -m agents interpret attention-strip --run RUN --out .../strip [--states 8]
    python -m agents interpret attention-video --run RUN --out .../episode [--max-steps 400]

The agent is recurrent, so a moment of an episode is not a state alone: both figures play one
seeded episode of the evaluation policy (``STATES_STREAM``) and read, at every step, each query's
spatial attention (Q maps over the h x w grid, each summing to 1) and the perturbation saliency
(Greydanus et al. 2017) of the chosen action's preference, computed from the agent's memory at
that moment (:meth:`agents.attention_agent.AttentionAgent.preferences_in_context`).

The strip shows consecutive steps as columns (one row per query, then saliency); the video shows
the whole episode with the same panels side by side, written by imageio as a GIF.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from agents.errors import UsageError
from agents.interpret.figures import check_output_stem, check_run, run_renderer, save
from agents.interpret.render import StateRenderer
from agents.interpret.saliency import perturbation_saliency
from agents.rollout import STATES_STREAM, episode_seed, rollout
from agents.rundir import load_agent, make_run_env
from agents.suites import suite_of

VIDEO_SUFFIXES = (".gif",)
STRIP_EPISODE_STEPS = (
    2_000  # the strip's episode is cut here; saliency is read for the shown steps only
)
VIDEO_DPI = 60  # small GIFs: the committed MinAtar reports keep one per game


@dataclass
class EpisodeTrace:
    """One episode of the evaluation policy, step by step (T steps, Q queries)."""

    observations: np.ndarray  # (T, C, H, W) uint8
    attention: (
        np.ndarray
    )  # (T, Q, H, W), each query's map upsampled to the frame, sums to 1 on h x w
    actions: np.ndarray  # (T,)
    rewards: np.ndarray  # (T,)
    memories: list[dict]  # the agent's memory before each step (AttentionAgent.eval_memory)
    grid: tuple[int, int]  # (h, w) of the attention maps before upsampling


def _upsample(maps: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """(Q, h, w) maps -> (Q, H, W): each grid cell as a block when the grid is the frame's own
    (MinAtar), bilinear over the frame otherwise (Atari's 9 x 9 grid over 84 x 84 pixels)."""
    if tuple(maps.shape[-2:]) == size:
        return maps.cpu().numpy()
    return F.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0].numpy()


def trace_episode(agent, env, seed: int, max_steps: int) -> EpisodeTrace:
    """Play the first ``STATES_STREAM`` episode of ``seed`` (at most ``max_steps`` steps)."""
    rng = np.random.default_rng(seed)
    observations, attention, actions, rewards, memories = [], [], [], [], []

    def act(obs: np.ndarray) -> int:
        memories.append(agent.eval_memory())
        action = agent.act_eval(obs, rng)
        observations.append(obs)
        attention.append(_upsample(agent.last_output.attention[0], obs.shape[1:]))
        return action

    steps = rollout(
        env,
        act,
        lambda index: episode_seed(seed, index, STATES_STREAM),
        episodes=1,
        max_steps_per_episode=max_steps,
        begin_episode=agent.begin_episode,
        after_step=agent.after_step,
    )
    for step in steps:
        actions.append(step.action)
        rewards.append(step.reward)
    return EpisodeTrace(
        np.stack(observations),
        np.stack(attention),
        np.array(actions),
        np.array(rewards),
        memories,
        tuple(agent.net.grid),
    )


def saliency_at(agent, trace: EpisodeTrace, t: int, settings: dict) -> np.ndarray:
    """(H, W) perturbation saliency of step ``t``'s chosen action, from the memory the agent
    had then (the agent's own memory is left as it was)."""
    current = agent.eval_memory()
    agent.restore_eval_memory(trace.memories[t])
    try:
        maps = perturbation_saliency(
            agent.preferences_in_context, trace.observations[t], **settings
        )
    finally:
        agent.restore_eval_memory(current)
    return maps[int(trace.actions[t])].numpy()


def _attention_run(run_dir: Path):
    check_run(run_dir, "attention")
    return load_agent(run_dir, device="cpu")


def _trace(run_dir: Path, seed: int, max_steps: int):
    run, config, agent = _attention_run(run_dir)
    renderer = run_renderer(run, config)
    env = make_run_env(run, config)
    try:
        trace = trace_episode(agent, env, seed, max_steps)
    finally:
        env.close()
    return run, agent, renderer, trace


def _step_label(agent, trace: EpisodeTrace, t: int) -> str:
    action = agent.spec.action_meanings[int(trace.actions[t])]
    return f"t={t}  {action}  r={trace.rewards[t]:g}"


def attention_strip(
    run_dir: Path, stem: Path, steps: int = 8, seed: int = 0, start: int | None = None
) -> list[Path]:
    """``steps`` consecutive steps of one episode as columns; a row per query (its spatial
    attention over the frame) and a row of the chosen action's saliency. ``start`` defaults to
    the step that centres the strip on the episode's first reward (else its middle)."""
    check_output_stem(stem)
    run, agent, renderer, trace = _trace(run_dir, seed, max_steps=STRIP_EPISODE_STEPS)
    settings = suite_of(run.game).saliency
    length = len(trace.actions)
    if start is None:
        rewarded = np.flatnonzero(trace.rewards != 0)
        centre = int(rewarded[0]) if len(rewarded) else length // 2
        start = centre - steps // 2
    start = int(np.clip(start, 0, max(0, length - steps)))
    shown = range(start, min(length, start + steps))
    queries = trace.attention.shape[1]
    fig, axes = plt.subplots(
        queries + 1,
        len(shown),
        figsize=(1.7 * len(shown), 1.8 * (queries + 1)),
        squeeze=False,
    )
    for column, t in enumerate(shown):
        frame = renderer.newest(trace.observations[t])
        for q in range(queries):
            ax = axes[q, column]
            renderer.show(ax, frame)
            renderer.overlay(ax, trace.attention[t, q])
            if column == 0:
                ax.set_ylabel(f"query {q + 1}", fontsize=8)
        ax = axes[queries, column]
        renderer.show(ax, frame)
        renderer.overlay(ax, saliency_at(agent, trace, t, settings))
        if column == 0:
            ax.set_ylabel("saliency", fontsize=8)
        axes[0, column].set_title(_step_label(agent, trace, t), fontsize=7)
    h, w = trace.grid
    fig.suptitle(
        f"Attention of each query over {h}x{w} locations, and the chosen action's perturbation "
        f"saliency, {run.game}, steps {shown.start}-{shown.stop - 1} of a {length}-step episode",
        fontsize=8,
    )
    renderer.add_legend(fig)
    return save(fig, stem)


def attention_video(run_dir: Path, stem: Path, max_steps: int = 400, seed: int = 0) -> list[Path]:
    """One episode (up to ``max_steps`` steps) as an animated GIF: the frame, each query's map
    overlaid on it, and the chosen action's saliency, side by side, one GIF frame per step."""
    import imageio.v3 as iio

    check_output_stem(stem, VIDEO_SUFFIXES)
    run, agent, renderer, trace = _trace(run_dir, seed, max_steps)
    saliency = [
        saliency_at(agent, trace, t, suite_of(run.game).saliency) for t in range(len(trace.actions))
    ]
    frames = _video_frames(agent, renderer, trace, np.stack(saliency), run.game)
    path = Path(stem).with_suffix(".gif")
    tmp = path.with_name(f".{path.stem}.tmp.gif")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(tmp, frames, extension=".gif", duration=120, loop=0)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write --out {stem}: {exc.strerror or exc}") from exc
    return [path]


def _video_frames(
    agent, renderer: StateRenderer, trace: EpisodeTrace, saliency: np.ndarray, game: str
) -> np.ndarray:
    """(T, height, width, 3) uint8: one matplotlib figure, its images updated step by step."""
    queries = trace.attention.shape[1]
    titles = ["frame", *(f"query {q + 1}" for q in range(queries)), "saliency"]
    fig, axes = plt.subplots(
        1, len(titles), figsize=(1.9 * len(titles), 2.3), squeeze=False, dpi=VIDEO_DPI
    )
    axes = axes[0]
    frame = renderer.newest(trace.observations[0])
    for ax, title in zip(axes, titles, strict=True):
        renderer.show(ax, frame)
        ax.set_title(title, fontsize=8)
    for q, ax in enumerate(axes[1:-1]):
        renderer.overlay(ax, trace.attention[0, q])
    renderer.overlay(axes[-1], saliency[0])
    label = fig.suptitle("", fontsize=8)
    fig.tight_layout()
    frames = []
    for t in range(len(trace.actions)):
        picture = renderer.newest(trace.observations[t])
        heats = [*trace.attention[t], saliency[t]]
        for ax, heat in zip(axes[1:], heats, strict=True):
            base, overlay = ax.images[0], ax.images[1]
            base.set_data(picture)
            _update_overlay(overlay, heat, renderer)
        axes[0].images[0].set_data(picture)
        label.set_text(f"{game}: {_step_label(agent, trace, t)}")
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    return np.stack(frames)


def _update_overlay(image, heat: np.ndarray, renderer: StateRenderer) -> None:
    """Refresh an overlay drawn by :meth:`StateRenderer.overlay` with a new map."""
    image.set_data(heat)
    peak = float(heat.max())
    image.set_clim(0, peak if peak > 0 else 1.0)
    if renderer.draws_channels:
        image.set_alpha(0.85 * heat / peak if peak > 0 else np.zeros_like(heat))
