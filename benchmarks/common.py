"""Shared helpers for the benchmark scripts: the machine line each prints first, a timing helper."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from agents.networks import cpu_capability, native_bf16


def machine_line() -> str:
    """What every benchmark prints first: the CPU's capability and whether it has native bf16.

    Figures depend on both; a bf16 speed-up holds only on a CPU with native bf16 (on an AVX2-only
    CPU bf16 is emulated and a Pong DDQN run took about 7x as long as in fp32).
    """
    from agents.rundir import cpu_model

    bf16 = "yes" if native_bf16("cpu") else "no"
    return f"CPU {cpu_model()}, capability {cpu_capability()}, native bf16: {bf16}"


def print_machine() -> None:
    print(machine_line(), flush=True)


def synchronize(device) -> None:
    """Wait for the GPU's queued kernels, so that a timer measures them rather than their launch."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def steady_and_whole_run(
    agent: str,
    game: str,
    steps: int,
    learning_starts: int,
    overrides: dict,
    seed: int = 0,
    preset: str = "paper",
    device: str = "cpu",
) -> tuple[float, float]:
    """(steady-state, whole-run) agent steps/s of one of this suite's agents on ``device``.

    Trains to ``learning_starts`` (checkpointing the replay), then resumes to ``steps``: the resumed
    phase is the steady state, where every ``train_freq``-th step trains. The checkpoint load and
    the final checkpoint write are inside the timed span.
    """
    from agents.runner import RunSpec, train  # only the training benchmarks pay for the import

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
            device=device,
            progress=False,
        )
        resumed = time.perf_counter()
        train(
            RunSpec(agent, game, seed, steps * 4, preset),
            Path(out),
            overrides,
            device=device,
            progress=False,
        )
        end = time.perf_counter()
    return (steps - learning_starts) / (end - resumed), steps / (end - start)
