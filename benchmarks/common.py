"""Shared timing helper for the benchmark scripts."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from agents.runner import RunSpec, train


def steady_and_whole_run(
    agent: str,
    game: str,
    steps: int,
    learning_starts: int,
    overrides: dict,
    seed: int = 0,
    preset: str = "paper",
) -> tuple[float, float]:
    """(steady-state, whole-run) agent steps/s of one of this suite's agents, on the CPU.

    Trains to ``learning_starts`` (checkpointing the replay), then resumes to ``steps``: the resumed
    phase is the steady state, where every ``train_freq``-th step trains. The checkpoint load and
    the final checkpoint write are inside the timed span.
    """
    overrides = {
        **overrides,
        "learning_starts": learning_starts,
        "checkpoint_every_steps": 10 * steps,  # no checkpoint but the end of each phase
        "checkpoint_replay": True,
    }
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        train(
            RunSpec(agent, game, seed, learning_starts * 4, preset),
            Path(out),
            overrides,
            device="cpu",
            progress=False,
        )
        resumed = time.perf_counter()
        train(
            RunSpec(agent, game, seed, steps * 4, preset),
            Path(out),
            overrides,
            device="cpu",
            progress=False,
        )
        end = time.perf_counter()
    return (steps - learning_starts) / (end - resumed), steps / (end - start)
