"""Lockstep training's speed: aggregate run-steps/s of S seeds in one process against today's
practice, side by side, as ratios (issue 23).

Every measurement is a fresh subprocess that trains to ``--warmup`` steps (filling the replay,
checkpointing it), then resumes to ``--warmup + --steps``: the resumed phase is the steady
state, where every ``train_freq``-th step updates, and only it is timed (the checkpoint load and
the final checkpoint write included). Aggregate run-steps/s is the number of steady-state steps
all runs took, divided by the time they took.

- **Lockstep**: ``train --seeds`` with S members, on ``--threads`` threads (2 on this machine's
  2 cores), or on the GPU when there is one.
- **Practice, on a CPU**: two single-thread runs at a time (the pipeline's way on 2 cores), two
  subprocesses started together; their rates add up.
- **Practice, on a GPU**: one run at a time on the same GPU.

Settings: DDQN's ``minatar`` preset on MinAtar-Breakout at S in {1, 2, 4, 8, 16} (up to 64 on a
GPU), and its ``paper`` preset on Pong at S in {1, 2, 4} (up to 8 on a GPU), with a replay of
``--pong-capacity`` frames (speed hardly depends on the capacity; a million frames per member
would not fit). i-DQN has no batched learner yet (agents/lockstep.py), so it is not measured.

    python benchmarks/lockstep.py [--minatar-sizes 1 2 4 8 16] [--pong-sizes 1 2 4] [--tiny]

``--tiny`` checks that the script runs (two small sizes, a few hundred steps); its numbers mean
nothing. Time it only when nothing else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import print_machine

ROOT = Path(__file__).resolve().parent.parent


def _measure(
    lockstep: bool,
    game: str,
    preset: str,
    seeds: list[int],
    warmup: int,
    steps: int,
    overrides: dict,
    device: str,
) -> float:
    """Worker side: train DDQN with ``seeds`` (``train --seeds`` if ``lockstep``, else one
    ``train --seed``) to ``warmup`` steps, resume to ``warmup + steps``; the resumed phase's
    aggregate run-steps/s."""
    from agents.lockstep import train_lockstep
    from agents.runner import RunSpec, train

    overrides = {
        **overrides,
        "learning_starts": warmup,
        "checkpoint_every_steps": 100 * (warmup + steps),  # only the end of each phase
        "checkpoint_replay": True,
        "eval_every_steps": 0,
    }
    with tempfile.TemporaryDirectory() as out:
        for budget in (warmup, warmup + steps):
            frames = budget * _frame_skip(preset)
            runs = [RunSpec("ddqn", game, seed, frames, preset) for seed in seeds]
            start = time.perf_counter()
            if lockstep:
                train_lockstep(runs, Path(out), overrides, device=device, progress=False)
            else:
                (run,) = runs
                train(run, Path(out), overrides, device=device, progress=False)
            seconds = time.perf_counter() - start
    return len(seeds) * steps / seconds


def _frame_skip(preset: str) -> int:
    return 1 if preset == "minatar" else 4


def _worker_command(args: list[str], threads: int) -> tuple[list[str], dict]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    return [sys.executable, __file__, "--worker", *args], env


def _worker_args(
    mode: str,
    game: str,
    preset: str,
    seeds: list[int],
    warmup: int,
    steps: int,
    device: str,
    capacity: int | None,
) -> list[str]:
    args = ["--mode", mode, "--game", game, "--preset", preset, "--seeds", *map(str, seeds)]
    args += ["--warmup", str(warmup), "--steps", str(steps), "--device", device]
    if capacity is not None:
        args += ["--capacity", str(capacity)]
    return args


def _run_workers(commands: list[tuple[list[str], dict]]) -> float:
    """Start the workers together; the sum of their steady-state rates."""
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for cmd, env in commands
    ]
    total = 0.0
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"error: a benchmark worker failed (exit {proc.returncode})")
        total += json.loads(out.strip().splitlines()[-1])["steps_per_s"]
    return total


def compare(
    game: str,
    preset: str,
    sizes: list[int],
    warmup: int,
    steps: int,
    threads: int,
    device: str,
    capacity: int | None,
) -> list[dict]:
    """Lockstep at each S against today's practice, one row per S."""
    if device == "cpu":  # two single-thread runs at a time
        practice = [
            _worker_command(
                _worker_args("single", game, preset, [seed], warmup, steps, device, capacity), 1
            )
            for seed in (0, 1)
        ]
        what = "2 single-thread runs at a time"
    else:
        practice = [
            _worker_command(
                _worker_args("single", game, preset, [0], warmup, steps, device, capacity), threads
            )
        ]
        what = "1 run at a time on the GPU"
    baseline = _run_workers(practice)
    print(f"{game} {preset}: practice ({what}): {baseline:.1f} run-steps/s", flush=True)
    rows = []
    for size in sizes:
        args = _worker_args(
            "lockstep", game, preset, list(range(size)), warmup, steps, device, capacity
        )
        rate = _run_workers([_worker_command(args, threads)])
        row = {"game": game, "preset": preset, "S": size, "lockstep": rate, "practice": baseline}
        row["ratio"] = rate / baseline
        rows.append(row)
        print(
            f"{game} {preset}: lockstep S={size:>2} ({threads} threads, {device}): "
            f"{rate:.1f} run-steps/s, {row['ratio']:.2f}x practice",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["single", "lockstep"], help=argparse.SUPPRESS)
    parser.add_argument("--game", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--capacity", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=None, help="steps before the timed phase")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of a lockstep job")
    parser.add_argument("--minatar-sizes", type=int, nargs="*", default=None)
    parser.add_argument("--pong-sizes", type=int, nargs="*", default=None)
    parser.add_argument("--pong-capacity", type=int, default=20_000)
    parser.add_argument(
        "--tiny", action="store_true", help="check that it runs; numbers mean nothing"
    )
    args = parser.parse_args()

    if args.worker:
        overrides = {} if args.capacity is None else {"replay_capacity": args.capacity}
        rate = _measure(
            args.mode == "lockstep",
            args.game,
            args.preset,
            args.seeds,
            args.warmup,
            args.steps,
            overrides,
            args.device,
        )
        print(json.dumps({"steps_per_s": rate}))
        return

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.startswith("cuda")
    minatar_sizes = args.minatar_sizes
    pong_sizes = args.pong_sizes
    if args.tiny:
        minatar_sizes = [1, 2] if minatar_sizes is None else minatar_sizes
        pong_sizes = [1] if pong_sizes is None else pong_sizes
        minatar = (300, 200)
        pong = (300, 100)
    else:
        if minatar_sizes is None:
            minatar_sizes = [1, 2, 4, 8, 16, 32, 64] if gpu else [1, 2, 4, 8, 16]
        if pong_sizes is None:
            pong_sizes = [1, 2, 4, 8] if gpu else [1, 2, 4]
        minatar = (args.warmup or 2000, args.steps or 8000)
        pong = (args.warmup or 1000, args.steps or 2000)
    print_machine()
    if gpu:
        print(f"GPU {torch.cuda.get_device_name(0)}", flush=True)
    print("DDQN only: i-DQN has no batched learner yet", flush=True)
    rows = []
    if minatar_sizes:
        rows += compare(
            "MinAtar-Breakout", "minatar", minatar_sizes, *minatar, args.threads, device, None
        )
    if pong_sizes:
        rows += compare(
            "Pong", "paper", pong_sizes, *pong, args.threads, device, args.pong_capacity
        )
    for game in sorted({row["game"] for row in rows}):
        best = max((row for row in rows if row["game"] == game), key=lambda row: row["ratio"])
        print(f"{game}: best S = {best['S']}, {best['ratio']:.2f}x practice", flush=True)


if __name__ == "__main__":
    main()
