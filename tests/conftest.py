import os
from collections.abc import Mapping
from types import MappingProxyType

import pytest

# Two cores: keep torch from oversubscribing when pytest runs beside subprocess trainings, and
# when pytest-xdist runs test files side by side (`make test`), one thread per worker.
os.environ.setdefault("OMP_NUM_THREADS", "1" if os.environ.get("PYTEST_XDIST_WORKER") else "2")


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
