"""Run directories: identity, validation, provenance, the lock and checkpoint I/O.

A run directory holds everything about one training run::

    config.yaml        the fully resolved config (run identity + every hyperparameter)
    meta.json          package versions, git commit, device and command line of each invocation
    episodes.csv       one row per finished episode: frame, episode, return (raw), length, seconds
    losses.csv         every ``log_loss_every_updates`` updates: frame, update, loss, ...
    checkpoint.pt      the agent's state, its memory (optional), RNG states, counters, env spec
    resume.pt          written on request (``python -m agents resume-point``): the checkpoint
                       less its replay, optimiser state and target network, weights as float16;
                       small enough to commit, so that a long run outlives the disk it trained
                       on (a warm resume, not an exact one: :func:`write_resume_point`)
    model.pt           written at the budget's end: the agent's weights only (no optimiser, no
                       replay), small enough to commit; the analyses load it without checkpoint.pt
    summary.json       written last, when the frame budget is reached (the completion marker)
    evals.csv          the evaluation phases during training (``eval_every_steps`` > 0): frame,
                       episode, return (raw), length; every phase plays the same episode seeds
    eval.csv           written by ``evaluate``
    failed.json        a study's marker of a run that stopped on a non-finite loss, written
                       when the run is collected, never by the run
                       (:func:`agents.runtable.record_failure`): scored as random play

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
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from agents.config import EVALUATION_KEYS, RunConfig, RunSpec, load_yaml
from agents.config import check_seed as check_seed  # re-exported: a run's checks live there
from agents.config import resolve as resolve
from agents.contract import Agent, EnvSpec
from agents.envs import env_spec, make_env
from agents.errors import RunFailed, UsageError
from agents.files import (
    TMP_SUFFIX,
    RunLock,
    atomic_torch_save,
    complete_fields_of,
    is_disk_full,
    log_bytes,
    read_complete_rows,
)
from agents.networks import cpu_capability
from agents.registry import get_agent
from agents.replay import FrameReplay
from agents.suites import quiet_emulator

if TYPE_CHECKING:
    import pandas as pd

CHECKPOINT_FORMAT = 1
MODEL_FORMAT = 1
MODEL_FILE = "model.pt"
RESUME_POINT_FILE = "resume.pt"
RESUME_POINT_FORMAT = "resume point 1"
#: What a resume point leaves out of the agent's state, and what restoring it does instead.
RESUME_POINT_LEAVES_OUT = {
    "replay": "refilled with the restored policy's own steps before learning starts again",
    "optimizer": "Adam restarted",
    "target": "synced to the online network",
}
EPISODE_HEADER = ["frame", "episode", "return", "length", "seconds"]
EVAL_HEADER = ["episode", "return", "length"]
EVAL_PHASE_HEADER = ["frame", "episode", "return", "length"]
#: Every file a run writes into its directory (the module docstring describes each).
RUN_FILES = (
    "config.yaml",
    "meta.json",
    "episodes.csv",
    "losses.csv",
    "checkpoint.pt",
    RESUME_POINT_FILE,
    MODEL_FILE,
    "summary.json",
    "evals.csv",
    "eval.csv",
)


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


def check_memory(run: RunSpec, config: RunConfig, device: torch.device, members: int = 1) -> None:
    """Refuse a run whose replay and networks cannot fit in this machine's memory. Writes nothing.

    ``members`` runs like it train together in one process (lockstep, :mod:`agents.lockstep`):
    each has its own replay and networks.

    Without this, an impossible size (``replay_capacity`` or ``hidden_dim`` of 10^9 and up) fails
    with a numpy or torch allocation traceback after ``config.yaml`` is written, and a replay that
    fits when empty (``np.zeros`` maps pages lazily) fails hours later, once it has filled.

    The estimate is a floor: the replay when full, twice when checkpoints carry it (writing one
    copies it), and the networks' weights, target copies included, with a gradient and two
    optimiser moments (Adam's) per trainable weight; activations are not counted.
    """
    with quiet_emulator():  # ALE's banner would come before a refusal's one line
        env = make_run_env(run, config)
        spec = env_spec(env, run.game, config.frame_stack)
        env.close()
    replay = 0
    capacity = getattr(config, "replay_capacity", None)
    if capacity is not None:
        copies = 2 if getattr(config, "checkpoint_replay", False) else 1
        replay = copies * FrameReplay.bytes_when_full(capacity, spec.frame_shape)
    replay *= members
    networks = members * _network_bytes(run, config, spec)
    detail = f"replay {_in_units(replay)}, networks {_in_units(networks)}"
    fix = "lower replay_capacity or the network sizes"
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if networks > free:
            raise UsageError(
                f"{_these_runs(members, 's')} networks need about {_in_units(networks)} of GPU "
                f"memory, but {device} has {_in_units(free)} free; {fix}"
            )
    host = replay + (networks if device.type == "cpu" else 0)
    available = available_memory()
    if available is not None and host > available:
        raise UsageError(
            f"{_these_runs(members, 'needs')} about {_in_units(host)} of memory ({detail}), but "
            f"this machine has {_in_units(available)} available; {fix}"
        )


def _these_runs(members: int, then: str) -> str:
    """``this run's`` / ``these 3 runs'`` (``then="s"``), ``this run needs`` / ``these 3 runs
    need`` (``then="needs"``): the subject of a memory refusal."""
    if then == "s":
        return "this run's" if members == 1 else f"these {members} runs'"
    return "this run needs" if members == 1 else f"these {members} runs need"


def _network_bytes(run: RunSpec, config: RunConfig, spec: EnvSpec) -> int:
    """Bytes of the agent's networks with their gradients and optimiser moments.

    The agent is built on the meta device, which allocates nothing, so a huge size costs nothing
    to measure; its replay is made tiny, as it is measured on its own.
    """
    if "replay_capacity" in type(config).model_fields:
        config = config.model_copy(update={"replay_capacity": config.frame_stack + 2})
    meta = torch.device("meta")
    try:
        with meta:
            agent = get_agent(run.agent).agent(config, spec, meta)
    except Exception:  # noqa: BLE001 (a safeguard, not a gate: building it for real will tell)
        return 0
    total = 0
    for module in vars(agent).values():
        if isinstance(module, torch.nn.Module):
            for weight in module.parameters():
                copies = 4 if weight.requires_grad else 1  # + gradient and two Adam moments
                total += copies * weight.numel() * weight.element_size()
            total += sum(buffer.numel() * buffer.element_size() for buffer in module.buffers())
    return total


def available_memory() -> int | None:
    """Bytes this machine can still give a process without swapping, or None where unknown.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux); the free pages where there is none.
    """
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _in_units(size: int) -> str:
    """``7.1 GiB``: a byte count for a message."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def config_document(run: RunSpec, config: RunConfig) -> dict[str, Any]:
    return {"run": asdict(run), "config": config.model_dump()}


def identity_digest(run: RunSpec, config: RunConfig) -> str:
    """Hash of everything that defines a run's trajectory: not its budget (which a resume may
    extend), nor its evaluation schedule (which plays apart from training; a run made before
    the schedule existed keeps its digest), nor a key added later while at its default
    (``RunConfig.LATE_KEYS``)."""
    fields = type(config).model_fields
    late = {key for key in config.LATE_KEYS if getattr(config, key) == fields[key].default}
    trajectory = config.model_dump(exclude=set(EVALUATION_KEYS) | late)
    identity = {**asdict(run), "frames": None, "config": trajectory}
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
            or _with_defaults(type(config), previous.get("config")) != current["config"]
        ):
            raise UsageError(
                f"{out} holds a run with a different config; use a new --out, or the same "
                f"agent/game/seed/preset/--set as before ({config_path})"
            )
    read_meta(out)


def _with_defaults(model: type[RunConfig], values: Any) -> Any:
    """A saved config with the keys added since it was written at their defaults (a run made
    before the evaluation keys existed compares equal to the same run asked for today)."""
    if not isinstance(values, dict):
        return values
    try:
        return model(**values).model_dump()
    except (TypeError, ValueError):  # not a valid config: compared as it is, so it differs
        return values


def _not_a_run(out: Path) -> list[str]:
    """What makes ``out``, a folder without ``config.yaml``, something other than a new run.

    A new run's folder may hold only what is there before its ``config.yaml``: nothing, the lock
    and the temporary files of a run killed before it wrote one, and log files (the pipeline's
    ``train.log``: the shell creates it before the run starts). A run never writes or deletes a
    ``.log``. Anything else is the user's, which a run would overwrite or delete.
    """
    temporaries = tuple(f".{name}." for name in RUN_FILES)
    return sorted(
        entry.name
        for entry in out.iterdir()
        if not (
            entry.name == RunLock.LOCK_FILE
            or (entry.is_file() and entry.name.endswith(".log"))
            or (entry.name.startswith(temporaries) and entry.name.endswith(TMP_SUFFIX))
        )
    )


def _cannot(action: str, exc: OSError) -> Exception:
    """A failure to create or lock the run directory: a full disk is a RunFailed, as everywhere
    (exit 1); anything else (a read-only or missing parent) is a UsageError (exit 2)."""
    if is_disk_full(exc):
        return RunFailed(
            f"disk full: cannot {action}; nothing was written: free space and rerun the same "
            "command"
        )
    return UsageError(f"cannot {action}: {exc.strerror}")


@contextmanager
def locked_run_dir(out: Path) -> Iterator[None]:
    """Create ``out`` if needed and hold its :class:`RunLock` for the block.

    A folder that holds files but no run (no ``config.yaml``) is refused before anything is
    written. A directory this call created is removed again if the block fails with a UsageError
    (bad input found before anything was written) or a RunFailed before anything was written in
    it (a full disk at the start).
    """
    if str(out) == "":
        raise UsageError("--out must not be empty")
    if out.exists() and not out.is_dir():
        raise UsageError(f"output path {out} exists and is not a directory")
    if out.is_dir() and not (out / "config.yaml").exists():
        foreign = _not_a_run(out)
        if foreign:
            shown = ", ".join(foreign[:3]) + (
                f" and {len(foreign) - 3} more" if foreign[3:] else ""
            )
            raise UsageError(
                f"--out {out} is not empty and holds no run (no config.yaml): {shown}; "
                "use a new or empty folder"
            )
    created = not out.exists()
    lock = RunLock(out)
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _cannot(f"create output directory {out}", exc) from exc
        if not os.access(out, os.W_OK | os.X_OK):
            raise UsageError(f"output directory {out} is not writable")
        try:
            lock.acquire()
        except UsageError:
            raise
        except OSError as exc:
            raise _cannot(f"lock output directory {out}", exc) from exc
        yield
    except (UsageError, RunFailed):
        lock.release()
        if created:
            with suppress(OSError):
                out.rmdir()  # only if empty: never what a run wrote
        raise
    finally:
        lock.release()


def load_checkpoint(path: Path, digest: str) -> dict[str, Any]:
    return _load_run_state(path, digest, "checkpoint", CHECKPOINT_FORMAT)


def _damaged_entry(path: Path) -> str | None:
    """The first entry of a torch zip archive whose bytes fail their CRC-32, or None.

    ``torch.load`` never checks the CRC-32 that ``torch.save`` stores for every entry, so a
    changed byte inside a tensor loads as a different weight, silently. Checking reads the file
    once more (about a second per GB) and needs nothing new in it, so every checkpoint and model
    file already written, the committed ones included, is checked. A file that is not a zip
    archive at all is left to ``torch.load``, which says how it is unreadable.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return None
    with archive:
        try:
            return archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            return f"the archive ({type(exc).__name__})"


def _load_run_state(path: Path, digest: str, kind: str, fmt: int) -> dict[str, Any]:
    """Read a checkpoint or model file of this run, checking its bytes, format and digest."""
    hint = {
        "checkpoint": "; delete it to restart the run (warm from resume.pt if the run has one)",
        "resume point": "; delete it to restart the run from frame 0",
    }.get(kind, "")
    damaged = _damaged_entry(path)
    if damaged is not None:
        raise UsageError(f"{kind} {path} is corrupt (CRC-32 mismatch in {damaged}){hint}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (any failure to unpickle means corrupt)
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


def check_resume(out: Path, run: RunSpec, config: RunConfig, checkpoint: dict[str, Any]) -> None:
    """Refuse to resume from ``checkpoint`` what would contradict it. Reads only.

    A budget below the steps already trained would rewrite ``config.yaml`` to it beside a
    ``summary.json`` of the longer run. A log holding fewer complete rows than the checkpoint has
    counted (deleted, or lost with the page cache on a power cut) would be continued from the
    checkpoint's counters: a log starting at episode 390, or a finished run's summary beside an
    empty log. A resume point older than the logs would replace their last rows with others (a
    warm resume does not replay them).
    """
    checkpoint_path = out / (RESUME_POINT_FILE if is_resume_point(checkpoint) else "checkpoint.pt")
    step, frame_skip = int(checkpoint["step"]), config.frame_skip
    if run.frames // frame_skip < step:
        raise UsageError(
            f"--frames {run.frames} is less than the {step * frame_skip} frames {out} has already "
            f"trained; a budget can only grow: use --frames {step * frame_skip} or more, or a new "
            "--out"
        )
    episodes, updates = int(checkpoint["episode"]), int(checkpoint["updates"])
    loss_header = ["frame", "update", *get_agent(run.agent).agent.loss_columns(config)]
    # Each log: its header, its counter column, the counter's last value that the checkpoint has
    # seen (Session keeps the rows up to it on resume) and how many rows that makes.
    logs = {
        "episodes.csv": (EPISODE_HEADER, "episode", episodes - 1, episodes),
        "losses.csv": (loss_header, "update", updates, updates // config.log_loss_every_updates),
    }
    if config.eval_every_steps:  # a phase is played once, when training passes it
        phases = step // config.eval_every_steps
        logs["evals.csv"] = (
            EVAL_PHASE_HEADER,
            "frame",
            step * frame_skip,
            phases * config.eval_episodes,
        )
    for name, (header, counter, last, expected) in logs.items():
        path = out / name
        rows = read_complete_rows(path, header) if path.is_file() else []
        logged = sum(1 for row in rows if float(row[counter]) <= last)
        if logged < expected:
            raise UsageError(
                f"{path} holds {logged} complete rows, but {checkpoint_path} (step {step}) has "
                f"logged {expected}: the log was lost or damaged; restore it, or delete "
                f"{checkpoint_path} to restart the run"
            )
        # A checkpoint's resume replays the rows after it exactly; a warm one would write others.
        beyond = len(rows) - logged
        if is_resume_point(checkpoint) and beyond:
            raise UsageError(
                f"{path} holds {beyond} rows past {checkpoint_path} (step {step}), which a warm "
                "resume would replace with others: the resume point is older than the logs; "
                "write one from the run's checkpoint, or delete those rows to give them up"
            )


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
    (Path(out) / RESUME_POINT_FILE).unlink(missing_ok=True)  # stale beside a finished run's model


def halve_model(out: Path) -> Path:
    """Store ``out/model.pt``'s float32 weights as float16, atomically: half the bytes, for
    committing many seeds' weights (docs/preregistration-amendments.md, amendment 2). Loading
    casts them back to the agent's dtype (``load_state_dict`` copies across dtypes), so the
    analyses see the weights rounded to float16's 11 significant bits."""

    path = Path(out) / MODEL_FILE
    model = torch.load(path, map_location="cpu", weights_only=True)
    atomic_torch_save({**model, "agent": _float16(model["agent"]), "stored_as": "float16"}, path)
    return path


def _float16(value: Any) -> Any:
    """``value`` with every float32 tensor in it (nested dicts included) as float16."""
    if isinstance(value, torch.Tensor) and value.dtype == torch.float32:
        return value.half()
    if isinstance(value, dict):
        return {key: _float16(item) for key, item in value.items()}
    return value


def write_resume_point(out: Path) -> Path:
    """Write ``out/resume.pt`` (:func:`resume_point`), atomically, and return its path."""
    path = Path(out) / RESUME_POINT_FILE
    atomic_torch_save(resume_point(out), path)
    return path


def resume_point(out: Path) -> dict[str, Any]:
    """The resume point of the run at ``out``, from its ``checkpoint.pt``; a one-line
    :class:`UsageError` where it has none (no checkpoint, another config, not a replay agent).

    A checkpoint cannot be committed (Pong's is 100 MB, 71 of them replay), so a run whose disk
    is lost between two chunks (a replaced machine) would start again from frame 0. The resume
    point keeps what fixes the run's place (step, episode and update counters, the episode under
    way, the RNG states, the schedules) and the weights as float16 (the online network's, and
    i-DQN's mean image and fixed values), and leaves out
    :data:`RESUME_POINT_LEAVES_OUT`: a few MB. :func:`agents.runner.prepare_run_dir` resumes from
    it only when ``checkpoint.pt`` is absent, and ``meta.json`` records that resume as warm: the
    run goes on from the same step, but not along the trajectory an exact resume would give.
    Only replay agents (DDQN, i-DQN) have one: what an on-policy agent's checkpoint holds
    mid-unroll cannot be left out.
    """
    from agents.value_based import ValueBasedAgent

    out = Path(out)
    checkpoint_path = out / "checkpoint.pt"
    if not checkpoint_path.is_file():
        raise UsageError(f"{out} has no checkpoint.pt to take a resume point from")
    checkpoint = load_checkpoint(checkpoint_path, identity_digest(*load_run(out)))
    agent_class = get_agent(checkpoint["agent_name"]).agent
    if not issubclass(agent_class, ValueBasedAgent):
        raise UsageError(
            f"{out} is a {checkpoint['agent_name']} run; resume points are for replay agents "
            "(ddqn, idqn)"
        )
    agent = {k: v for k, v in checkpoint["agent"].items() if k not in RESUME_POINT_LEAVES_OUT}
    point = {
        **checkpoint,
        "format": RESUME_POINT_FORMAT,
        "agent": _float16(agent),
        "replay": None,
        "stored_as": "float16",
        "leaves_out": list(RESUME_POINT_LEAVES_OUT),
    }
    return point


def load_resume_point(path: Path, digest: str) -> dict[str, Any]:
    """Read a ``resume.pt`` of this run (checked like a checkpoint: bytes, format, digest)."""
    return _load_run_state(path, digest, "resume point", RESUME_POINT_FORMAT)


def is_resume_point(state: dict[str, Any]) -> bool:
    """Whether a state :func:`agents.runner.prepare_run_dir` returned is a resume point."""
    return state.get("format") == RESUME_POINT_FORMAT


def restore_agent(agent: Agent, state: dict[str, Any]) -> None:
    """Load a checkpoint's (or a resume point's) agent state into ``agent``. What a resume point
    leaves out comes from ``agent`` itself, fresh: its own optimiser state, and its online
    weights for the target network."""
    if not is_resume_point(state):
        agent.load_state_dict(state["agent"])
        return
    restored = {**agent.state_dict(), **state["agent"]}
    if "target" in restored and "target" not in state["agent"]:
        restored["target"] = state["agent"]["online"]
    agent.load_state_dict(restored)


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


def log_with_header(path: Path, header: list[str]) -> bytes:
    """The bytes of a run's log (plain or packed), once its first line is ``header``; a
    one-line :class:`UsageError` for a missing log or another file's header."""
    try:
        data = log_bytes(path)
    except FileNotFoundError:
        raise UsageError(f"missing log {path}; train that run first") from None
    if data.split(b"\n", 1)[0].decode(errors="replace").strip() != ",".join(header):
        raise UsageError(f"{path} is not a {path.name} log (its header is not {header})")
    return data


def read_log(path: Path, header: list[str], run_dir: Path | None = None) -> pd.DataFrame:
    """A run's numeric CSV log (``episodes.csv``, ``evals.csv``, ...) as every report counts it:
    its complete rows, all finite numbers; plain or packed (:func:`agents.files.pack_logs`).

    The one reader of run logs for tables, figures and studies. Rows come through the resume's
    reader (:func:`agents.files.complete_fields_of`), so a torn last row (a kill or a full disk
    mid-write) is left out here as the resume leaves it out; pandas then makes numbers of them
    (integer columns stay integers, as ``pd.read_csv`` gives them). Whatever a report would count
    wrongly or drop in silence is a one-line :class:`UsageError` naming the run: no log, another
    file's header, an incomplete row inside the log (only the last can be torn by a crash), and
    a value that is not finite: a NaN return would drop out of every mean, or leave its seed
    without a statistic, and the verdict would not show it.
    """
    import pandas as pd  # here, not at the top: training and loading runs never need it

    path = Path(path)
    run_dir = path.parent if run_dir is None else run_dir
    data = log_with_header(path, header)
    rows = complete_fields_of(data, header)
    lines = data.count(b"\n") - 1  # the rows ending with a line break, after the header
    if len(rows) < lines:
        raise UsageError(
            f"corrupt data in run {run_dir}: {lines - len(rows)} row(s) of {path.name} are not "
            "complete (retrain the run or repair its log)"
        )
    table = pd.DataFrame(rows, columns=header)
    for column in header:
        try:
            table[column] = table[column].astype("int64")
        except (ValueError, OverflowError):
            table[column] = table[column].astype(float)
    finite = np.isfinite(table.to_numpy(dtype=float))
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        name = header[column]
        raise UsageError(
            f"corrupt data in run {run_dir}: {path.name} row {row + 1} has {name} "
            f"{table[name].iloc[row]}, which no report counts (retrain the run or repair its log)"
        )
    return table


def read_episodes(run_dir: Path) -> pd.DataFrame:
    """A run's ``episodes.csv`` (:func:`read_log`), which must hold a finished episode."""
    table = read_log(Path(run_dir) / "episodes.csv", EPISODE_HEADER, run_dir)
    if table.empty:
        raise UsageError(
            f"{Path(run_dir) / 'episodes.csv'} has no finished episode; the budget is too small"
        )
    return table


def read_losses(run_dir: Path) -> pd.DataFrame | None:
    """A run's ``losses.csv`` (:func:`read_log`) under its agent's loss columns for its config,
    or None for an agent that never learns (the random baseline logs none)."""
    run, config = load_run(run_dir)
    columns = get_agent(run.agent).agent.loss_columns(config)
    if not columns:
        return None
    return read_log(Path(run_dir) / "losses.csv", ["frame", "update", *columns], run_dir)


def load_agent(
    run_dir: Path,
    device: str | None = None,
    checkpoint_path: Path | None = None,
    with_replay: bool = False,
) -> tuple[RunSpec, RunConfig, Agent]:
    """Load the trained agent of a run directory: ``(run, config, agent)``.

    The agent exposes the contract's capabilities and the inspection API of its class (e.g.
    :class:`agents.idqn.IDQNAgent`). It comes from ``checkpoint.pt`` when the run has one, else
    from the weights-only ``model.pt`` (a clone of committed runs has only that). The environment's spec comes from the checkpoint; only a
    checkpoint written before it carried one makes an environment to read it.
    ``checkpoint_path`` loads another checkpoint of the same run instead (a copy kept from an
    earlier frame); ``with_replay`` also restores the replay the checkpoint carries (an error
    where it carries none).
    """
    run, config = load_run(run_dir)
    path = Path(checkpoint_path or Path(run_dir) / "checkpoint.pt")
    if checkpoint_path is not None and not path.is_file():
        raise UsageError(f"{path}: no such checkpoint")
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
    if with_replay:
        if checkpoint.get("replay") is None:
            raise UsageError(f"{path} holds no replay (checkpoint_replay: false, or weights only)")
        agent.load_memory_state_dict(checkpoint["replay"])
    return run, config, agent
