"""The off-policy runner shared by every value-based agent: train, checkpoint, resume, evaluate.

A run directory holds everything about one training run::

    config.yaml        the fully resolved config (run identity + every hyperparameter)
    meta.json          package versions, git commit, device and command line of each invocation
    episodes.csv       one row per finished episode: frame, episode, return (raw), length, seconds
    losses.csv         every ``log_loss_every_updates`` updates: frame, update, loss, ...
    checkpoint.pt      model, optimizer, replay (optional), RNG states, counters; written atomically
    summary.json       written last, when the frame budget is reached (the completion marker)
    eval.csv           written by ``evaluate``

Checkpoints are taken at the first episode end after every ``checkpoint_every_steps`` agent steps
(and at the end of the budget). Every episode's emulator seed is derived from (run seed, episode
index), so a run resumed from a checkpoint replays exactly what the uninterrupted run would have:
same episodes, same actions, same updates, same RNG streams.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from agents.config import TrainConfig, build_config
from agents.envs import check_game, env_spec, make_env, newest_frame
from agents.errors import UsageError
from agents.files import (
    CsvLog,
    atomic_torch_save,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_yaml,
)
from agents.registry import get_agent
from agents.replay import FrameReplay

CHECKPOINT_FORMAT = 1
EPISODE_HEADER = ["frame", "episode", "return", "length", "seconds"]
EVAL_HEADER = ["episode", "return", "length"]


@dataclass(frozen=True)
class RunSpec:
    """What to train: the identity of a run, apart from its hyperparameters."""

    agent: str
    game: str
    seed: int
    frames: int  # emulator frames; agent steps = frames // frame_skip
    preset: str


def make_run_env(run: RunSpec, config: TrainConfig, render_mode: str | None = None):
    """The environment a run trains on, built from its config."""
    return make_env(
        run.game,
        color=config.color,
        frame_stack=config.frame_stack,
        frame_skip=config.frame_skip,
        noop_max=config.noop_max,
        render_mode=render_mode,
    )


def select_device(requested: str | None = None) -> torch.device:
    """CUDA when present (or asked for), else the CPU."""
    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(f"device {requested!r} requested but CUDA is not available")
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def episode_seed(run_seed: int, episode: int, stream: int = 0) -> int:
    """Emulator seed of one episode: a pure function of the run seed and the episode index."""
    return int(np.random.SeedSequence([run_seed, stream, episode]).generate_state(1)[0])


def resolve(run: RunSpec, overrides: dict[str, Any]) -> TrainConfig:
    """Validate everything about a run before anything is written."""
    entry = get_agent(run.agent)
    check_game(run.game)
    if run.frames <= 0:
        raise UsageError(f"--frames must be positive, got {run.frames}")
    config = build_config(entry.config, run.agent, run.preset, overrides)
    if run.frames < config.frame_skip:
        raise UsageError(
            f"--frames {run.frames} is less than one agent step ({config.frame_skip} frames)"
        )
    return config


def _config_document(run: RunSpec, config: TrainConfig) -> dict[str, Any]:
    return {"run": asdict(run), "config": config.model_dump()}


def _identity_digest(run: RunSpec, config: TrainConfig) -> str:
    """Hash of everything that defines a run except its budget (which a resume may extend)."""
    identity = {**asdict(run), "frames": None, "config": config.model_dump()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + ("-dirty" if dirty else "")) if commit else "unknown"


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("idqn-repro", "torch", "numpy", "gymnasium", "ale-py", "stable-baselines3"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _record_invocation(run_dir: Path, device: torch.device, resumed_from: int | None) -> None:
    path = run_dir / "meta.json"
    meta = json.loads(path.read_text()) if path.exists() else {"invocations": []}
    meta["invocations"].append(
        {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "argv": sys.argv,
            "host": platform.node(),
            "device": str(device),
            "torch_threads": torch.get_num_threads(),
            "git_commit": _git_commit(),
            "versions": _versions(),
            "resumed_from_step": resumed_from,
        }
    )
    atomic_write_json(path, meta)


def _prepare_run_dir(out: Path, run: RunSpec, config: TrainConfig) -> None:
    """Create ``out`` (or check it is this run's), failing with a one-line error if unusable."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"output path {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output directory {out}: {exc.strerror}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {out} is not writable")
    config_path = out / "config.yaml"
    if config_path.exists():
        previous = yaml.safe_load(config_path.read_text()) or {}
        current = _config_document(run, config)
        prev_run = {**previous.get("run", {}), "frames": None}
        if (
            prev_run != {**current["run"], "frames": None}
            or previous.get("config") != current["config"]
        ):
            raise UsageError(
                f"{out} holds a run with a different config; use a new --out, or the same "
                f"agent/game/seed/preset/--set as before ({config_path})"
            )


def _load_checkpoint(path: Path, digest: str) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (any failure to unpickle means corrupt)
        raise UsageError(
            f"checkpoint {path} is corrupt or unreadable ({type(exc).__name__}); delete it to restart the run"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"checkpoint {path} is not a checkpoint of this suite (format mismatch)")
    if state.get("digest") != digest:
        raise UsageError(
            f"checkpoint {path} does not match this run's config (digest {state.get('digest')} != {digest})"
        )
    return state


def train(
    run: RunSpec,
    out: Path,
    overrides: dict[str, Any] | None = None,
    *,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume) one run into ``out`` and return its summary.

    Re-running with the same ``out`` resumes from ``out/checkpoint.pt``. All validation happens
    before anything is written.
    """
    out = Path(out)
    config = resolve(run, overrides or {})
    torch_device = select_device(device)
    digest = _identity_digest(run, config)
    checkpoint_path = out / "checkpoint.pt"
    _prepare_run_dir(out, run, config)
    checkpoint = _load_checkpoint(checkpoint_path, digest) if checkpoint_path.is_file() else None

    atomic_write_yaml(out / "config.yaml", _config_document(run, config))
    _record_invocation(out, torch_device, checkpoint["step"] if checkpoint else None)

    # Build the pieces.
    torch.manual_seed(run.seed)
    rng = np.random.default_rng(run.seed)
    env = make_run_env(run, config)
    spec = env_spec(env, run.game, config.frame_stack)
    agent = get_agent(run.agent).agent(config, spec, torch_device)
    replay = FrameReplay(config.replay_capacity, spec.frame_shape, config.frame_stack)
    total_steps = run.frames // config.frame_skip

    step = episode = updates = 0
    elapsed_before = 0.0
    next_checkpoint = config.checkpoint_every_steps
    if checkpoint is not None:
        agent.load_state_dict(checkpoint["agent"])
        if checkpoint["replay"] is not None:
            replay.load_state_dict(checkpoint["replay"])
        rng.bit_generator.state = checkpoint["rng"]["numpy"]
        torch.set_rng_state(checkpoint["rng"]["torch"])
        if torch.cuda.is_available() and checkpoint["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
        step, episode, updates = checkpoint["step"], checkpoint["episode"], checkpoint["updates"]
        elapsed_before = checkpoint["elapsed_seconds"]
        next_checkpoint = checkpoint["next_checkpoint"]
    if step < total_steps:
        (out / "summary.json").unlink(missing_ok=True)  # the run is not complete until rewritten
    # Logs hold exactly what the restored state has seen.
    CsvLog.truncate(out / "episodes.csv", EPISODE_HEADER, lambda r: int(r["episode"]) < episode)
    loss_header = ["frame", "update", *agent.log_columns]
    CsvLog.truncate(out / "losses.csv", loss_header, lambda r: int(r["update"]) <= updates)
    if checkpoint is None:
        for name in ("episodes.csv", "losses.csv", "summary.json"):
            (out / name).unlink(missing_ok=True)
    episodes_log = CsvLog(out / "episodes.csv", EPISODE_HEADER)
    losses_log = CsvLog(out / "losses.csv", loss_header)

    def save_checkpoint() -> None:
        atomic_torch_save(
            {
                "format": CHECKPOINT_FORMAT,
                "digest": digest,
                "agent_name": run.agent,
                "step": step,
                "episode": episode,
                "updates": updates,
                "next_checkpoint": next_checkpoint,
                "elapsed_seconds": elapsed_before + (time.perf_counter() - start),
                "agent": agent.state_dict(),
                "replay": replay.state_dict() if config.checkpoint_replay else None,
                "rng": {
                    "numpy": rng.bit_generator.state,
                    "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                },
            },
            checkpoint_path,
        )

    recent_returns: deque[float] = deque(maxlen=100)
    start = time.perf_counter()
    bar = tqdm(
        total=total_steps,
        initial=step,
        unit="step",
        desc=f"{run.agent}/{run.game}/s{run.seed}",
        disable=not progress,
        mininterval=2.0,
        dynamic_ncols=True,
    )
    bar_pending = 0
    obs = None
    episode_return, episode_length = 0.0, 0
    try:
        while step < total_steps:
            if obs is None:
                obs, _ = env.reset(seed=episode_seed(run.seed, episode))
                replay.start_episode(newest_frame(obs, spec))
                episode_return, episode_length = 0.0, 0

            action = agent.act(obs, step, rng)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            stored_reward = (
                float(np.clip(reward, -1.0, 1.0)) if config.clip_rewards else float(reward)
            )
            replay.add(action, stored_reward, terminated, newest_frame(next_obs, spec))
            obs = next_obs
            episode_return += float(reward)
            episode_length += 1
            step += 1

            if step % config.train_freq == 0 and replay.transitions_added >= max(
                config.learning_starts, 1
            ):
                stats = agent.update(replay.sample(config.batch_size, rng, torch_device), step)
                updates += 1
                if updates % config.log_loss_every_updates == 0:
                    values = [f"{float(stats[name]):.6g}" for name in agent.log_columns]
                    losses_log.write([step * config.frame_skip, updates, *values])
            if step % config.target_sync_steps == 0:
                agent.sync_target()

            if terminated or truncated:
                seconds = elapsed_before + time.perf_counter() - start
                episodes_log.write(
                    [
                        step * config.frame_skip,
                        episode,
                        episode_return,
                        episode_length,
                        f"{seconds:.1f}",
                    ]
                )
                recent_returns.append(episode_return)
                episode += 1
                obs = None
                if step >= next_checkpoint:
                    next_checkpoint = step + config.checkpoint_every_steps
                    save_checkpoint()
                bar.set_postfix(
                    episodes=episode, return100=f"{np.mean(recent_returns):.1f}", refresh=False
                )
            bar_pending += 1
            if bar_pending >= 200:
                bar.update(bar_pending)
                bar_pending = 0
        bar.update(bar_pending)
        save_checkpoint()
    finally:
        bar.close()
        episodes_log.close()
        losses_log.close()
        env.close()

    summary = _summarise(
        out, run, config, step, episode, updates, elapsed_before + time.perf_counter() - start
    )
    atomic_write_json(out / "summary.json", summary)
    return summary


def _summarise(
    out: Path,
    run: RunSpec,
    config: TrainConfig,
    step: int,
    episodes: int,
    updates: int,
    seconds: float,
) -> dict[str, Any]:
    import pandas as pd

    log = pd.read_csv(out / "episodes.csv")
    rolling = log["return"].rolling(100, min_periods=1).mean()
    return {
        "agent": run.agent,
        "game": run.game,
        "seed": run.seed,
        "preset": run.preset,
        "frames": step * config.frame_skip,
        "agent_steps": step,
        "episodes": episodes,
        "updates": updates,
        "train_seconds": round(seconds, 1),
        "final_return_100": float(rolling.iloc[-1]) if len(log) else None,
        "best_return_100": float(rolling.max()) if len(log) else None,
    }


def load_run(run_dir: Path) -> tuple[RunSpec, TrainConfig]:
    """Read a run directory's resolved config back into a :class:`RunSpec` and its config."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise UsageError(f"{run_dir} is not a run directory (no config.yaml)")
    document = yaml.safe_load(config_path.read_text())
    run = RunSpec(**document["run"])
    entry = get_agent(run.agent)
    return run, entry.config(**document["config"])


def load_agent(run_dir: Path, device: str | None = None):
    """Load the trained agent of a run directory: ``(run, config, agent)``.

    The agent exposes the inspection API of its class (e.g. :class:`agents.idqn.IDQNAgent`).
    """
    run, config = load_run(run_dir)
    path = Path(run_dir) / "checkpoint.pt"
    if not path.is_file():
        raise UsageError(f"{run_dir} has no checkpoint.pt yet")
    checkpoint = _load_checkpoint(path, _identity_digest(run, config))
    env = make_run_env(run, config)
    spec = env_spec(env, run.game, config.frame_stack)
    env.close()
    agent = get_agent(run.agent).agent(config, spec, select_device(device))
    agent.load_state_dict(checkpoint["agent"])
    return run, config, agent


def evaluate(
    run_dir: Path,
    episodes: int,
    *,
    seed: int | None = None,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Play ``episodes`` episodes with the run's evaluation policy; write ``eval.csv``."""
    if episodes <= 0:
        raise UsageError(f"--episodes must be positive, got {episodes}")
    run_dir = Path(run_dir)
    run, config, agent = load_agent(run_dir, device)
    if not os.access(run_dir, os.W_OK):
        raise UsageError(f"run directory {run_dir} is not writable")
    seed = run.seed if seed is None else seed
    rng = np.random.default_rng([seed, 1])
    env = make_run_env(run, config)
    rows = []
    for index in tqdm(
        range(episodes),
        desc=f"evaluate {run.agent}/{run.game}",
        unit="episode",
        disable=not progress,
    ):
        obs, _ = env.reset(seed=episode_seed(seed, index, stream=1))
        total, length, done = 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act_eval(obs, rng))
            total += float(reward)
            length += 1
            done = terminated or truncated
        rows.append([index, total, length])
    env.close()
    atomic_write_csv(run_dir / "eval.csv", EVAL_HEADER, rows)
    returns = np.array([r[1] for r in rows])
    return {
        "episodes": episodes,
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
    }


def random_policy_returns(
    game: str, episodes: int, seed: int = 12345, frame_stack: int = 4
) -> list[float]:
    """Raw returns of a uniform-random policy on ``game``: the floor that learning must beat."""
    env = make_env(game, frame_stack=frame_stack)
    rng = np.random.default_rng(seed)
    returns = []
    for episode in range(episodes):
        env.reset(seed=episode_seed(seed, episode, stream=2))
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns
