"""The training loop, evaluation and the random-policy baseline, on top of :mod:`agents.rollout`.

The runner steps nothing itself: :func:`agents.rollout.rollout` plays the episodes (a vector
agent's N environments: :class:`agents.vector_runner.VectorEpisodes`), the agent decides what to store and when to learn (:meth:`agents.contract.Agent.observe`), and this module
logs, checkpoints and resumes. Run directories, their validation and checkpoint I/O live in
:mod:`agents.rundir`.

Checkpoints are taken at the first episode end after every ``checkpoint_every_steps`` agent steps,
at the end of the budget, and when SIGINT or SIGTERM stops the run (the last two with the
unfinished episode's actions), so a stopped chunk of a long run loses no steps; a second signal
stops at once, losing the steps since the last checkpoint, as a kill does. Every episode's emulator
seed is derived from (run seed, episode index), so a run resumed from a checkpoint replays exactly
what the uninterrupted run would have: same episodes, same actions, same updates, same RNG
streams. That holds when the checkpoint carries the agent's memory (``checkpoint_replay: true``,
every shipped preset); without it, a resume refills the replay and waits ``learning_starts``
steps again. Extending a finished run's budget continues its unfinished episode, so it gives the
same episodes as one longer run. A run whose checkpoint is gone (its disk lost) resumes from its
resume point (``resume.pt``, :func:`agents.rundir.write_resume_point`) if it has one: from the
same step and episode, but warm (replay refilled, optimiser restarted, target synced), which
``meta.json`` records.

Reliability: one process at a time writes a run directory (:class:`agents.files.RunLock`); a
non-finite loss or a full disk stops the run with one line, the last checkpoint intact; torn log
rows and orphaned temporary files from a crash are dropped on the next start.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from agents.config import RunConfig
from agents.contract import Agent, VectorAgent
from agents.envs import env_spec, make_env
from agents.errors import Interrupted, RunFailed, UsageError
from agents.files import (
    CsvLog,
    DiskFull,
    RunLock,
    atomic_torch_save,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_yaml,
    remove_orphaned_temporaries,
    unpack_logs,
)
from agents.networks import check_precision
from agents.registry import get_agent
from agents.rollout import (
    EVAL_STREAM,
    RANDOM_POLICY_STREAM,
    TRAIN_STREAM,
    Resume,
    Step,
    episode_returns,
    episode_seed,
    evaluation_phase,
    obs_digest,
    rollout,
)
from agents.rundir import (
    CHECKPOINT_FORMAT,
    EPISODE_HEADER,
    EVAL_HEADER,
    EVAL_PHASE_HEADER,
    MODEL_FILE,
    RESUME_POINT_FILE,
    RESUME_POINT_LEAVES_OUT,
    RunSpec,
    check_existing_run,
    check_memory,
    check_resume,
    check_seed,
    config_document,
    identity_digest,
    invocation_record,
    is_resume_point,
    load_agent,
    load_checkpoint,
    load_resume_point,
    load_run,
    locked_run_dir,
    make_run_env,
    read_meta,
    resolve,
    restore_agent,
    save_model,
    select_device,
)
from agents.stats import best_and_final, final_evaluation, step_window_mean
from agents.vector_runner import VectorEpisodes, make_vector_env

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

    Re-running with the same ``out`` resumes from ``out/checkpoint.pt`` (without it, warm from
    ``out/resume.pt`` if the run has one); a larger ``frames``
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
    check_memory(run, config, torch_device)
    digest = identity_digest(run, config)
    with locked_run_dir(out):
        checkpoint = prepare_run_dir(out, run, config, digest)
        saved_step = checkpoint["step"] if checkpoint else None
        try:
            return _train_locked(run, out, config, torch_device, digest, checkpoint, progress)
        except DiskFull as exc:
            raise disk_full(exc, out, saved_step) from exc


def prepare_run_dir(
    out: Path, run: RunSpec, config: RunConfig, digest: str
) -> dict[str, Any] | None:
    """Under ``out``'s lock: refuse what cannot be trained or resumed there, and return the
    checkpoint to resume from (None for a new run): ``checkpoint.pt``, or without it the run's
    resume point (:func:`agents.rundir.write_resume_point`). Writes only what a resume needs
    first: packed logs unpacked, a crash's temporaries removed."""
    checkpoint_path, resume_point_path = out / "checkpoint.pt", out / RESUME_POINT_FILE
    check_existing_run(out, run, config)
    checkpoint = None
    if checkpoint_path.is_file():
        checkpoint = load_checkpoint(checkpoint_path, digest)
    elif resume_point_path.is_file():  # the checkpoint's disk was lost: a warm resume
        checkpoint = load_resume_point(resume_point_path, digest)
    unpack_logs(out)  # packed (compressed) logs, as committed, go back to the CSV a run appends to
    if checkpoint is not None:
        check_resume(out, run, config, checkpoint)
    remove_orphaned_temporaries(out)
    return checkpoint


def disk_full(exc: DiskFull, out: Path, saved_step: int | None) -> RunFailed:
    """The one line a full disk stops a run with, saying which checkpoint is intact."""
    checkpoint_path, resume_point_path = out / "checkpoint.pt", out / RESUME_POINT_FILE
    if checkpoint_path.is_file():
        kept = f"the last checkpoint ({checkpoint_path}, step {_saved_step(out, saved_step)}) is intact"
    elif resume_point_path.is_file():
        kept = f"no checkpoint had been written since the resume point ({resume_point_path})"
    else:
        kept = "no checkpoint had been written yet"
    return RunFailed(
        f"disk full while writing {exc.path}; {kept}: free space and rerun the same command to "
        "resume"
    )


def _saved_step(out: Path, fallback: int | None) -> int | None:
    try:
        return int(torch.load(out / "checkpoint.pt", weights_only=True, mmap=True)["step"])
    except Exception:  # noqa: BLE001 (only for the message)
        return fallback


class Session:
    """Where a training run stands, and what every training loop does with it: log an episode or
    an update, stop on a non-finite loss, take a checkpoint. The serial and the vector training
    loops below share it."""

    def __init__(self, run, out, config, agent, spec, digest, rng, checkpoint, progress) -> None:
        self.run, self.out, self.config, self.agent, self.spec = run, out, config, agent, spec
        self.digest, self.rng = digest, rng
        self.checkpoint_path = out / "checkpoint.pt"
        self.total_steps = run.frames // config.frame_skip
        self.step = self.episode = 0
        self.elapsed_before = 0.0
        self.next_checkpoint = config.checkpoint_every_steps
        if checkpoint is not None:
            restore_agent(agent, checkpoint)
            if checkpoint["replay"] is not None:
                agent.load_memory_state_dict(checkpoint["replay"])
            rng.bit_generator.state = checkpoint["rng"]["numpy"]
            torch.set_rng_state(checkpoint["rng"]["torch"])
            if torch.cuda.is_available() and checkpoint["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
            self.step, self.episode = checkpoint["step"], checkpoint["episode"]
            agent.updates = checkpoint["updates"]
            self.elapsed_before = checkpoint["elapsed_seconds"]
            self.next_checkpoint = checkpoint["next_checkpoint"]
        self.last_saved_step = self.step if checkpoint is not None else None
        # Where that step is saved: a warm resume's is resume.pt until the first checkpoint.
        self.saved_path = self.checkpoint_path
        if checkpoint is not None and is_resume_point(checkpoint):
            self.saved_path = out / RESUME_POINT_FILE
        self.phases_done = 0
        if config.eval_every_steps:
            self.phases_done = self.step // config.eval_every_steps
        if self.step < self.total_steps:
            # The run is not complete until these are rewritten at the budget's end.
            (out / "summary.json").unlink(missing_ok=True)
            (out / MODEL_FILE).unlink(missing_ok=True)
        # Logs hold exactly what the restored state has seen; torn or unparsable rows are dropped.
        updates, episode = agent.updates, self.episode
        CsvLog.truncate(
            out / "episodes.csv", EPISODE_HEADER, lambda r: int(float(r["episode"])) < episode
        )
        loss_header = ["frame", "update", *agent.log_columns]
        CsvLog.truncate(
            out / "losses.csv", loss_header, lambda r: int(float(r["update"])) <= updates
        )
        frame = self.step * config.frame_skip
        CsvLog.truncate(
            out / "evals.csv", EVAL_PHASE_HEADER, lambda r: int(float(r["frame"])) <= frame
        )
        if checkpoint is None:
            for name in ("episodes.csv", "losses.csv", "evals.csv", "summary.json", MODEL_FILE):
                (out / name).unlink(missing_ok=True)
        self.episodes_log = CsvLog(out / "episodes.csv", EPISODE_HEADER)
        self.losses_log = CsvLog(out / "losses.csv", loss_header)
        self.evals_log: CsvLog | None = None
        self.eval_env = None
        self.last_eval: float | None = None
        if config.eval_every_steps:
            self.evals_log = CsvLog(out / "evals.csv", EVAL_PHASE_HEADER)
        self.recent_returns: deque[float] = deque(maxlen=100)
        self.start = time.perf_counter()
        self.bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            unit="step",
            desc=f"{run.agent}/{run.game}/s{run.seed}",
            disable=not progress,
            mininterval=2.0,
            dynamic_ncols=True,
        )

    @property
    def seconds(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.start

    @property
    def evaluation_due(self) -> bool:
        """Whether training has just reached an evaluation phase that is not played yet."""
        every = self.config.eval_every_steps
        return bool(every) and self.step // every != self.phases_done

    def evaluate_if_due(self) -> None:
        """Play the evaluation phase whose step training has just reached (``eval_every_steps``),
        and append it to evals.csv. Called before any checkpoint of the same step, so that a
        checkpoint's step says which phases are done."""
        if not self.evaluation_due:
            return
        phase = self.step // self.config.eval_every_steps
        if self.eval_env is None:
            self.eval_env = make_run_env(self.run, self.config)
        rows = evaluation_phase(
            self.eval_env,
            self.agent.act_eval,
            self.run.seed,
            phase,
            self.config.eval_episodes,
            self.config.eval_max_steps,
            begin_episode=self.agent.begin_episode,
            after_step=self.agent.after_step,
        )
        frame = self.step * self.config.frame_skip
        for episode, total, length in rows:
            self.evals_log.write([frame, episode, total, length])
        self.phases_done = phase
        self.last_eval = float(np.mean([total for _, total, _ in rows]))

    def save_checkpoint(self, unfinished: dict[str, Any]) -> None:
        """Write the checkpoint atomically; ``unfinished`` is the loop's record of the episodes
        under way (what a resume replays)."""
        agent = self.agent
        atomic_torch_save(
            {
                "format": CHECKPOINT_FORMAT,
                "digest": self.digest,
                "agent_name": self.run.agent,
                "spec": self.spec.to_dict(),
                "step": self.step,
                "episode": self.episode,
                "updates": agent.updates,
                "next_checkpoint": self.next_checkpoint,
                "elapsed_seconds": self.seconds,
                "agent": agent.state_dict(),
                "replay": agent.memory_state_dict(),
                "rng": {
                    "numpy": self.rng.bit_generator.state,
                    "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                },
                **unfinished,
            },
            self.checkpoint_path,
        )
        self.last_saved_step = self.step
        self.saved_path = self.checkpoint_path

    def checkpoint_due(self) -> bool:
        """True (and the next one scheduled) once ``checkpoint_every_steps`` steps have passed."""
        if self.step < self.next_checkpoint:
            return False
        self.next_checkpoint = self.step + self.config.checkpoint_every_steps
        return True

    def log_update(self, stats: dict[str, Any]) -> None:
        """Stop on a non-finite loss; log every ``log_loss_every_updates``-th update."""
        agent, config = self.agent, self.config
        values = {name: float(stats[name]) for name in agent.log_columns}
        bad = [name for name, value in values.items() if not np.isfinite(value)]
        if bad:
            kept = (
                f"the last good checkpoint ({self.saved_path}, step {self.last_saved_step}) is kept"
                if self.last_saved_step is not None
                else "no checkpoint had been taken yet"
            )
            raise RunFailed(
                f"non-finite {', '.join(bad)} loss at update {agent.updates} (step {self.step}, "
                f"frame {self.step * config.frame_skip}); the run stopped; {kept}"
            )
        if agent.updates % config.log_loss_every_updates == 0:
            row = [f"{values[name]:.6g}" for name in agent.log_columns]
            self.losses_log.write([self.step * config.frame_skip, agent.updates, *row])

    def log_episode(self, episode_return: float, length: int) -> None:
        self.episodes_log.write(
            [
                self.step * self.config.frame_skip,
                self.episode,
                episode_return,
                length,
                f"{self.seconds:.1f}",
            ]
        )
        self.recent_returns.append(episode_return)
        self.episode += 1
        evaluation = {} if self.last_eval is None else {"eval": f"{self.last_eval:.1f}"}
        self.bar.set_postfix(
            episodes=self.episode,
            return100=f"{np.mean(self.recent_returns):.1f}",
            **evaluation,
            refresh=False,
        )

    def close(self) -> None:
        self.bar.close()
        self.episodes_log.close()
        self.losses_log.close()
        if self.evals_log is not None:
            self.evals_log.close()
        if self.eval_env is not None:
            self.eval_env.close()


def _train_locked(
    run: RunSpec,
    out: Path,
    config: RunConfig,
    torch_device: torch.device,
    digest: str,
    checkpoint: dict[str, Any] | None,
    progress: bool,
) -> dict[str, Any]:
    record_invocation(out, run, config, torch_device, checkpoint)
    env, session = start_session(run, out, config, torch_device, digest, checkpoint, progress)
    try:
        if isinstance(session.agent, VectorAgent):
            env.close()
            _train_vector(session, checkpoint)
        else:
            _train_serial(session, env, checkpoint)
        save_model(out, run, config, session.spec, session.agent)
    finally:
        session.close()
        env.close()
    return write_summary(session)


def record_invocation(
    out: Path,
    run: RunSpec,
    config: RunConfig,
    torch_device: torch.device,
    checkpoint: dict[str, Any] | None,
    **extra: Any,
) -> None:
    """Write the run's ``config.yaml`` and append this invocation (with ``extra``) to its
    ``meta.json``: the first writes in a run directory, after every check has passed."""
    atomic_write_yaml(out / "config.yaml", config_document(run, config))
    meta = read_meta(out)
    record = invocation_record(torch_device, checkpoint["step"] if checkpoint else None)
    if checkpoint is not None and is_resume_point(checkpoint):
        record["resumed_from"] = f"{RESUME_POINT_FILE} (warm, not exact)"
        record["resumed_without"] = RESUME_POINT_LEAVES_OUT
    meta["invocations"].append({**record, **extra})
    atomic_write_json(out / "meta.json", meta)


def start_session(
    run: RunSpec,
    out: Path,
    config: RunConfig,
    torch_device: torch.device,
    digest: str,
    checkpoint: dict[str, Any] | None,
    progress: bool,
) -> tuple[Any, Session]:
    """The run's environment and its :class:`Session`, the agent built from the run seed's
    streams (torch's global generator seeded with it first) and restored from ``checkpoint``."""
    torch.manual_seed(run.seed)
    rng = np.random.default_rng(run.seed)
    env = make_run_env(run, config)
    spec = env_spec(env, run.game, config.frame_stack)
    agent: Agent = get_agent(run.agent).agent(config, spec, torch_device)
    try:
        session = Session(run, out, config, agent, spec, digest, rng, checkpoint, progress)
    except BaseException:
        env.close()
        raise
    return env, session


def write_summary(session: Session) -> dict[str, Any]:
    """Write ``summary.json``, the mark of a finished run, and return it."""
    summary = _summarise(
        session.out,
        session.run,
        session.config,
        session.step,
        session.episode,
        session.agent.updates,
        session.seconds,
    )
    atomic_write_json(session.out / "summary.json", summary)
    return summary


class EpisodeTrack:
    """The training episode under way: its actions, its return and the observation it stands
    at, which a checkpoint records so that a resume (or a budget extension) continues it."""

    def __init__(self, checkpoint: dict[str, Any] | None) -> None:
        self.actions: list[int] = []
        self.episode_return = 0.0
        self.obs: np.ndarray | None = None  # None between episodes
        unfinished = checkpoint.get("episode_actions") if checkpoint is not None else None
        self.resume_digest: str | None = None
        if unfinished is not None:  # taken mid-episode, when a budget ran out: continue it
            self.actions = [int(a) for a in unfinished.tolist()]
            self.episode_return = float(checkpoint["episode_return"])
            self.resume_digest = checkpoint["obs_digest"]

    def resume(self, episode: int) -> Resume | None:
        """What :func:`agents.rollout.rollout` replays first (None: start a new episode)."""
        if self.resume_digest is None:
            return None
        return Resume(episode, list(self.actions), self.resume_digest)

    def add(self, transition: Step) -> None:
        if transition.t == 0:
            self.actions, self.episode_return = [], 0.0
        self.actions.append(transition.action)
        self.episode_return += transition.reward
        self.obs = None if transition.done else transition.next_obs
        self.resume_digest = None  # the replayed episode has moved on (or ended)

    def checkpoint_fields(self) -> dict[str, Any]:
        """The unfinished episode, for :meth:`Session.save_checkpoint`. A resumed one that has
        not taken a step yet (a finished run run again) keeps the digest it was saved with."""
        digest = obs_digest(self.obs) if self.obs is not None else self.resume_digest
        mid_episode = digest is not None
        return {
            "episode_actions": torch.tensor(self.actions, dtype=torch.int64)
            if mid_episode
            else None,
            "episode_return": self.episode_return,
            "obs_digest": digest,
        }


def finish_step(
    session: Session, track: EpisodeTrack, transition: Step, save_checkpoint: Callable[[], None]
) -> None:
    """What the serial loop does after the agent has observed a step (and its update is
    logged): the evaluation phase due, the episode's log row, a checkpoint at an episode's end."""
    track.add(transition)
    session.evaluate_if_due()
    if transition.done:
        session.log_episode(track.episode_return, transition.t + 1)
        if session.checkpoint_due():
            save_checkpoint()


class StopRequest:
    """While entered, SIGINT and SIGTERM only ask the training loop to stop: it calls
    :meth:`stop_if_asked` between steps, which saves a checkpoint there and raises :class:`Interrupted`.
    A second signal restores the previous handlers' behaviour (a second Ctrl-C stops at once).
    A signal the process ignores (SIGINT in a shell's background job) stays ignored, as Python
    leaves it; outside the main thread, where Python cannot take signals, it does nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested: int | None = None  # the signal received
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) != signal.SIG_IGN:
                    self.previous[sig] = signal.signal(sig, self._ask)
        return self

    def _ask(self, signum: int, frame: Any) -> None:
        if self.requested is not None:
            self._restore()
            signal.raise_signal(signum)
            return
        self.requested = signum

    def _restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}

    def __exit__(self, *exc: Any) -> None:
        self._restore()

    def stop_if_asked(self, sessions: list[Session], save_checkpoints: Callable[[], None]) -> None:
        """Once a signal has asked: save the checkpoints at the steps the loop stands at and
        raise :class:`Interrupted`."""
        if self.requested is None:
            return
        save_checkpoints()
        name = signal.Signals(self.requested).name
        steps = ", ".join(str(session.step) for session in sessions)
        frames = ", ".join(str(session.step * session.config.frame_skip) for session in sessions)
        where = f"step {steps} (frame {frames})"
        if len(sessions) > 1:
            seeds = ", ".join(str(session.run.seed) for session in sessions)
            where = f"seeds {seeds} at steps {steps} (frames {frames})"
        raise Interrupted(
            f"{name}: stopped at {where} with a checkpoint there; rerun the same command to "
            "resume from it"
        )


def _train_serial(session: Session, env, checkpoint: dict[str, Any] | None) -> None:
    """The loop of an agent that acts in one environment: a step, :meth:`Agent.observe`, logs."""
    run, agent, rng = session.run, session.agent, session.rng
    track = EpisodeTrack(checkpoint)

    def save_checkpoint() -> None:
        session.save_checkpoint(track.checkpoint_fields())

    bar_pending = 0
    steps = rollout(
        env,
        lambda obs: agent.act(obs, session.step, rng),
        lambda index: episode_seed(run.seed, index, TRAIN_STREAM),
        first_episode=session.episode,
        begin_episode=agent.begin_episode,
        resume=track.resume(session.episode),
    )
    try:
        with StopRequest() as stop:
            while session.step < session.total_steps:
                stop.stop_if_asked([session], save_checkpoint)
                transition = next(steps)
                session.step += 1
                stats = agent.observe(transition, session.step, rng)
                if stats is not None:
                    session.log_update(stats)
                finish_step(session, track, transition, save_checkpoint)
                bar_pending += 1
                if bar_pending >= 200:
                    session.bar.update(bar_pending)
                    bar_pending = 0
            session.bar.update(bar_pending)
            save_checkpoint()
    finally:
        steps.close()


def _train_vector(session: Session, checkpoint: dict[str, Any] | None) -> None:
    """The loop of a :class:`VectorAgent`: N synchronous environments
    (:class:`agents.vector_runner.VectorEpisodes`), a checkpoint after a learning update (an
    unroll's end) once ``checkpoint_every_steps`` steps have passed, and at the budget's end. The
    agent's memory (recurrent state, a partial unroll) rides in the checkpoint's ``replay`` slot."""
    agent: VectorAgent = session.agent  # type: ignore[assignment]
    run, rng = session.run, session.rng
    envs = make_vector_env(run, session.config, agent.num_envs)
    try:
        saved = checkpoint.get("envs") if checkpoint is not None else None
        stepper = VectorEpisodes(
            envs,
            lambda index: episode_seed(run.seed, index, TRAIN_STREAM),
            resume=None if saved is None else VectorEpisodes.resumes(saved),
        )

        def save_checkpoint() -> None:
            session.save_checkpoint({"episode_actions": None, "envs": stepper.checkpoint_fields()})

        with StopRequest() as stop:
            while session.step < session.total_steps:
                stop.stop_if_asked([session], save_checkpoint)
                chosen = agent.act_vector(stepper.obs, session.step, rng)  # (N,)
                transition, finished = stepper.step(chosen)
                session.step += stepper.n
                stats = agent.observe_vector(transition, session.step, rng)
                if stats is not None:
                    session.log_update(stats)
                for episode_return, length in finished:
                    session.log_episode(episode_return, length)
                session.bar.update(stepper.n)
                session.evaluate_if_due()
                if stats is not None and session.checkpoint_due():
                    save_checkpoint()
            save_checkpoint()
    finally:
        envs.close()


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

    episodes_log = pd.read_csv(out / "episodes.csv")
    best, final = best_and_final(episodes_log["return"])
    frames = step * config.frame_skip
    evaluation = {}
    if config.eval_every_steps:
        evals = pd.read_csv(out / "evals.csv")
        eval_frame, eval_return = final_evaluation(evals["frame"], evals["return"])
        evaluation = {
            "eval_phases": int(evals["frame"].nunique()),
            "final_eval_frame": eval_frame,
            "final_eval_return": eval_return,
            "return_last_10pct_steps": step_window_mean(
                episodes_log["frame"], episodes_log["return"], frames
            ),
        }
    return {
        "agent": run.agent,
        "game": run.game,
        "seed": run.seed,
        "preset": run.preset,
        "frames": frames,
        "agent_steps": step,
        "episodes": episodes,
        "updates": updates,
        "train_seconds": round(seconds, 1),
        # Full 100-episode windows only (agents.stats); None with fewer than 100 episodes.
        "final_return_100": final,
        "best_return_100": best,
        **evaluation,
    }


def evaluate(
    run_dir: Path,
    episodes: int,
    *,
    seed: int | None = None,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Play ``episodes`` episodes with the run's evaluation policy; write ``eval.csv``.

    Holds the run's lock, as ``train`` does: a run being trained is refused (its checkpoint is an
    intermediate one, and an ``eval.csv`` of it would look final), and so is a ``train`` started
    on the run while it is being evaluated.
    """
    import os

    if episodes <= 0:
        raise UsageError(f"--episodes must be positive, got {episodes}")
    if seed is not None:
        check_seed(seed)
    run_dir = Path(run_dir)
    load_run(run_dir)  # a folder that is not a run is refused before a lock file is made in it
    if not os.access(run_dir, os.W_OK):
        raise UsageError(f"run directory {run_dir} is not writable")
    with RunLock(run_dir):
        return _evaluate_locked(run_dir, episodes, seed, device, progress)


def _evaluate_locked(
    run_dir: Path, episodes: int, seed: int | None, device: str | None, progress: bool
) -> dict[str, Any]:
    """:func:`evaluate`'s work, under the run's lock: the checkpoint cannot change meanwhile."""
    run, config, agent = load_agent(run_dir, device)
    seed = run.seed if seed is None else seed
    rng = np.random.default_rng([seed, 1])
    env = make_run_env(run, config)
    steps = rollout(
        env,
        lambda obs: agent.act_eval(obs, rng),
        lambda index: episode_seed(seed, index, EVAL_STREAM),
        episodes=episodes,
        begin_episode=agent.begin_episode,
        after_step=agent.after_step,
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
