"""The paper's Table 1 and Figure 8 from trained runs, plus an rliable aggregate and a verdict table.

Every function reads run directories written by :mod:`agents.runner` (``episodes.csv``) and the
transcribed reference numbers (``data/paper/table1.csv``); every writer is atomic. The Snakemake
rules call these through ``python -m agents report ...``.

Statistics:

* **paper statistic** (the headline, as in the paper's Table 1): per seed, the best value of the
  100-episode moving average of the training return; then the mean over seeds;
* **final**: per seed, the mean training return of the last 100 episodes; mean and sd over seeds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from agents.errors import UsageError
from agents.files import atomic_write_text

AGENT_LABELS = {"ddqn": "DDQN", "idqn": "i-DQN"}
PAPER_COLUMNS = {
    "ddqn_10m": "DDQN (paper, 10M)",
    "idqn_10m": "i-DQN (paper, 10M)",
    "distrib_dqn_final": "Distrib. DQN",
    "q_ensemble_final": "Q-ensemble",
    "bootstrap_dqn_final": "Bootstrap DQN",
    "noisy_dqn_final": "Noisy DQN",
}
VERDICTS = ("reproduced", "within spread", "not reproduced")


def run_dir(runs_root: Path, agent: str, game: str, seed: int) -> Path:
    """Where the pipeline puts one run: ``RUNS/<agent>/<game>/s<seed>``."""
    return Path(runs_root) / agent / game / f"s{seed}"


def load_episodes(
    runs_root: Path, agents: Iterable[str], games: Iterable[str], seeds: Iterable[int]
) -> pd.DataFrame:
    """All episode logs, with ``agent, game, seed`` columns and the 100-episode moving average."""
    frames = []
    for agent in agents:
        for game in games:
            for seed in seeds:
                path = run_dir(runs_root, agent, game, seed) / "episodes.csv"
                if not path.is_file():
                    raise UsageError(f"missing episode log {path}; train that run first")
                log = pd.read_csv(path)
                if log.empty:
                    raise UsageError(f"{path} has no finished episode; the budget is too small")
                log["return_100"] = log["return"].rolling(100, min_periods=1).mean()
                frames.append(log.assign(agent=agent, game=game, seed=seed))
    return pd.concat(frames, ignore_index=True)


def per_seed_scores(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per (agent, game, seed): the best 100-episode average and the final 100-episode average."""
    grouped = episodes.groupby(["agent", "game", "seed"])
    return pd.DataFrame(
        {
            "best_100": grouped["return_100"].max(),
            "final_100": grouped["return"].apply(lambda r: r.tail(100).mean()),
            "frames": grouped["frame"].max(),
            "episodes": grouped["episode"].count(),
        }
    ).reset_index()


def read_reference(path: Path) -> pd.DataFrame:
    reference = pd.read_csv(path).set_index("game")
    missing = set(PAPER_COLUMNS) - set(reference.columns)
    if missing:
        raise UsageError(f"reference table {path} lacks columns {sorted(missing)}")
    return reference


def table1(scores: pd.DataFrame, reference: pd.DataFrame, games: list[str]) -> pd.DataFrame:
    """Our DDQN and i-DQN beside the paper's reported columns, one row per game."""
    rows = []
    for game in games:
        row: dict[str, object] = {"game": game}
        for agent, label in AGENT_LABELS.items():
            seeds = scores[(scores["agent"] == agent) & (scores["game"] == game)]
            row[f"{label} (ours)"] = seeds["best_100"].mean() if len(seeds) else np.nan
            row[f"{label} final mean"] = seeds["final_100"].mean() if len(seeds) else np.nan
            row[f"{label} final sd"] = seeds["final_100"].std(ddof=1) if len(seeds) > 1 else np.nan
            row[f"{label} seeds"] = len(seeds)
        for column, label in PAPER_COLUMNS.items():
            row[label] = reference.loc[game, column] if game in reference.index else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def verdict_table(
    scores: pd.DataFrame, reference: pd.DataFrame, games: list[str], tolerance: float
) -> pd.DataFrame:
    """Each of our cells against the paper's, with the rule stated in :data:`VERDICT_RULE`."""
    rows = []
    for game in games:
        for agent, label in AGENT_LABELS.items():
            seeds = scores[(scores["agent"] == agent) & (scores["game"] == game)]["best_100"]
            paper = reference.loc[game, f"{agent}_10m"] if game in reference.index else np.nan
            ours = seeds.mean()
            spread = seeds.std(ddof=1) if len(seeds) > 1 else np.nan
            if np.isnan(paper):
                verdict = "no reference"
            elif ours >= paper - tolerance * abs(paper):
                verdict = VERDICTS[0]
            elif not np.isnan(spread) and abs(ours - paper) <= 2 * spread:
                verdict = VERDICTS[1]
            else:
                verdict = VERDICTS[2]
            rows.append(
                {
                    "game": game,
                    "agent": label,
                    "ours": ours,
                    "seed sd": spread,
                    "seeds": len(seeds),
                    "paper": paper,
                    "verdict": verdict,
                }
            )
    return pd.DataFrame(rows)


def verdict_rule(tolerance: float) -> str:
    return (
        f"'reproduced': our mean over seeds of the best 100-episode average is at least the paper's "
        f"value minus {tolerance:.0%} of it; 'within spread': otherwise, but within two seed standard "
        f"deviations of the paper's value; 'not reproduced': neither."
    )


def write_table(table: pd.DataFrame, stem: Path, caption: str) -> list[Path]:
    """CSV, Markdown and LaTeX versions of ``table`` next to each other, atomically."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".csv"), stem.with_suffix(".md"), stem.with_suffix(".tex")]
    atomic_write_text(paths[0], table.to_csv(index=False, float_format="%.2f"))
    atomic_write_text(paths[1], f"{caption}\n\n{table.to_markdown(index=False, floatfmt='.2f')}\n")
    latex = table.to_latex(
        index=False, float_format="%.2f", na_rep="--", caption=caption, escape=True
    )
    atomic_write_text(paths[2], latex)
    return paths


def _save_figure(fig: plt.Figure, paths: Iterable[Path]) -> None:
    for path in paths:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
    plt.close(fig)


def figure8(
    episodes: pd.DataFrame, games: list[str], outputs: Iterable[Path], points: int = 100
) -> None:
    """Training curves: 100-episode average return against frames, mean and sd band over seeds."""
    curves = []
    # One frame grid per game, up to the shortest run, so every seed contributes to every point.
    ends = episodes.groupby(["game", "agent", "seed"])["frame"].max().groupby("game").min()
    for (agent, game, seed), log in episodes.groupby(["agent", "game", "seed"]):
        grid = np.linspace(0, ends[game], points)
        value = np.interp(grid, log["frame"], log["return_100"], left=np.nan)
        curves.append(
            pd.DataFrame(
                {
                    "agent": AGENT_LABELS.get(agent, agent),
                    "game": game,
                    "seed": seed,
                    "frames": grid,
                    "return": value,
                }
            )
        )
    data = pd.concat(curves, ignore_index=True)
    grid = sns.relplot(
        data=data,
        x="frames",
        y="return",
        hue="agent",
        col="game",
        col_order=games,
        col_wrap=min(4, len(games)),
        kind="line",
        errorbar="sd",
        height=2.8,
        aspect=1.25,
        facet_kws={"sharey": False, "sharex": False},
    )
    grid.set_titles("{col_name}")
    grid.set_axis_labels("frames", "training reward (100-episode average)")
    grid.figure.suptitle(
        "Figure 8: i-DQN and Double DQN training curves (mean, band: sd over seeds)", y=1.03
    )
    _save_figure(grid.figure, outputs)


def aggregate(
    scores: pd.DataFrame,
    reference: pd.DataFrame,
    games: list[str],
    stem: Path,
    reps: int,
    seed: int = 0,
) -> pd.DataFrame:
    """rliable: IQM with stratified-bootstrap CIs, performance profiles, P(i-DQN > DDQN).

    Scores (best 100-episode average per seed) are normalised two ways: by random and the paper's
    DDQN, ``(x - random) / (ddqn_10m - random)``, and by random and the paper's i-DQN.
    """
    from rliable import library as rly
    from rliable import metrics

    rng = np.random.RandomState(seed)
    seeds = sorted(scores["seed"].unique())
    rows, profiles = [], {}
    for norm_name, column in (("paper DDQN", "ddqn_10m"), ("paper i-DQN", "idqn_10m")):
        score_dict = {}
        for agent, label in AGENT_LABELS.items():
            matrix = np.full((len(seeds), len(games)), np.nan)
            for j, game in enumerate(games):
                low, high = reference.loc[game, "random"], reference.loc[game, column]
                values = scores[(scores["agent"] == agent) & (scores["game"] == game)].set_index(
                    "seed"
                )["best_100"]
                matrix[:, j] = [(values.get(s, np.nan) - low) / (high - low) for s in seeds]
            score_dict[label] = matrix
        point, interval = rly.get_interval_estimates(
            score_dict, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps, random_state=rng
        )
        for label in score_dict:
            rows.append(
                {
                    "normalised by": f"random -> {norm_name}",
                    "metric": "IQM",
                    "agent": label,
                    "estimate": point[label][0],
                    "ci_low": interval[label][0, 0],
                    "ci_high": interval[label][1, 0],
                }
            )
        if norm_name == "paper DDQN":
            taus = np.linspace(0.0, 3.0, 61)
            profiles = (taus, *rly.create_performance_profile(score_dict, taus, reps=reps))
            pair = {"i-DQN vs DDQN": (score_dict["i-DQN"], score_dict["DDQN"])}
            p_point, p_interval = rly.get_interval_estimates(
                pair, metrics.probability_of_improvement, reps=reps, random_state=rng
            )
            estimate, (low, high) = (
                np.ravel(p_point["i-DQN vs DDQN"])[0],
                np.ravel(p_interval["i-DQN vs DDQN"]),
            )
            rows.append(
                {
                    "normalised by": "none needed",
                    "metric": "P(i-DQN > DDQN)",
                    "agent": "i-DQN vs DDQN",
                    "estimate": float(estimate),
                    "ci_low": float(low),
                    "ci_high": float(high),
                }
            )
    table = pd.DataFrame(rows)

    taus, profile, profile_ci = profiles
    fig, (ax_iqm, ax_profile) = plt.subplots(1, 2, figsize=(11, 3.8))
    iqm = table[(table["metric"] == "IQM") & (table["normalised by"] == "random -> paper DDQN")]
    ax_iqm.errorbar(
        iqm["estimate"],
        range(len(iqm)),
        xerr=[iqm["estimate"] - iqm["ci_low"], iqm["ci_high"] - iqm["estimate"]],
        fmt="o",
        capsize=4,
    )
    ax_iqm.set_yticks(range(len(iqm)), iqm["agent"])
    ax_iqm.axvline(1.0, color="gray", linestyle="--", linewidth=1)
    ax_iqm.set(
        xlabel="IQM of (score - random) / (paper DDQN - random)",
        title="IQM, 95% stratified-bootstrap CI",
    )
    for label, curve in profile.items():
        ax_profile.plot(taus, curve, label=label)
        ax_profile.fill_between(taus, profile_ci[label][0], profile_ci[label][1], alpha=0.2)
    ax_profile.set(
        xlabel="normalised score tau",
        ylabel="fraction of runs with score > tau",
        title="Performance profiles",
    )
    ax_profile.legend()
    _save_figure(fig, [Path(stem).with_suffix(".png"), Path(stem).with_suffix(".pdf")])
    return table


def table2(agreement_files: Iterable[Path], reference_path: Path) -> pd.DataFrame:
    """Our agreement scores (%) per input and variant, beside the paper's Table 2."""
    import json

    reference = pd.read_csv(reference_path).set_index("input")
    rows = []
    for path in agreement_files:
        if not Path(path).is_file():
            raise UsageError(f"missing agreement result {path}")
        result = json.loads(Path(path).read_text())
        paper = (
            reference.loc[result["input"], result["variant"]]
            if result["variant"] in reference.columns
            else np.nan
        )
        rows.append(
            {
                "input": result["input"],
                "variant": result["variant"],
                "agreement (ours)": 100 * result["agreement"],
                "agreement (paper)": paper,
                "random": 100 * result["random"],
                "steps": result["steps"],
                "rollouts": result["rollouts"],
            }
        )
    return pd.DataFrame(rows).sort_values(["input", "variant"]).reset_index(drop=True)
