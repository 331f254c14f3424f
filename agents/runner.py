"""The training loop, evaluation and the random-policy baseline, on top of :mod:`agents.rollout`.

The runner steps nothing itself: :func:`agents.rollout.rollout` plays the episodes, the agent
decides what to store and when to learn (:meth:`agents.contract.Agent.observe`), and this module
logs, checkpoints and resumes. Run directories, their validation and checkpoint I/O live in
:mod:`agents.rundir`.

Checkpoints are taken at the first episode end after every ``checkpoint_every_steps`` agent steps
(and at the end of the budget, with the unfinished episode's actions). Every episode's emulator
seed is derived from (run seed, episode index), so a run resumed from a checkpoint replays exactly
what the uninterrupted run would have: same episodes, same actions, same updates, same RNG
streams. That holds when the checkpoint carries the agent's memory (``checkpoint_replay: true``,
every shipped preset); without it, a resume refills the replay and waits ``learning_starts``
steps again. Extending a finished run's budget continues its unfinished episode, so it gives the
same episodes as one longer run.

Reliability: one process at a time writes a run directory (:class:`agents.files.RunLock`); a
non-finite loss or a full disk stops the run with one line, the last checkpoint intact; torn log
rows and orphaned temporary files from a crash are dropped on the next start.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from agents.config import RunConfig
from agents.contract import Agent
from agents.envs import env_spec, make_env
from agents.errors import RunFailed
from agents.files import (
    CsvLog,
    DiskFull,
    atomic_torch_save,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_yaml,
    remove_orphaned_temporaries,
)
from agents.networks import check_precision
from agents.registry import get_agent
from agents.rollout import (
    EVAL_STREAM,
    RANDOM_POLICY_STREAM,
    TRAIN_STREAM,
    Resume,
    episode_returns,
    episode_seed,
    obs_digest,
    rollout,
)
from agents.rundir import (
    CHECKPOINT_FORMAT,
    EPISODE_HEADER,
    EVAL_HEADER,
    MODEL_FILE,
    RunSpec,
    check_existing_run,
    config_document,
    identity_digest,
    invocation_record,
    load_agent,
    load_checkpoint,
    locked_run_dir,
    make_run_env,
    read_meta,
    resolve,
    save_model,
    select_device,
)
from agents.stats import best_and_final

__all__ = ["RunSpec", "train", "evaluate", "random_policy_returns", "episode_seed", "load_agent"]


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
    digest = identity_digest(run, config)
    checkpoint_path = out / "checkpoint.pt"
    with locked_run_dir(out):
        check_existing_run(out, run, config)
        checkpoint = load_checkpoint(checkpoint_path, digest) if checkpoint_path.is_file() else None
        remove_orphaned_temporaries(out)
        saved_step = checkpoint["step"] if checkpoint else None
        try:
            return _train_locked(run, out, config, torch_device, digest, checkpoint, progress)
        except DiskFull as exc:
            kept = (
                f"the last checkpoint ({checkpoint_path}, step {_saved_step(out, saved_step)}) "
                "is intact"
                if checkpoint_path.is_file()
                else "no checkpoint had been written yet"
            )
            raise RunFailed(
                f"disk full while writing {exc.path}; {kept}: free space and rerun the same "
                "command to resume"
            ) from exc


def _saved_step(out: Path, fallback: int | None) -> int | None:
    try:
        return int(torch.load(out / "checkpoint.pt", weights_only=True, mmap=True)["step"])
    except Exception:  # noqa: BLE001 (only for the message)
        return fallback


def _train_locked(
    run: RunSpec,
    out: Path,
    config: RunConfig,
    torch_device: torch.device,
    digest: str,
    checkpoint: dict[str, Any] | None,
    progress: bool,
) -> dict[str, Any]:
    checkpoint_path = out / "checkpoint.pt"
    atomic_write_yaml(out / "config.yaml", config_document(run, config))
    meta = read_meta(out)
    meta["invocations"].append(
        invocation_record(torch_device, checkpoint["step"] if checkpoint else None)
    )
    atomic_write_json(out / "meta.json", meta)

    # Build the pieces.
    torch.manual_seed(run.seed)
    rng = np.random.default_rng(run.seed)
    env = make_run_env(run, config)
    spec = env_spec(env, run.game, config.frame_stack)
    agent: Agent = get_agent(run.agent).agent(config, spec, torch_device)
    total_steps = run.frames // config.frame_skip

    step = episode = 0
    elapsed_before = 0.0
    next_checkpoint = config.checkpoint_every_steps
    resume = None
    episode_actions: list[int] = []
    episode_return = 0.0
    if checkpoint is not None:
        agent.load_state_dict(checkpoint["agent"])
        if checkpoint["replay"] is not None:
            agent.load_memory_state_dict(checkpoint["replay"])
        rng.bit_generator.state = checkpoint["rng"]["numpy"]
        torch.set_rng_state(checkpoint["rng"]["torch"])
        if torch.cuda.is_available() and checkpoint["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
        step, episode = checkpoint["step"], checkpoint["episode"]
        agent.updates = checkpoint["updates"]
        elapsed_before = checkpoint["elapsed_seconds"]
        next_checkpoint = checkpoint["next_checkpoint"]
        unfinished = checkpoint.get("episode_actions")
        if unfinished is not None:  # taken mid-episode, when a budget ran out: continue it
            episode_actions = [int(a) for a in unfinished.tolist()]
            episode_return = float(checkpoint["episode_return"])
            resume = Resume(episode, episode_actions, checkpoint["obs_digest"])
    last_saved_step = step if checkpoint is not None else None
    if step < total_steps:
        # The run is not complete until these are rewritten at the budget's end.
        (out / "summary.json").unlink(missing_ok=True)
        (out / MODEL_FILE).unlink(missing_ok=True)
    # Logs hold exactly what the restored state has seen; torn or unparsable rows are dropped.
    updates = agent.updates
    CsvLog.truncate(
        out / "episodes.csv", EPISODE_HEADER, lambda r: int(float(r["episode"])) < episode
    )
    loss_header = ["frame", "update", *agent.log_columns]
    CsvLog.truncate(out / "losses.csv", loss_header, lambda r: int(float(r["update"])) <= updates)
    if checkpoint is None:
        for name in ("episodes.csv", "losses.csv", "summary.json", MODEL_FILE):
            (out / name).unlink(missing_ok=True)
    episodes_log = CsvLog(out / "episodes.csv", EPISODE_HEADER)
    losses_log = CsvLog(out / "losses.csv", loss_header)
    current_obs = None  # the observation an unfinished episode stands at

    def save_checkpoint() -> None:
        nonlocal last_saved_step
        mid_episode = current_obs is not None
        atomic_torch_save(
            {
                "format": CHECKPOINT_FORMAT,
                "digest": digest,
                "agent_name": run.agent,
                "spec": spec.to_dict(),
                "step": step,
                "episode": episode,
                "updates": agent.updates,
                "next_checkpoint": next_checkpoint,
                "elapsed_seconds": elapsed_before + (time.perf_counter() - start),
                "agent": agent.state_dict(),
                "replay": agent.memory_state_dict(),
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
                "obs_digest": obs_digest(current_obs) if mid_episode else None,
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
                f"non-finite {', '.join(bad)} loss at update {agent.updates} (step {step}, frame "
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
    steps = rollout(
        env,
        lambda obs: agent.act(obs, step, rng),
        lambda index: episode_seed(run.seed, index, TRAIN_STREAM),
        first_episode=episode,
        begin_episode=agent.begin_episode,
        resume=resume,
    )
    try:
        while step < total_steps:
            transition = next(steps)
            step += 1
            if transition.t == 0:
                episode_actions, episode_return = [], 0.0
            stats = agent.observe(transition, step, rng)
            episode_actions.append(transition.action)
            episode_return += transition.reward
            current_obs = transition.next_obs
            if stats is not None:
                stop_on_non_finite(stats)
                if agent.updates % config.log_loss_every_updates == 0:
                    values = [f"{float(stats[name]):.6g}" for name in agent.log_columns]
                    losses_log.write([step * config.frame_skip, agent.updates, *values])
            if transition.done:
                seconds = elapsed_before + time.perf_counter() - start
                episodes_log.write(
                    [
                        step * config.frame_skip,
                        episode,
                        episode_return,
                        transition.t + 1,
                        f"{seconds:.1f}",
                    ]
                )
                recent_returns.append(episode_return)
                episode += 1
                current_obs = None
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
        save_model(out, run, config, spec, agent)
    finally:
        steps.close()
        bar.close()
        episodes_log.close()
        losses_log.close()
        env.close()

    summary = _summarise(
        out, run, config, step, episode, agent.updates, elapsed_before + time.perf_counter() - start
    )
    atomic_write_json(out / "summary.json", summary)
    return summary


def _summarise(
    out: Path,
    run: RunSpec,
    config: RunConfig,
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


def evaluate(
    run_dir: Path,
    episodes: int,
    *,
    seed: int | None = None,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Play ``episodes`` episodes with the run's evaluation policy; write ``eval.csv``."""
    import os

    from agents.errors import UsageError

    if episodes <= 0:
        raise UsageError(f"--episodes must be positive, got {episodes}")
    run_dir = Path(run_dir)
    run, config, agent = load_agent(run_dir, device)
    if not os.access(run_dir, os.W_OK):
        raise UsageError(f"run directory {run_dir} is not writable")
    seed = run.seed if seed is None else seed
    rng = np.random.default_rng([seed, 1])
    env = make_run_env(run, config)
    steps = rollout(
        env,
        lambda obs: agent.act_eval(obs, rng),
        lambda index: episode_seed(seed, index, EVAL_STREAM),
        episodes=episodes,
        begin_episode=agent.begin_episode,
    )
    rows = [
        [index, total, length]
        for index, total, length in tqdm(
            episode_returns(steps),
            total=episodes,
            desc=f"evaluate {run.agent}/{run.game}",
            unit="episode",
            disable=not progress,
        )
    ]
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
    steps = rollout(
        env,
        lambda obs: int(rng.integers(env.action_space.n)),
        lambda index: episode_seed(seed, index, RANDOM_POLICY_STREAM),
        episodes=episodes,
    )
    returns = [total for _, total, _ in episode_returns(steps)]
    env.close()
    return returns
