"""Run directories: identity, validation, provenance, the lock and checkpoint I/O.

A run directory holds everything about one training run::

    config.yaml        the fully resolved config (run identity + every hyperparameter)
    meta.json          package versions, git commit, device and command line of each invocation
    episodes.csv       one row per finished episode: frame, episode, return (raw), length, seconds
    losses.csv         every ``log_loss_every_updates`` updates: frame, update, loss, ...
    checkpoint.pt      the agent's state, its memory (optional), RNG states, counters, env spec
    model.pt           written at the budget's end: the agent's weights only (no optimiser, no
                       replay), small enough to commit; the analyses load it without checkpoint.pt
    summary.json       written last, when the frame budget is reached (the completion marker)
    eval.csv           written by ``evaluate``

Nothing here steps an environment or trains: :mod:`agents.runner` does, and the analyses load
trained agents through :func:`load_agent` without depending on the training loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from agents.config import RunConfig, build_config, load_yaml
from agents.contract import Agent, EnvSpec
from agents.envs import check_game, env_spec, make_env
from agents.errors import UsageError
from agents.files import RunLock, atomic_torch_save, complete_row_fields
from agents.networks import cpu_capability
from agents.registry import get_agent
from agents.suites import MINATAR, suite_of

if TYPE_CHECKING:
    import pandas as pd

CHECKPOINT_FORMAT = 1
MODEL_FORMAT = 1
MODEL_FILE = "model.pt"
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


def make_run_env(run: RunSpec, config: RunConfig, render_mode: str | None = None):
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


MAX_SEED = 2**63 - 1  # torch.manual_seed takes up to 2^64 - 1; pandas and JSON readers int64


def resolve(run: RunSpec, overrides: dict[str, Any]) -> RunConfig:
    """Validate everything about a run before anything is written."""
    entry = get_agent(run.agent)
    check_game(run.game)
    if isinstance(run.seed, bool) or not 0 <= run.seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer in [0, 2^63 - 1], got {run.seed}")
    if run.frames <= 0:
        raise UsageError(f"--frames must be positive, got {run.frames}")
    config = build_config(entry.config, run.agent, run.preset, overrides)
    if suite_of(run.game) is MINATAR:
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


def config_document(run: RunSpec, config: RunConfig) -> dict[str, Any]:
    return {"run": asdict(run), "config": config.model_dump()}


def identity_digest(run: RunSpec, config: RunConfig) -> str:
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


def read_meta(run_dir: Path) -> dict[str, Any]:
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


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def invocation_record(device: torch.device, resumed_from: int | None) -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
        "host": platform.node(),
        "device": str(device),
        "cpu_capability": cpu_capability(),
        # Float rounding in the CPU kernels differs between CPU models, so a rerun of the same
        # config and seed on another CPU follows another trajectory: say which CPU ran it.
        "cpu_model": cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "resumed_from_step": resumed_from,
    }


def read_run_config(config_path: Path) -> dict[str, Any]:
    """A run directory's ``config.yaml`` as a mapping; corrupt is a one-line UsageError."""
    try:
        document = load_yaml(config_path.read_bytes().decode("utf-8"), str(config_path))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{config_path} is corrupt (not UTF-8 text)") from exc
    if not isinstance(document, dict) or not isinstance(document.get("run"), dict):
        raise UsageError(f"{config_path} is corrupt or not a run config of this suite")
    return document


def check_existing_run(out: Path, run: RunSpec, config: RunConfig) -> None:
    """Refuse a directory that holds another run, or whose files are corrupt. Reads only."""
    config_path = out / "config.yaml"
    if config_path.exists():
        previous = read_run_config(config_path)
        current = config_document(run, config)
        prev_run = {**previous.get("run", {}), "frames": None}
        if (
            prev_run != {**current["run"], "frames": None}
            or previous.get("config") != current["config"]
        ):
            raise UsageError(
                f"{out} holds a run with a different config; use a new --out, or the same "
                f"agent/game/seed/preset/--set as before ({config_path})"
            )
    read_meta(out)


@contextmanager
def locked_run_dir(out: Path) -> Iterator[None]:
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


def load_checkpoint(path: Path, digest: str) -> dict[str, Any]:
    return _load_run_state(path, digest, "checkpoint", CHECKPOINT_FORMAT)


def _load_run_state(path: Path, digest: str, kind: str, fmt: int) -> dict[str, Any]:
    """Read a checkpoint or model file of this run, checking its format and config digest."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (any failure to unpickle means corrupt)
        hint = "; delete it to restart the run" if kind == "checkpoint" else ""
        raise UsageError(
            f"{kind} {path} is corrupt or unreadable ({type(exc).__name__}){hint}"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != fmt:
        raise UsageError(f"{kind} {path} is not a {kind} of this suite (format mismatch)")
    if state.get("digest") != digest:
        raise UsageError(
            f"{kind} {path} does not match this run's config (digest {state.get('digest')} != {digest})"
        )
    return state


def save_model(out: Path, run: RunSpec, config: RunConfig, spec: EnvSpec, agent: Agent) -> None:
    """Write ``out/model.pt``: the trained agent's weights and env spec, atomically."""
    model = {
        "format": MODEL_FORMAT,
        "digest": identity_digest(run, config),
        "agent_name": run.agent,
        "spec": spec.to_dict(),
        "agent": agent.weights_state_dict(),
    }
    atomic_torch_save(model, Path(out) / MODEL_FILE)


def load_model(path: Path, digest: str) -> dict[str, Any]:
    """Read a ``model.pt`` of this run (checked like a checkpoint: format and config digest)."""
    return _load_run_state(path, digest, "model", MODEL_FORMAT)


def load_run(run_dir: Path) -> tuple[RunSpec, RunConfig]:
    """Read a run directory's resolved config back into a :class:`RunSpec` and its config."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise UsageError(f"{run_dir} is not a run directory (no config.yaml)")
    document = read_run_config(config_path)
    try:
        run = RunSpec(**document["run"])
        entry = get_agent(run.agent)
        return run, entry.config(**document["config"])
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise UsageError(f"{config_path} is not a valid run config of this suite") from exc


def read_episodes(run_dir: Path) -> pd.DataFrame:
    """A run's ``episodes.csv`` as every report counts it: its complete rows, all finite numbers.

    The one reader of episode logs for tables, figures and studies. Rows come through the
    resume's reader (:func:`agents.files.read_complete_rows`, as lists of fields), so a torn
    last row (a kill or a full disk mid-write) is left out here as the resume leaves it out;
    pandas then makes numbers of them (integer columns stay integers, as ``pd.read_csv`` gives
    them). Whatever a report would count wrongly or drop in silence is a one-line
    :class:`UsageError` naming the run: no log, no episode, another file's header, an incomplete
    row inside the log (only the last can be torn by a crash), and a value that is not finite:
    a NaN return would drop out of every mean, or leave its seed without a statistic, and the
    verdict would not show it.
    """
    import pandas as pd  # here, not at the top: the Snakefile imports this module at each start

    path = Path(run_dir) / "episodes.csv"
    if not path.is_file():
        raise UsageError(f"missing episode log {path}; train that run first")
    data = path.read_bytes()
    if data.split(b"\n", 1)[0].decode(errors="replace").strip() != ",".join(EPISODE_HEADER):
        raise UsageError(f"{path} is not an episode log (its header is not {EPISODE_HEADER})")
    rows = complete_row_fields(path, EPISODE_HEADER)
    lines = data.count(b"\n") - 1  # the rows ending with a line break, after the header
    if len(rows) < lines:
        raise UsageError(
            f"corrupt data in run {run_dir}: {lines - len(rows)} row(s) of {path.name} are not "
            "complete episodes (retrain the run or repair its log)"
        )
    if not rows:
        raise UsageError(f"{path} has no finished episode; the budget is too small")
    table = pd.DataFrame(rows, columns=EPISODE_HEADER)
    for column in EPISODE_HEADER:
        try:
            table[column] = table[column].astype("int64")
        except (ValueError, OverflowError):
            table[column] = table[column].astype(float)
    finite = np.isfinite(table.to_numpy(dtype=float))
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        name = EPISODE_HEADER[column]
        raise UsageError(
            f"corrupt data in run {run_dir}: {path.name} row {row + 1} has {name} "
            f"{table[name].iloc[row]}, which no report counts (retrain the run or repair its log)"
        )
    return table


def load_agent(run_dir: Path, device: str | None = None) -> tuple[RunSpec, RunConfig, Agent]:
    """Load the trained agent of a run directory: ``(run, config, agent)``.

    The agent exposes the contract's capabilities and the inspection API of its class (e.g.
    :class:`agents.idqn.IDQNAgent`). It comes from ``checkpoint.pt`` when the run has one, else
    from the weights-only ``model.pt`` (a clone of committed runs has only that). The environment's spec comes from the checkpoint; only a
    checkpoint written before it carried one makes an environment to read it.
    """
    run, config = load_run(run_dir)
    path = Path(run_dir) / "checkpoint.pt"
    model_path = Path(run_dir) / MODEL_FILE
    if path.is_file():
        checkpoint = load_checkpoint(path, identity_digest(run, config))
        load = "load_state_dict"
    elif model_path.is_file():  # a committed run: weights only
        checkpoint = load_model(model_path, identity_digest(run, config))
        load = "load_weights_state_dict"
    else:
        raise UsageError(f"{run_dir} has no checkpoint.pt or {MODEL_FILE} yet")
    if checkpoint.get("spec") is not None:
        spec = EnvSpec.from_dict(checkpoint["spec"])
    else:
        env = make_run_env(run, config)
        spec = env_spec(env, run.game, config.frame_stack)
        env.close()
    agent = get_agent(run.agent).agent(config, spec, select_device(device))
    getattr(agent, load)(checkpoint["agent"])
    return run, config, agent
