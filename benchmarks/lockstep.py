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
- **Split lockstep, on a CPU** (for S >= 2): two single-thread lockstep jobs of S/2 members each,
  side by side: the per-op overhead is shared within each job, and the two cores never wait
  on each other inside an op.

``--profile S`` then profiles one lockstep job of S members over its timed phase
(``torch.profiler``, CPU, and CUDA when on a GPU) and prints the top ops by self time and the
share of the phase spent inside them; the profiled rate is lower than the timed one.

Settings, for each of ``--agents`` (DDQN and i-DQN): the ``minatar`` preset on MinAtar-Breakout
at S in {1, 2, 4, 8, 16} (up to 64 on a GPU), and the ``paper`` preset on Pong at S in {1, 2, 4}
(up to 8 on a GPU), with a replay of ``--pong-capacity`` frames (speed hardly depends on the
capacity; a million frames per member would not fit).

    python benchmarks/lockstep.py [--agents ddqn idqn] [--minatar-sizes 1 2 4 8 16]
        [--pong-sizes 1 2 4] [--minatar-steps N] [--pong-steps N] [--profile S] [--tiny]

On a GPU (used whenever CUDA is available, or ``--device cuda``) the defaults run S up to 64 on
MinAtar and 8 on Pong with fewer timed steps, so that the whole comparison fits a prepared
script of under 10 minutes; ``--minatar-steps`` / ``--pong-steps`` (and ``--warmup``) set them.

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
from contextlib import nullcontext
from pathlib import Path

import torch
from common import print_machine

ROOT = Path(__file__).resolve().parent.parent


def _measure(
    lockstep: bool,
    agent: str,
    game: str,
    preset: str,
    seeds: list[int],
    warmup: int,
    steps: int,
    overrides: dict,
    device: str,
    profile: bool = False,
) -> float:
    """Worker side: train ``agent`` with ``seeds`` (``train --seeds`` if ``lockstep``, else one
    ``train --seed``) to ``warmup`` steps, resume to ``warmup + steps``; the resumed phase's
    aggregate run-steps/s. With ``profile``, the resumed phase runs under ``torch.profiler`` and
    its top ops go to stderr."""
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
            runs = [RunSpec(agent, game, seed, frames, preset) for seed in seeds]
            profiler = _profiler(device) if profile and budget > warmup else nullcontext()
            start = time.perf_counter()
            with profiler:
                if lockstep:
                    train_lockstep(runs, Path(out), overrides, device=device, progress=False)
                else:
                    (run,) = runs
                    train(run, Path(out), overrides, device=device, progress=False)
            seconds = time.perf_counter() - start
    if profile:
        _print_profile(profiler, seconds, device)
    return len(seeds) * steps / seconds


def _profiler(device: str) -> torch.profiler.profile:
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.startswith("cuda"):
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    return torch.profiler.profile(activities=activities)


def _print_profile(profiler: torch.profiler.profile, seconds: float, device: str) -> None:
    """The top ops by self time, and how much of the phase the ops' own time covers (the rest is
    Python: environments, replay, the loop)."""
    averages = profiler.key_averages()
    sort = "self_cuda_time_total" if device.startswith("cuda") else "self_cpu_time_total"
    print(averages.table(sort_by=sort, row_limit=20), file=sys.stderr)
    op_seconds = sum(event.self_cpu_time_total for event in averages) / 1e6
    calls = sum(event.count for event in averages)
    print(
        f"profile: {seconds:.2f} s phase under the profiler; ops' self CPU time {op_seconds:.2f} s "
        f"({100 * op_seconds / seconds:.0f}%), {calls} op calls",
        file=sys.stderr,
        flush=True,
    )


def _frame_skip(preset: str) -> int:
    return 1 if preset == "minatar" else 4


def _worker_command(args: list[str], threads: int) -> tuple[list[str], dict]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": path}
    return [sys.executable, __file__, "--worker", *args], env


def _worker_args(
    mode: str,
    agent: str,
    game: str,
    preset: str,
    seeds: list[int],
    warmup: int,
    steps: int,
    device: str,
    capacity: int | None,
    profile: bool = False,
) -> list[str]:
    args = ["--mode", mode, "--agent", agent, "--game", game, "--preset", preset]
    args += ["--seeds", *map(str, seeds)]
    args += ["--warmup", str(warmup), "--steps", str(steps), "--device", device]
    if capacity is not None:
        args += ["--capacity", str(capacity)]
    if profile:
        args += ["--profile-worker"]
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
    agent: str,
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
                _worker_args(
                    "single", agent, game, preset, [seed], warmup, steps, device, capacity
                ),
                1,
            )
            for seed in (0, 1)
        ]
        what = "2 single-thread runs at a time"
    else:
        practice = [
            _worker_command(
                _worker_args("single", agent, game, preset, [0], warmup, steps, device, capacity),
                threads,
            )
        ]
        what = "1 run at a time on the GPU"
    baseline = _run_workers(practice)
    label = f"{agent} {game} {preset}"
    print(f"{label}: practice ({what}): {baseline:.1f} run-steps/s", flush=True)
    rows = []
    for size in sizes:
        args = _worker_args(
            "lockstep", agent, game, preset, list(range(size)), warmup, steps, device, capacity
        )
        rate = _run_workers([_worker_command(args, threads)])
        row = {"agent": agent, "game": game, "preset": preset, "S": size}
        row |= {"lockstep": rate, "practice": baseline}
        row["ratio"] = rate / baseline
        rows.append(row)
        print(
            f"{label}: lockstep S={size:>2} ({threads} threads, {device}): "
            f"{rate:.1f} run-steps/s, {row['ratio']:.2f}x practice",
            flush=True,
        )
        if device == "cpu" and size >= 2 and size % 2 == 0:
            halves = [list(range(size // 2)), list(range(size // 2, size))]
            split = _run_workers(
                [
                    _worker_command(
                        _worker_args(
                            "lockstep", agent, game, preset, half, warmup, steps, device, capacity
                        ),
                        1,
                    )
                    for half in halves
                ]
            )
            row |= {"split": split, "split_ratio": split / baseline}
            print(
                f"{label}: split lockstep 2 x S={size // 2:>2} (1 thread each): "
                f"{split:.1f} run-steps/s, {row['split_ratio']:.2f}x practice",
                flush=True,
            )
    return rows


def profile(
    agent: str,
    game: str,
    preset: str,
    size: int,
    warmup: int,
    steps: int,
    threads: int,
    device: str,
    capacity: int | None,
) -> None:
    """One lockstep job of ``size`` members under the profiler (its table goes to stderr)."""
    args = _worker_args(
        "lockstep", agent, game, preset, list(range(size)), warmup, steps, device, capacity, True
    )
    rate = _run_workers([_worker_command(args, threads)])
    print(f"{agent} {game} {preset}: profiled S={size}: {rate:.1f} run-steps/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["single", "lockstep"], help=argparse.SUPPRESS)
    parser.add_argument("--agent", help=argparse.SUPPRESS)
    parser.add_argument("--game", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--capacity", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=None, help="steps before the timed phase")
    parser.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--minatar-steps", type=int, default=None, help="timed steps per run")
    parser.add_argument("--pong-steps", type=int, default=None, help="timed steps per run")
    parser.add_argument("--agents", nargs="+", choices=["ddqn", "idqn"], default=["ddqn", "idqn"])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of a lockstep job")
    parser.add_argument("--minatar-sizes", type=int, nargs="*", default=None)
    parser.add_argument("--pong-sizes", type=int, nargs="*", default=None)
    parser.add_argument("--pong-capacity", type=int, default=20_000)
    parser.add_argument(
        "--profile", type=int, default=None, metavar="S", help="then profile lockstep at S"
    )
    parser.add_argument("--profile-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--tiny", action="store_true", help="check that it runs; numbers mean nothing"
    )
    args = parser.parse_args()

    if args.worker:
        overrides = {} if args.capacity is None else {"replay_capacity": args.capacity}
        rate = _measure(
            args.mode == "lockstep",
            args.agent,
            args.game,
            args.preset,
            args.seeds,
            args.warmup,
            args.steps,
            overrides,
            args.device,
            args.profile_worker,
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
        # On a GPU, fewer timed steps: S = 64 members step 64 environments a step, in turn.
        minatar = (args.warmup or 2000, args.minatar_steps or (2000 if gpu else 8000))
        pong = (args.warmup or 1000, args.pong_steps or (1000 if gpu else 2000))
    print_machine()
    if gpu:
        print(f"GPU {torch.cuda.get_device_name(0)}", flush=True)
    rows = []
    for agent in args.agents:
        if minatar_sizes:
            rows += compare(
                agent,
                "MinAtar-Breakout",
                "minatar",
                minatar_sizes,
                *minatar,
                args.threads,
                device,
                None,
            )
        if pong_sizes:
            rows += compare(
                agent, "Pong", "paper", pong_sizes, *pong, args.threads, device, args.pong_capacity
            )
    for agent, game in sorted({(row["agent"], row["game"]) for row in rows}):
        cell = [row for row in rows if (row["agent"], row["game"]) == (agent, game)]
        ways = [(row["ratio"], f"lockstep S = {row['S']}") for row in cell]
        ways += [
            (row["split_ratio"], f"split lockstep 2 x S = {row['S'] // 2}")
            for row in cell
            if "split" in row
        ]
        ratio, way = max(ways)
        print(f"{agent} {game}: fastest: {way}, {ratio:.2f}x practice", flush=True)
    if args.profile:
        for agent in args.agents:
            if minatar_sizes:
                profile(
                    agent,
                    "MinAtar-Breakout",
                    "minatar",
                    args.profile,
                    *minatar,
                    args.threads,
                    device,
                    None,
                )


if __name__ == "__main__":
    main()
