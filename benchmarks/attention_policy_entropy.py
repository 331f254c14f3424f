"""Does the attention agent's policy ever leave the uniform policy? Measurements behind
docs/learning.md, "What limits Freeway and Asterix" (issue 25). No training.

Reads the committed seed-0 runs of the confirmatory study's attention arms (the only seeds whose
``losses.csv`` is kept) and prints, per 100K-step bin, the policy's entropy over its updates
against the uniform policy's (ln of the number of actions), and the gradient norm of the
updates. A policy whose entropy stays at ln |A| plays at random whatever it sees.

    python benchmarks/attention_policy_entropy.py [--runs DIR ...] [--bin 100000]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import gymnasium as gym
import pandas as pd

from agents.envs import make_env
from agents.rundir import read_log

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "results/confirmatory/runs"
DEFAULT_RUNS = [
    RUNS / "attention" / "MinAtar-Breakout" / "s0",
    RUNS / "attention" / "MinAtar-SpaceInvaders" / "s0",
    RUNS / "attention" / "MinAtar-Asterix" / "s0",
    RUNS / "attention-3-seeds" / "MinAtar-Freeway" / "s0",
    RUNS / "attention-3-seeds" / "MinAtar-Seaquest" / "s0",
]
LOSS_COLUMNS = ["frame", "update", "loss", "policy", "value", "entropy", "grad_norm"]


def actions_of(game: str) -> int:
    """The number of actions the agent chooses from in ``game``."""
    env = make_env(game)
    try:
        assert isinstance(env.action_space, gym.spaces.Discrete)
        return int(env.action_space.n)
    finally:
        env.close()


def entropy_by_bin(run_dir: Path, bin_steps: int) -> pd.DataFrame:
    """Mean policy entropy and gradient norm of the run's updates, per ``bin_steps`` steps."""
    losses = read_log(run_dir / "losses.csv", LOSS_COLUMNS)
    bins = (losses["frame"] - 1) // bin_steps
    return losses.groupby(bins)[["entropy", "grad_norm"]].mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", type=Path, default=DEFAULT_RUNS)
    parser.add_argument("--bin", type=int, default=100_000, help="steps per bin")
    args = parser.parse_args()
    print("| run | actions | ln(actions) | entropy per bin | grad norm per bin |")
    print("|---|---|---|---|---|")
    for run_dir in args.runs:
        game = run_dir.parent.name
        n = actions_of(game)
        table = entropy_by_bin(run_dir, args.bin)
        entropy = " ".join(f"{v:.3f}" for v in table["entropy"])
        grad = " ".join(f"{v:.3f}" for v in table["grad_norm"])
        name = run_dir.relative_to(ROOT) if run_dir.is_relative_to(ROOT) else run_dir
        print(f"| {name} | {n} | {math.log(n):.3f} | {entropy} | {grad} |")


if __name__ == "__main__":
    main()
