"""Figures of the interpretability analyses, from a trained run directory.

    python -m agents interpret keys --run RUN --out reports/interpret/MsPacman/keys
    python -m agents interpret maps --run RUN --out .../maps [--states 3]
    python -m agents interpret tsne --run RUN [--ddqn-run DDQN_RUN] --out .../tsne [--states 500]

Each writes a PNG and a PDF atomically (``--out`` is the path without suffix).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from agents.errors import UsageError
from agents.files import atomic_write_json
from agents.interpret.inversion import (
    PAPER_VALUE_TARGETS,
    interpolate_to_state,
    invert_keys,
    nearest_value_indices,
)
from agents.interpret.render import StateRenderer, renderer_for
from agents.interpret.saliency import perturbation_saliency, q_function
from agents.interpret.tsne import all_alike, tsne_2d
from agents.rollout import ADVERSARIAL_STREAM, STATES_STREAM, episode_seed, rollout
from agents.rundir import load_agent, load_run, make_run_env
from agents.suites import suite_of

FIGURE_SUFFIXES = (".png", ".pdf")
_AGENT_LABELS = {"idqn": "an i-DQN", "ddqn": "a DDQN", "attention": "an attention-agent"}


def check_output_stem(stem: Path, suffixes: Sequence[str] = FIGURE_SUFFIXES) -> None:
    """Refuse, with a one-line :class:`UsageError`, an ``--out`` whose files could not be written.

    Creates nothing: the nearest existing ancestor of the stem's folder must be a writable
    directory (the missing folders are made when the files are written), and no output path
    may be a directory.
    """
    stem = Path(stem)
    if not stem.name or stem.name in (".", ".."):
        raise UsageError(f"--out {str(stem)!r} needs a file name (the path without suffix)")
    existing = stem.absolute().parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"cannot write --out {stem}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write --out {stem}: {existing} is not writable")
    for suffix in suffixes:
        if stem.with_suffix(suffix).is_dir():
            raise UsageError(
                f"cannot write --out {stem}: {stem.with_suffix(suffix)} is a directory"
            )


def check_run(run_dir: Path, agent: str, option: str = "--run"):
    """The (run, config) of ``run_dir`` if it is a run of ``agent``, else a one-line error.

    Reads only ``config.yaml``, so it is cheap enough to check every input before any work.
    """
    run, config = load_run(run_dir)
    if run.agent != agent:
        raise UsageError(
            f"{option} {run_dir} is {_AGENT_LABELS.get(run.agent, run.agent)} run; this "
            f"analysis needs {_AGENT_LABELS.get(agent, agent)} run"
        )
    return run, config


def check_ddqn_beside(ddqn_run: Path, run, config):
    """Check that ``ddqn_run`` is a DDQN run on the same game and frames as the i-DQN run."""
    ddqn, ddqn_config = check_run(ddqn_run, "ddqn", "--ddqn-run")
    ours = (run.game, config.color, config.frame_stack)
    theirs = (ddqn.game, ddqn_config.color, ddqn_config.frame_stack)
    if ours != theirs:
        raise UsageError(
            f"--ddqn-run {ddqn_run} is a {ddqn.game} run (color={ddqn_config.color}, "
            f"frame_stack={ddqn_config.frame_stack}); the i-DQN run is {run.game} "
            f"(color={config.color}, frame_stack={config.frame_stack})"
        )
    return ddqn, ddqn_config


def save(fig: plt.Figure, stem: Path) -> list[Path]:
    stem = Path(stem)
    check_output_stem(stem)
    paths = [stem.with_suffix(suffix) for suffix in FIGURE_SUFFIXES]
    fig.tight_layout()
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        for path in paths:
            tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
            os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write --out {stem}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
    return paths


def load_idqn(run_dir: Path):
    """``(run, config, agent)`` of an i-DQN run directory, on the CPU; another agent's run is
    refused with a one-line :class:`UsageError`."""
    check_run(run_dir, "idqn")
    return load_agent(run_dir, device="cpu")


def run_renderer(run, config) -> StateRenderer:
    """How the figures of a run draw its states (pixels, or MinAtar's coloured channels)."""
    env = make_run_env(run, config)
    try:
        return renderer_for(env, run.game, config.frame_stack)
    finally:
        env.close()


def collect_states(run, config, agent, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Observations (n, C, H, W) uint8 and actions visited by the run's evaluation policy."""
    env = make_run_env(run, config)
    rng = np.random.default_rng(seed)
    states, actions = [], []
    steps = rollout(
        env,
        lambda obs: agent.act_eval(obs, rng),
        lambda index: episode_seed(seed, index, STATES_STREAM),
        begin_episode=agent.begin_episode,
        after_step=agent.after_step,
    )
    for step in steps:
        states.append(step.obs)
        actions.append(step.action)
        if len(states) >= count:
            break
    steps.close()
    env.close()
    return np.stack(states), np.array(actions)


def evenly_spaced(items, count: int):
    """Up to ``count`` items spread evenly over a sequence (first one included)."""
    return items[:: max(1, len(items) // count)][:count]


def spread_states(run, config, agent, count: int, seed: int = 0) -> np.ndarray:
    """``count`` observations spread over the first ``60 * count`` steps of the eval policy."""
    observations, _ = collect_states(run, config, agent, 60 * count, seed)
    return evenly_spaced(observations, count)


def key_grid(run_dir: Path, stem: Path) -> list[Path]:
    """Decoded keys: actions x the supports nearest 25, 3, -11 and -25 (paper Figs 3, 4, 10-12)."""
    run, config, agent = load_idqn(run_dir)
    renderer = run_renderer(run, config)
    indices = nearest_value_indices(agent.values, PAPER_VALUE_TARGETS)
    actions = list(range(agent.spec.num_actions))
    images = invert_keys(agent, actions, indices)
    fig, axes = plt.subplots(
        len(actions), len(indices), figsize=(1.6 * len(indices), 1.7 * len(actions)), squeeze=False
    )
    for a in actions:
        for j, index in enumerate(indices):
            ax = axes[a, j]
            renderer.show(ax, renderer.newest(images[a, j]))
            if a == 0:
                ax.set_title(f"v = {agent.values[index]:.1f}", fontsize=8)
            if j == 0:
                ax.set_ylabel(agent.spec.action_meanings[a], fontsize=8)
    fig.suptitle(f"Key inversion, {run.game} (newest frame of each decoded key)", fontsize=9)
    renderer.add_legend(fig)
    return save(fig, stem)


def _state_row(
    fig,
    axes,
    agent,
    obs: np.ndarray,
    renderer: StateRenderer,
    label: str,
    actions: Sequence[int] = (),
) -> None:
    """One row: the frame, the attention heat map (actions x sorted values), then one saliency
    overlay per action in ``actions`` (the greedy action when empty)."""
    out = agent.inspect(obs[None])
    greedy = int(out.q.argmax())
    actions = list(actions) or [greedy]
    frame = renderer.newest(obs)
    settings = suite_of(agent.spec.game).saliency
    saliency = perturbation_saliency(q_function(agent), obs, **settings).numpy()
    order = agent.values.argsort()
    renderer.show(axes[0], frame)
    axes[0].set_title(label, fontsize=9)
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
    for ax, action in zip(axes[2:], actions, strict=False):
        renderer.show(ax, frame)
        renderer.overlay(ax, saliency[action])
        marker = " (chosen)" if action == greedy else ""
        ax.set_title(f"saliency, Q(s, {agent.spec.action_meanings[action]}){marker}", fontsize=9)
    for ax in axes[len(actions) + 2 :]:
        ax.axis("off")


def parse_actions(agent, names: Sequence[str] | None) -> list[int]:
    """Action indices from names (``UPLEFT``) or indices (``3``); a clear error otherwise."""
    meanings = [m.upper() for m in agent.spec.action_meanings]
    indices = []
    for name in names or ():
        if name.isdigit() and int(name) < len(meanings):
            indices.append(int(name))
        elif name.upper() in meanings:
            indices.append(meanings.index(name.upper()))
        else:
            raise UsageError(
                f"unknown action {name!r}; this game's actions are {', '.join(meanings)}"
            )
    return indices


def attention_and_saliency(
    run_dir: Path,
    stem: Path,
    states: int = 3,
    seed: int = 0,
    actions: Sequence[str] | None = None,
) -> list[Path]:
    """Per state: the frame, the attention heat map (actions x values) and one saliency map per
    action of interest (``actions``: names or indices; default the greedy action). Figs 9b/c, 14."""
    run, config, agent = load_idqn(run_dir)
    renderer = run_renderer(run, config)
    chosen_actions = parse_actions(agent, actions)
    chosen = spread_states(run, config, agent, states, seed)
    columns = 2 + max(1, len(chosen_actions))
    fig, axes = plt.subplots(
        len(chosen), columns, figsize=(3.4 * columns, 3.2 * len(chosen)), squeeze=False
    )
    for row, obs in enumerate(chosen):
        _state_row(fig, axes[row], agent, obs, renderer, "state", chosen_actions)
    fig.suptitle(f"Attention and perturbation saliency, {run.game}", fontsize=10)
    renderer.add_legend(fig)
    return save(fig, stem)


def interpolation(
    run_dir: Path, stem: Path, states: int = 4, seed: int = 0, steps: int = 6
) -> list[Path]:
    """Fig 16: decode the line from a key to a visited state's embedding, l = 0, 0.2, ..., 1.

    Each row starts at the key of the state's chosen action that the state attends to most, and
    ends at the state's own embedding. The last column is the state itself, as the paper draws
    it: the channel-wise max over its stacked frames.
    """
    run, config, agent = load_idqn(run_dir)
    renderer = run_renderer(run, config)
    chosen = spread_states(run, config, agent, states, seed)
    out = agent.inspect(chosen)
    fig, axes = plt.subplots(
        len(chosen), steps + 1, figsize=(1.7 * (steps + 1), 2.0 * len(chosen)), squeeze=False
    )
    lambdas = np.linspace(0, 1, steps)
    for row, obs in enumerate(chosen):
        action = int(out.q[row].argmax())
        key_index = int(out.attention[row, action].argmax())
        path = interpolate_to_state(agent, agent.keys[action, key_index], out.embedding[row], steps)
        images = [renderer.newest(image) for image in path]
        images.append(renderer.stack_max(obs))
        last = "state" if config.frame_stack == 1 else f"state (max of {config.frame_stack} frames)"
        titles = [f"λ = {lam:.1f}" for lam in lambdas] + [last]
        for ax, image, title in zip(axes[row], images, titles, strict=True):
            renderer.show(ax, image)
            if row == 0:
                ax.set_title(title, fontsize=8)
        value = float(agent.values[key_index])
        axes[row, 0].set_ylabel(
            f"{agent.spec.action_meanings[action]}\nv = {value:.1f}", fontsize=8
        )
    fig.suptitle(f"Latent interpolation from a key to a state, {run.game}", fontsize=9)
    renderer.add_legend(fig)
    return save(fig, stem)


def adversarial(run_dir: Path, stem: Path, steps: int = 120, seed: int = 0) -> list[Path]:
    """Out-of-sample states (Figs 7, 13-15), each with attention, action and saliency.

    Rows: a state the agent visited and the same emulator state after a RAM edit (MsPacman:
    Ms. Pac-Man moved 20 px right and 12 px down, and an eaten pellet put back next to her path;
    SpaceInvaders: the invader formation mirrored, at the most lopsided state visited), then the
    pixel-wise max over four visited states with the saliency of each action chosen in them.
    Games without RAM edits (the other Atari games, MinAtar) get one visited state and the max;
    on MinAtar's binary object channels the max is the union of the four states' objects.
    """
    from agents.interpret import adversarial as edits

    run, config, agent = load_idqn(run_dir)
    env = make_run_env(run, config)
    renderer = renderer_for(env, run.game, config.frame_stack)
    ale = getattr(env.unwrapped, "ale", None)  # Atari only; the RAM edits need the emulator
    rng = np.random.default_rng(seed)
    start_rams: list[np.ndarray] = []

    def begin_episode(obs: np.ndarray) -> None:
        agent.begin_episode(obs)
        if ale is not None:
            start_rams.append(ale.getRAM().copy())  # the RAM edits start from the episode's start

    play = rollout(
        env,
        lambda obs: agent.act_eval(obs, rng),
        lambda index: episode_seed(seed, index, ADVERSARIAL_STREAM),
        episodes=1,
        begin_episode=begin_episode,
        after_step=agent.after_step,
    )
    visited = []
    best_state, best_asymmetry = None, -1
    for step in itertools.islice(play, steps):
        if step.done:
            break
        visited.append(step.next_obs)
        if ale is not None and run.game == "SpaceInvaders":
            asymmetry = edits.formation_asymmetry(ale.getRAM())
            if asymmetry > best_asymmetry:
                best_state, best_asymmetry = ale.cloneState(), asymmetry
    play.close()
    rows = []
    if ale is not None and run.game == "MsPacman":
        start_ram = start_rams[0]
        # The screen is only redrawn by a step, so read her position before restoring states.
        player = edits.sprite_centre(ale.getScreenRGB()[:172], edits.MSPACMAN_PLAYER_RGB)
        start = ale.cloneState()
        before, moved = edits.edited_observations(env, edits.moved_player(20, 12))
        ale.restoreState(start)  # the pellet edit starts from the same state
        rows += [(before, "visited state", []), (moved, "RAM edit: Ms. Pac-Man moved", [])]
        pellet = edits.extra_pellet(start_ram, ale.getRAM(), player or (0.0, 0.0))
        if pellet is not None:
            edit, (row, col) = pellet
            _, added = edits.edited_observations(env, edit)
            rows.append((added, f"RAM edit: pellet put back (screen x={col}, y={row})", []))
    elif run.game == "SpaceInvaders" and best_state is not None:
        ale.restoreState(best_state)
        before, mirrored = edits.edited_observations(env, edits.mirrored_formation)
        note = "" if best_asymmetry else " (symmetric: unchanged)"
        rows += [
            (before, "visited state", []),
            (mirrored, f"RAM edit: invaders mirrored{note}", []),
        ]
    elif visited:
        rows.append((visited[-1], "visited state", []))
    env.close()
    if not visited:
        raise UsageError(f"the episode ended at once; no states to show for {run_dir}")
    # Fig 15: the max over four visited states, with saliency for each action chosen in them.
    maxed = np.stack(evenly_spaced(visited, 4))
    maxed_actions = list(dict.fromkeys(int(a) for a in agent.inspect(maxed).q.argmax(dim=1)))
    kind = "channel-wise max (union of objects)" if renderer.draws_channels else "pixel-wise max"
    rows.append((edits.pixelwise_max(maxed), f"{kind} of 4 states", maxed_actions))
    columns = 2 + max(len(actions) or 1 for *_, actions in rows)
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(3.4 * columns, 3.2 * len(rows)), squeeze=False
    )
    for row, (state, label, actions) in enumerate(rows):
        _state_row(fig, axes[row], agent, state, renderer, label, actions)
    fig.suptitle(f"Out-of-sample states, {run.game}", fontsize=10)
    renderer.add_legend(fig)
    return save(fig, stem)


def tsne_figure(
    run_dir: Path, stem: Path, ddqn_run: Path | None = None, states: int = 500, seed: int = 0
) -> list[Path]:
    """t-SNE of visited states coloured by their top (action, value) key, keys as stars (Fig 2)."""
    run, config, agent = load_idqn(run_dir)
    if ddqn_run:  # checked before the slow part, so a wrong run fails at once
        check_ddqn_beside(ddqn_run, run, config)
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
            features = ddqn.features(torch.as_tensor(observations)).numpy()
        flat = tsne_2d(features, seed=seed)
        axes[0, 1].scatter(flat[:, 0], flat[:, 1], c=top, cmap="tab20", s=8)
        axes[0, 1].set_title("DDQN penultimate layer, same states (colour: i-DQN's top key)")
        if all_alike(features):
            axes[0, 1].text(
                0.5,
                0.35,
                f"DDQN's penultimate layer is the same on all {n} states:\n"
                "no layout to draw (a dead network? python -m agents health)",
                transform=axes[0, 1].transAxes,
                ha="center",
                fontsize=9,
            )
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    return save(fig, stem)


def reconstructions(
    run_dirs: Sequence[Path], stem: Path, states: int = 4, seed: int = 0
) -> list[Path]:
    """Fig 6: the same states decoded by each Table 2 variant, one block of rows per input.

    Runs are grouped by their input (colour, gray, MinAtar's channels); each group's states are
    those its first run's evaluation policy visits, spread over its first ``60 * states`` steps,
    and every run of the group reconstructs the same ones: ``decode(embed(s))``.
    """
    from agents.interpret.agreement import variant_label

    groups: dict[str, list] = {}
    for run_dir in run_dirs:
        run, config, agent = load_idqn(Path(run_dir))
        groups.setdefault(suite_of(run.game).input_name(config.color), []).append(
            (run, config, agent)
        )
    columns = 1 + max(len(group) for group in groups.values())
    rows = states * len(groups)
    fig, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.0 * rows), squeeze=False)
    for block, (input_name, group) in enumerate(groups.items()):
        run, config, first = group[0]
        renderer = run_renderer(run, config)
        chosen = spread_states(run, config, first, states, seed)
        for index, obs in enumerate(chosen):
            row = axes[block * states + index]
            renderer.show(row[0], renderer.newest(obs))
            row[0].set_ylabel(input_name, fontsize=8)
            for ax, (_, variant_config, agent) in zip(row[1:], group, strict=False):
                decoded = agent.decode(agent.embed(obs[None]))[0].cpu()
                renderer.show(ax, renderer.newest(decoded))
                if index == 0:
                    ax.set_title(variant_label(variant_config), fontsize=8)
            for ax in row[1 + len(group) :]:
                ax.axis("off")
            if index == 0:
                row[0].set_title("state", fontsize=8)
    fig.suptitle(f"Reconstructions by variant, {run.game} (newest frame)", fontsize=9)
    renderer.add_legend(fig)
    return save(fig, stem)


def variant_reconstructions(
    run_dir: Path, stem: Path, variants: Sequence[Path] = (), states: int = 4, seed: int = 0
) -> list[Path]:
    """:func:`reconstructions` of ``run_dir`` and the ``variants`` after it (``--variants``)."""
    return reconstructions([run_dir, *variants], stem, states, seed)


def write_json(stem: Path, result: dict) -> list[Path]:
    """``stem.json``, atomically; a one-line error when it cannot be written."""
    out = Path(stem).with_suffix(".json")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out, result)
    except OSError as exc:
        raise UsageError(f"cannot write --out {stem}: {exc.strerror or exc}") from exc
    return [out]


def write_embedding(
    run_dir: Path, stem: Path, ddqn_run: Path | None = None, states: int = 500, seed: int = 0
) -> list[Path]:
    """:func:`embedding_statistics` as ``stem.json``."""
    return write_json(stem, embedding_statistics(run_dir, ddqn_run, states, seed))


def agreeing(
    run_dir: Path,
    stem: Path,
    count: int = 4,
    rollouts: int = 5,
    max_steps: int = 27_000,
    seed: int = 0,
) -> list[Path]:
    """Fig 5: states where the agent's action agrees with the one its decoded keys suggest
    (:func:`agents.interpret.agreement.agreeing_examples`, Table 2's code), each beside the
    decoded key the image-space attention of that action weighs most."""
    from agents.interpret.agreement import agreeing_examples

    run, config, agent = load_idqn(run_dir)
    renderer = run_renderer(run, config)
    examples = agreeing_examples(
        agent, lambda: make_run_env(run, config), count, rollouts, max_steps, seed
    )
    if not examples:  # a figure that says so: an untrained run may never agree
        fig, ax = plt.subplots(figsize=(4.4, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no step of {rollouts} rollouts agrees", ha="center", va="center")
        return save(fig, stem)
    key_images = agent.decode(agent.keys.flatten(0, 1))  # (A * N, C, H, W), pixels
    key_images = key_images.reshape(*agent.keys.shape[:2], *key_images.shape[1:])
    fig, axes = plt.subplots(len(examples), 2, figsize=(4.4, 2.3 * len(examples)), squeeze=False)
    for row, (obs, action, key) in zip(axes, examples, strict=True):
        name = agent.spec.action_meanings[action]
        renderer.show(row[0], renderer.newest(obs))
        row[0].set_title(f"state: agent and keys choose {name}", fontsize=8)
        renderer.show(row[1], renderer.newest(key_images[action, key].cpu()))
        row[1].set_title(f"decoded key ({name}, v = {agent.values[key]:.1f})", fontsize=8)
    fig.suptitle(f"Agreeing examples, {run.game}", fontsize=9)
    renderer.add_legend(fig)
    return save(fig, stem)


def embedding_statistics(
    run_dir: Path, ddqn_run: Path | None = None, states: int = 500, seed: int = 0, k: int = 10
) -> dict:
    """Fig 2's claims as numbers (:mod:`agents.interpret.embedding`), on the states the t-SNE
    figure draws (same count and seed): keys among states, and label purity against DDQN's."""
    from agents.interpret.embedding import chance_purity, key_to_state_ratio, neighbour_purity

    run, config, agent = load_idqn(run_dir)
    visited, _ = collect_states(run, config, agent, states, seed)
    # Distinct states only: a repeated state is its own nearest neighbour at distance 0.
    observations = np.unique(visited, axis=0)
    out = agent.inspect(observations)
    labels = out.attention.flatten(1).argmax(dim=1).cpu().numpy()  # top (action, key)
    embeddings = out.embedding.cpu().numpy()
    result = {"game": run.game, "states": len(visited), "distinct_states": len(observations)}
    result["k"] = k
    result |= key_to_state_ratio(embeddings, agent.keys.flatten(0, 1).cpu().numpy())
    result |= {
        "labels": int(len(np.unique(labels))),
        "purity_idqn": neighbour_purity(embeddings, labels, k),
        "purity_chance": chance_purity(labels),
    }
    if ddqn_run:
        _, _, ddqn = load_agent(ddqn_run, device="cpu")
        with torch.no_grad():
            features = ddqn.features(torch.as_tensor(observations)).numpy()
        result["purity_ddqn"] = neighbour_purity(features, labels, k)
    return result
