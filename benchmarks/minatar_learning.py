"""Evidence that both agents learn, at CPU scale: DDQN and i-DQN on MinAtar, 3 seeds each.

Trains every (agent, game, seed) with the ``minatar`` presets through the project's own CLI
(one subprocess per run, ``--jobs`` at a time, one torch thread each), measures a uniform-random
policy on the same games, and writes:

* ``OUT/summary.csv``: per run, the mean return of the episodes that ended in the last 20% of the
  budget, and the random policy's mean return over 100 episodes;
* ``OUT/curves.csv``: return against steps, binned, per run;
* ``docs/figures/minatar_learning.png``: mean over seeds with a min-max band, random as a line.

Reruns skip finished runs (the CLI resumes or no-ops), so an interrupted benchmark continues.

    python benchmarks/minatar_learning.py [--frames 100000] [--seeds 0 1 2] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from common import print_machine
from tqdm import tqdm

from agents.files import atomic_write_csv
from agents.rundir import read_episodes
from agents.runner import random_policy_returns

ROOT = Path(__file__).resolve().parent.parent


def train(agent: str, game: str, seed: int, frames: int, out: Path) -> Path:
    run_dir = out / "runs" / f"{agent}-{game}-s{seed}"
    cmd = [
        sys.executable,
        "-m",
        "agents",
        "train",
        "--agent",
        agent,
        "--game",
        game,
        "--seed",
        str(seed),
    ]
    cmd += ["--frames", str(frames), "--preset", "minatar", "--out", str(run_dir), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=["MinAtar-Breakout", "MinAtar-Freeway"])
    parser.add_argument("--agents", nargs="+", default=["ddqn", "idqn"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--frames", type=int, default=100_000, help="MinAtar steps per run")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--bin", type=int, default=5_000, help="steps per point of the curves")
    # Not results/minatar/: that folder holds the committed reproduction.
    parser.add_argument(
        "--out", type=Path, default=ROOT / "results" / "benchmarks" / "minatar_learning"
    )
    parser.add_argument(
        "--figure", type=Path, default=ROOT / "docs" / "figures" / "minatar_learning.png"
    )
    args = parser.parse_args()
    print_machine()
    args.out.mkdir(parents=True, exist_ok=True)

    jobs = [(a, g, s) for g in args.games for a in args.agents for s in args.seeds]
    with (
        ThreadPoolExecutor(args.jobs) as pool,
        tqdm(total=len(jobs), desc="MinAtar runs", unit="run") as bar,
    ):
        futures = {job: pool.submit(train, *job, args.frames, args.out) for job in jobs}
        run_dirs = {}
        for job, future in futures.items():
            run_dirs[job] = future.result()
            bar.update()

    random_mean = {
        game: float(np.mean(random_policy_returns(game, 100, frame_stack=1))) for game in args.games
    }
    rows, curves = [], []
    for (agent, game, seed), run_dir in run_dirs.items():
        episodes = read_episodes(run_dir)  # the reports' reader: complete, finite rows only
        # Episodes that ended in the last 20% of the budget (Freeway has ~40 episodes in 100K steps).
        final = float(episodes[episodes["frame"] > 0.8 * args.frames]["return"].mean())
        rows.append(
            [
                agent,
                game,
                seed,
                args.frames,
                len(episodes),
                round(final, 3),
                round(random_mean[game], 3),
            ]
        )
        binned = episodes.assign(step=(episodes["frame"] // args.bin + 1) * args.bin).groupby(
            "step"
        )["return"]
        for step, value in binned.mean().items():
            curves.append([agent, game, seed, int(step), float(value)])
    header = ["agent", "game", "seed", "steps", "episodes", "final_return", "random_return"]
    atomic_write_csv(args.out / "summary.csv", header, rows)
    atomic_write_csv(args.out / "curves.csv", ["agent", "game", "seed", "step", "return"], curves)

    summary = pd.DataFrame(rows, columns=header)
    table = summary.groupby(["game", "agent"]).agg(
        mean=("final_return", "mean"),
        sd=("final_return", "std"),
        random=("random_return", "first"),
    )
    print(table.round(2).to_markdown())

    curve_frame = pd.DataFrame(curves, columns=["agent", "game", "seed", "step", "return"])
    fig, axes = plt.subplots(1, len(args.games), figsize=(5 * len(args.games), 3.6), squeeze=False)
    for ax, game in zip(axes[0], args.games, strict=True):
        sns.lineplot(
            data=curve_frame[curve_frame["game"] == game],
            x="step",
            y="return",
            hue="agent",
            errorbar=("pi", 100),
            ax=ax,
        )
        ax.axhline(random_mean[game], color="gray", linestyle="--", label="random")
        ax.set(title=game, xlabel="agent steps", ylabel=f"mean return per {args.bin} steps")
        ax.legend()
    fig.suptitle(f"DDQN vs i-DQN on MinAtar, {len(args.seeds)} seeds (line: mean; band: min-max)")
    fig.tight_layout()
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.figure.with_name(f".{args.figure.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, args.figure)
    print(f"wrote {args.out / 'summary.csv'} and {args.figure}")


if __name__ == "__main__":
    main()
