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
(and at the end of the budget, with the unfinished episode's actions). Every episode's emulator
seed is derived from (run seed, episode index), so a run resumed from a checkpoint replays exactly
what the uninterrupted run would have: same episodes, same actions, same updates, same RNG
streams. That holds when the checkpoint carries the replay (``checkpoint_replay: true``, every
shipped preset); without it, a resume refills the replay and waits ``learning_starts`` steps again.
Extending a finished run's budget continues its unfinished episode, so it gives the same episodes
as one longer run.

Reliability: one process at a time writes a run directory (:class:`agents.files.RunLock`); a
non-finite loss or a full disk stops the run with one line, the last checkpoint intact; torn log
rows and orphaned temporary files from a crash are dropped on the next start.
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
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from agents.config import TrainConfig, build_config, load_yaml
from agents.envs import MINATAR_GAMES, check_game, env_spec, make_env, newest_frame
from agents.errors import RunFailed, UsageError
from agents.files import (
    CsvLog,
    DiskFull,
    RunLock,
    atomic_torch_save,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_yaml,
    remove_orphaned_temporaries,
)
from agents.networks import check_precision, cpu_capability
from agents.registry import get_agent
from agents.replay import FrameReplay
from agents.stats import best_and_final

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
    """CUDA when present (or asked for), else the CPU; a device that does not exist is refused."""
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UsageError(f"unknown device {requested!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {requested!r} requested but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(
                f"device {requested!r} does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif device.type != "cpu":
        raise UsageError(f"device {requested!r} is not supported; use cpu, cuda or cuda:N")
    return device


def episode_seed(run_seed: int, episode: int, stream: int = 0) -> int:
    """Emulator seed of one episode: a pure function of the run seed and the episode index."""
    return int(np.random.SeedSequence([run_seed, stream, episode]).generate_state(1)[0])


MAX_SEED = 2**63 - 1  # torch.manual_seed takes up to 2^64 - 1; pandas and JSON readers int64


def resolve(run: RunSpec, overrides: dict[str, Any]) -> TrainConfig:
    """Validate everything about a run before anything is written."""
    entry = get_agent(run.agent)
    check_game(run.game)
    if isinstance(run.seed, bool) or not 0 <= run.seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer in [0, 2^63 - 1], got {run.seed}")
    if run.frames <= 0:
        raise UsageError(f"--frames must be positive, got {run.frames}")
    config = build_config(entry.config, run.agent, run.preset, overrides)
    if run.game in MINATAR_GAMES:
        if config.color:
            raise UsageError("MinAtar has no colour frames: color=true is for Atari games")
        if config.frame_skip != 1:
            raise UsageError(
                f"MinAtar has no action repeat, so frame_skip must be 1 (got {config.frame_skip}); "
                "use --preset minatar"
            )
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


def _read_meta(run_dir: Path) -> dict[str, Any]:
    """``meta.json`` of a run directory (empty history if absent); corrupt is a UsageError."""
    path = run_dir / "meta.json"
    if not path.exists():
        return {"invocations": []}
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"{path} is corrupt ({type(exc).__name__}); repair or delete it to continue this run"
        ) from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("invocations"), list):
        raise UsageError(f"{path} is not a meta.json of this suite (no invocations list)")
    return meta


def _invocation(device: torch.device, resumed_from: int | None) -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
        "host": platform.node(),
        "device": str(device),
        "cpu_capability": cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "resumed_from_step": resumed_from,
    }


def _read_run_config(config_path: Path) -> dict[str, Any]:
    """A run directory's ``config.yaml`` as a mapping; corrupt is a one-line UsageError."""
    try:
        document = load_yaml(config_path.read_bytes().decode("utf-8"), str(config_path))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{config_path} is corrupt (not UTF-8 text)") from exc
    if not isinstance(document, dict) or not isinstance(document.get("run"), dict):
        raise UsageError(f"{config_path} is corrupt or not a run config of this suite")
    return document


def _check_existing_run(out: Path, run: RunSpec, config: TrainConfig) -> None:
    """Refuse a directory that holds another run, or whose files are corrupt. Reads only."""
    config_path = out / "config.yaml"
    if config_path.exists():
        previous = _read_run_config(config_path)
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
    _read_meta(out)


@contextmanager
def _locked_run_dir(out: Path) -> Iterator[None]:
    """Create ``out`` if needed and hold its :class:`RunLock` for the block.

    A directory this call created is removed again if the block fails with a UsageError (bad
    input found before anything was written).
    """
    if str(out) == "":
        raise UsageError("--out must not be empty")
    if out.exists() and not out.is_dir():
        raise UsageError(f"output path {out} exists and is not a directory")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output directory {out}: {exc.strerror}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {out} is not writable")
    lock = RunLock(out)
    try:
        lock.acquire()
    except UsageError:
        raise
    except OSError as exc:
        raise UsageError(f"cannot lock output directory {out}: {exc.strerror}") from exc
    try:
        yield
    except UsageError:
        lock.release()
        if created:
            with suppress(OSError):
                out.rmdir()
        raise
    finally:
        lock.release()


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


def _obs_digest(obs: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(obs).tobytes()).hexdigest()[:16]


def _replay_episode(env, seed: int, actions: list[int], expected_digest: str):
    """Bring a fresh env back to the middle of an episode by replaying its actions.

    Episodes are deterministic given their seed and actions (no sticky actions on Atari; MinAtar's
    sticky actions draw from the env's RNG, seeded at reset), so this restores exactly the
    observation the checkpoint was taken at, which is verified.
    """
    obs, _ = env.reset(seed=seed)
    reward_sum = 0.0
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        reward_sum += float(reward)
        if terminated or truncated:
            break
    if _obs_digest(obs) != expected_digest:
        raise RunFailed(
            "replaying the checkpoint's unfinished episode did not reach the saved observation; "
            "the environment is not deterministic here"
        )
    return obs


def train(
    run: RunSpec,
    out: Path,
    overrides: dict[str, Any] | None = None,
    *,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume, or extend) one run into ``out`` and return its summary.

    Re-running with the same ``out`` resumes from ``out/checkpoint.pt``; a larger ``frames``
    extends a finished run, giving the same episodes as one longer run. All validation happens
    before anything is written, and one process at a time may write to ``out``.

    Raises:
        UsageError: bad input (nothing written).
        RunFailed: non-finite losses or a full disk (the last checkpoint is intact).
    """
    out = Path(out)
    config = resolve(run, overrides or {})
    torch_device = select_device(device)
    check_precision(config.precision, torch_device)
    digest = _identity_digest(run, config)
    checkpoint_path = out / "checkpoint.pt"
    with _locked_run_dir(out):
        _check_existing_run(out, run, config)
        checkpoint = (
            _load_checkpoint(checkpoint_path, digest) if checkpoint_path.is_file() else None
        )
        remove_orphaned_temporaries(out)
        saved_step = checkpoint["step"] if checkpoint else None
        try:
            return _train_locked(run, out, config, torch_device, digest, checkpoint, progress)
        except DiskFull as exc:
            kept = (
                f"the last checkpoint ({checkpoint_path}, step {_last_saved_step(out, saved_step)}) is intact"
                if checkpoint_path.is_file()
                else "no checkpoint had been written yet"
            )
            raise RunFailed(
                f"disk full while writing {exc.path}; {kept}: free space and rerun the same "
                "command to resume"
            ) from exc


def _last_saved_step(out: Path, fallback: int | None) -> int | None:
    try:
        return int(torch.load(out / "checkpoint.pt", weights_only=True)["step"])
    except Exception:  # noqa: BLE001 (only for the message)
        return fallback


def _train_locked(
    run: RunSpec,
    out: Path,
    config: TrainConfig,
    torch_device: torch.device,
    digest: str,
    checkpoint: dict[str, Any] | None,
    progress: bool,
) -> dict[str, Any]:
    checkpoint_path = out / "checkpoint.pt"
    atomic_write_yaml(out / "config.yaml", _config_document(run, config))
    meta = _read_meta(out)
    meta["invocations"].append(
        _invocation(torch_device, checkpoint["step"] if checkpoint else None)
    )
    atomic_write_json(out / "meta.json", meta)

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
    obs = None
    episode_actions: list[int] = []
    episode_return, episode_length = 0.0, 0
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
        unfinished = checkpoint.get("episode_actions")
        if unfinished is not None:  # taken mid-episode, when a budget ran out: continue it
            episode_actions = [int(a) for a in unfinished.tolist()]
            obs = _replay_episode(
                env, episode_seed(run.seed, episode), episode_actions, checkpoint["obs_digest"]
            )
            episode_return = float(checkpoint["episode_return"])
            episode_length = len(episode_actions)
            if checkpoint["replay"] is None:
                replay.start_episode(newest_frame(obs, spec))
    last_saved_step = step if checkpoint is not None else None
    if step < total_steps:
        (out / "summary.json").unlink(missing_ok=True)  # the run is not complete until rewritten
    # Logs hold exactly what the restored state has seen; torn or unparsable rows are dropped.
    CsvLog.truncate(
        out / "episodes.csv", EPISODE_HEADER, lambda r: int(float(r["episode"])) < episode
    )
    loss_header = ["frame", "update", *agent.log_columns]
    CsvLog.truncate(out / "losses.csv", loss_header, lambda r: int(float(r["update"])) <= updates)
    if checkpoint is None:
        for name in ("episodes.csv", "losses.csv", "summary.json"):
            (out / name).unlink(missing_ok=True)
    episodes_log = CsvLog(out / "episodes.csv", EPISODE_HEADER)
    losses_log = CsvLog(out / "losses.csv", loss_header)

    def save_checkpoint() -> None:
        nonlocal last_saved_step
        mid_episode = obs is not None
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
                # The unfinished episode, so that extending the budget continues it exactly.
                "episode_actions": torch.tensor(episode_actions, dtype=torch.int64)
                if mid_episode
                else None,
                "episode_return": episode_return,
                "obs_digest": _obs_digest(obs) if mid_episode else None,
            },
            checkpoint_path,
        )
        last_saved_step = step

    def stop_on_non_finite(stats: dict[str, Any]) -> None:
        values = {name: float(stats[name]) for name in agent.log_columns}
        bad = [name for name, value in values.items() if not np.isfinite(value)]
        if bad:
            kept = (
                f"the last good checkpoint ({checkpoint_path}, step {last_saved_step}) is kept"
                if last_saved_step is not None
                else "no checkpoint had been taken yet"
            )
            raise RunFailed(
                f"non-finite {', '.join(bad)} loss at update {updates} (step {step}, frame "
                f"{step * config.frame_skip}); the run stopped; {kept}"
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
    try:
        while step < total_steps:
            if obs is None:
                obs, _ = env.reset(seed=episode_seed(run.seed, episode))
                replay.start_episode(newest_frame(obs, spec))
                episode_return, episode_length = 0.0, 0
                episode_actions = []

            action = agent.act(obs, step, rng)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            stored_reward = (
                float(np.clip(reward, -1.0, 1.0)) if config.clip_rewards else float(reward)
            )
            replay.add(action, stored_reward, terminated, newest_frame(next_obs, spec))
            obs = next_obs
            episode_actions.append(action)
            episode_return += float(reward)
            episode_length += 1
            step += 1

            if step % config.train_freq == 0 and replay.transitions_added >= max(
                config.learning_starts, 1
            ):
                stats = agent.update(replay.sample(config.batch_size, rng, torch_device), step)
                updates += 1
                stop_on_non_finite(stats)
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

    returns = pd.read_csv(out / "episodes.csv")["return"]
    best, final = best_and_final(returns)
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
        # Full 100-episode windows only (agents.stats); None with fewer than 100 episodes.
        "final_return_100": final,
        "best_return_100": best,
    }


def load_run(run_dir: Path) -> tuple[RunSpec, TrainConfig]:
    """Read a run directory's resolved config back into a :class:`RunSpec` and its config."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise UsageError(f"{run_dir} is not a run directory (no config.yaml)")
    document = _read_run_config(config_path)
    try:
        run = RunSpec(**document["run"])
        entry = get_agent(run.agent)
        return run, entry.config(**document["config"])
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise UsageError(f"{config_path} is not a valid run config of this suite") from exc


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
