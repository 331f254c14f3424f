import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Two cores: keep torch from oversubscribing when pytest runs beside subprocess trainings,
    and when pytest-xdist runs test files side by side (`make test`), one thread per worker.
    Set in the controller before it starts the workers, which inherit it (a value set by the
    user wins). Two threads in each of two workers tripled the fast tier's CPU time
    (docs/benchmarks.md, "The test tiers' wall clock")."""
    parallel = getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput")
    os.environ.setdefault("OMP_NUM_THREADS", "1" if parallel else "2")
    if "torch" in sys.modules:  # a plugin imported it first; its pool may already be sized
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def _slurm_controller_answers(timeout_s: float = 3.0) -> bool:
    """Whether `scontrol ping` reaches a controller within a few seconds (an unreachable one
    would keep it waiting out its own timeout, which is what the shim below avoids)."""
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return ping.returncode == 0


@pytest.fixture(scope="session", autouse=True)
def no_slurm_controller_to_wait_for():
    """Every Snakemake start imports the Slurm executor plugin, which asks `scontrol show config`
    for MinJobAge. Where a Slurm client is installed without a reachable controller, that call
    waits out a 9 s timeout, so each dry run in the tests cost 10 s of wall clock for 1 s of
    CPU. There, where no test can reach a cluster, an `scontrol` that fails at once is put first
    on PATH, and the plugin reads its failure as "MinJobAge unknown", as it does the timeout.
    Where a controller answers (CI starts one for the Slurm smoke test), the real `scontrol`
    stays: with MinJobAge unknown the executor would follow its jobs with `sacct`, which sees
    none on a cluster without accounting, and the smoke test would wait until its timeout."""
    if shutil.which("scontrol") is None or _slurm_controller_answers():
        yield
        return
    shim = Path(tempfile.mkdtemp(prefix="no-slurm-"))
    (shim / "scontrol").write_text("#!/bin/sh\nexit 1\n")
    (shim / "scontrol").chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{shim}{os.pathsep}{path}"
    yield
    os.environ["PATH"] = path
    shutil.rmtree(shim, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_tiny_overrides() -> Mapping:
    """A DDQN config small enough to train a few thousand steps in seconds, read-only, for
    module-scoped fixtures (a test that edits it takes ``tiny_overrides``, its own copy)."""
    return MappingProxyType(
        {
            "replay_capacity": 2000,
            "learning_starts": 200,
            "batch_size": 8,
            "target_sync_steps": 100,
            "checkpoint_every_steps": 300,
            "log_loss_every_updates": 20,
        }
    )


@pytest.fixture
def python_sigint():
    """SIGINT with Python's own handler (KeyboardInterrupt) for one test, as in a process started
    in the foreground: a pytest-xdist worker may have it ignored."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def tiny_overrides(shared_tiny_overrides) -> dict:
    """The tiny DDQN config, a copy of the test's own."""
    return dict(shared_tiny_overrides)


@pytest.fixture
def tiny_minatar_run(tmp_path):
    """A finished 600-step DDQN run on MinAtar-Breakout (seconds), for tests of what reads runs."""
    from agents.runner import RunSpec, train

    out = tmp_path / "tiny-run"
    train(
        RunSpec("ddqn", "MinAtar-Breakout", 0, 600, "minatar"),
        out,
        {"learning_starts": 300, "checkpoint_every_steps": 400},
        device="cpu",
        progress=False,
    )
    return out
