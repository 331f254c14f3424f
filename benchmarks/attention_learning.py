"""The attention agent's MinAtar learning evidence, from the committed runs (no training).

Reads ``results/minatar/runs/{attention,ddqn,idqn,random}/<game>/s<seed>/episodes.csv`` (the
MinAtar reproduction's runs, 300K steps each; train missing ones with ``snakemake runs
--profile workflow/profiles/minatar``) and Young & Tian's actor-critic read at 300K steps
(``data/minatar/ac_lambda_300k.csv``). Writes:

* ``results/minatar/attention_learning.csv``: per game and attention seed, the final
  100-episode average with a 95% bootstrap interval over those episodes (scipy), beside the
  uniform-random policy's final average (mean over its seeds) and the ratio;
* ``docs/figures/attention_learning.png``: moving average of returns against steps (100
  episodes; 10 for Freeway, whose runs have about 120), mean over seeds with a min-max band,
  for every agent; AC(lambda) at 300K as markers.

Prints the markdown table that docs/learning.md quotes.

    python benchmarks/attention_learning.py
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from agents.files import atomic_write_csv
from agents.reports import label, load_episodes, per_seed_scores
from agents.stats import WINDOW

ROOT = Path(__file__).resolve().parent.parent
GAMES = ["MinAtar-Breakout", "MinAtar-SpaceInvaders", "MinAtar-Freeway"]
GAMES += ["MinAtar-Seaquest", "MinAtar-Asterix"]
AGENTS = ["attention", "ddqn", "idqn", "random"]


def seed_rows(episodes: pd.DataFrame, scores: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    """Per (game, attention seed): final 100-episode average, its 95% interval, random's."""
    rows = []
    for game in GAMES:
        random_final = scores.query("agent == 'random' and game == @game")["final_100"].mean()
        for seed in seeds:
            log = episodes.query("agent == 'attention' and game == @game and seed == @seed")
            last = log["return"].to_numpy()[-WINDOW:]
            interval = bootstrap(
                (last,), np.mean, confidence_level=0.95, n_resamples=2000, random_state=seed
            ).confidence_interval
            rows.append(
                {
                    "game": game,
                    "seed": seed,
                    "final_100": last.mean(),
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "random_final_100": random_final,
                    "ratio_to_random": last.mean() / random_final,
                    "above_random": bool(interval.low > random_final),
                }
            )
    return pd.DataFrame(rows)


def markdown(scores: pd.DataFrame, rows: pd.DataFrame, ac: pd.DataFrame) -> str:
    lines = [
        "| game | Attention: final 100 per seed [95% CI] | Attention mean | DDQN | i-DQN "
        "| random | AC(0.8) / AC(0) at 300K |",
        "|---|---|---|---|---|---|---|",
    ]
    for game in GAMES:
        per_seed = rows[rows.game == game]
        cells = ", ".join(
            f"{r.final_100:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" for r in per_seed.itertuples()
        )

        def summary(agent: str, game: str = game) -> str:
            values = scores[(scores.agent == agent) & (scores.game == game)]["final_100"]
            return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"

        reading = ac[ac.game == game].set_index("agent")["return_300k"]
        lines.append(
            f"| {game} | {cells} | {summary('attention')} | {summary('ddqn')} | "
            f"{summary('idqn')} | {summary('random')} | "
            f"≈{reading['AC(0.8)']:g} / ≈{reading['AC(0)']:g} |"
        )
    return "\n".join(lines)


def curve(log: pd.DataFrame, grid: np.ndarray, window: int) -> np.ndarray:
    """One seed's ``window``-episode moving average on ``grid``; NaN before its first window."""
    average = log["return"].rolling(window).mean().to_numpy()
    valid = ~np.isnan(average)
    if not valid.any():
        return np.full(len(grid), np.nan)
    return np.interp(grid, log["frame"].to_numpy()[valid], average[valid], left=np.nan)


def figure(episodes: pd.DataFrame, ac: pd.DataFrame, frames: int, path: Path) -> None:
    grid = np.linspace(0, frames, 200)
    # Before a seed's first 100 episodes its curve is NaN; those columns are left blank.
    warnings.filterwarnings("ignore", "(Mean of empty slice|All-NaN slice)", RuntimeWarning)
    fig, axes = plt.subplots(1, len(GAMES), figsize=(3.3 * len(GAMES), 3.0))
    for ax, game in zip(axes, GAMES, strict=True):
        # Freeway's episodes last 2,500 steps: 120 in a run, so 100-episode windows would leave
        # one point. A game with fewer than 1,000 episodes per run gets a 10-episode window.
        runs = episodes[episodes.game == game].groupby(["agent", "seed"]).size()
        window = WINDOW if runs.min() >= 1000 else 10
        for agent in AGENTS:
            logs = episodes[(episodes.agent == agent) & (episodes.game == game)]
            curves = np.array([curve(log, grid, window) for _, log in logs.groupby("seed")])
            (line,) = ax.plot(grid / 1e3, np.nanmean(curves, axis=0), label=label(agent))
            ax.fill_between(
                grid / 1e3,
                np.nanmin(curves, axis=0),
                np.nanmax(curves, axis=0),
                color=line.get_color(),
                alpha=0.2,
            )
        for reading, marker in zip(ac[ac.game == game].itertuples(), ("^", "v"), strict=True):
            ax.errorbar(
                frames / 1e3,
                reading.return_300k,
                yerr=reading.uncertainty,
                fmt=marker,
                color="black",
                label=f"{reading.agent}, Young & Tian (read)",
            )
        ax.set(
            title=f"{game.removeprefix('MinAtar-')} ({window}-episode average)",
            xlabel="steps (K)",
        )
    axes[0].set_ylabel("average return")
    axes[-1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "results/minatar/runs")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    episodes = load_episodes(args.runs, AGENTS, GAMES, args.seeds)
    scores = per_seed_scores(episodes)
    ac = pd.read_csv(ROOT / "data/minatar/ac_lambda_300k.csv")
    rows = seed_rows(episodes, scores, args.seeds)
    atomic_write_csv(
        ROOT / "results/minatar/attention_learning.csv",
        list(rows.columns),
        rows.itertuples(index=False),
    )
    figure(episodes, ac, int(scores["frames"].max()), ROOT / "docs/figures/attention_learning.png")
    print(markdown(scores, rows, ac))
    above = rows.groupby("game", sort=False)["above_random"].agg(["sum", "size"])
    print("\nseeds whose 95% interval lies above random's final average:")
    for game, row in above.iterrows():
        print(f"  {game}: {row['sum']} of {row['size']}")


if __name__ == "__main__":
    main()
