"""The paper's Table 1 and Figure 8 from trained runs, plus an rliable aggregate and a verdict table.

Every function reads run directories written by :mod:`agents.runner` (``episodes.csv``) and the
transcribed reference numbers (``data/paper/table1.csv``); every writer is atomic. The
``write_*`` functions are the builders that :data:`agents.outputs.OUTPUTS` declares, with their
file types and captions; the CLI (``python -m agents report ...``) and the Snakemake rules reach
them through that registry.

Reports cover the agents they are given (``--agents``), in that order, named by their registry
label (:attr:`agents.registry.AgentEntry.label`); each agent whose registry ``baseline`` is among
them is compared against it (P(agent > baseline) in the aggregate). The paper's value for an
agent is the reference table's ``<agent>_10m`` column; an agent without one has "no reference".

Statistics (defined once, in :mod:`agents.stats`; only full 100-episode windows count):

* **paper statistic** (the headline, as in the paper's Table 1): per seed, the best value of the
  100-episode moving average of the training return, over full windows only; then the mean over
  seeds;
* **final**: per seed, the mean training return of the last 100 episodes; mean and sd over seeds.

A seed with fewer than 100 episodes has neither: its cell is missing (NaN), not filled with a
shorter window, and a ``note`` / ``reason`` column says "too few episodes (N < 100)". A cell over
seeds is missing when any of its seeds is: a mean over the seeds that happen to have finished 100
episodes would favour whichever seeds have short episodes.

Verdicts (:data:`VERDICTS`; the rule is the verdict table's caption in :mod:`agents.outputs`): with
``T = paper - tolerance * |paper|`` and ``L, U = mean -+ t(0.95; n-1) * sd / sqrt(n)`` the
one-sided 95% Student-t confidence bounds of the mean over the n seeds,

* ``reproduced``: L >= T, so the mean is at least T and the seed spread does not put it in doubt;
* ``within spread``: L < T <= U, the seeds cannot tell;
* ``not reproduced``: U < T;
* ``inconclusive (1 seed)``: one seed has no spread to weigh, so no verdict;
* ``too few episodes``: some seed has fewer than 100 episodes, hence no statistic;
* ``no reference``: the paper gives no value; ``no runs``: nothing was trained for that cell.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from agents.errors import UsageError
from agents.files import atomic_write_text
from agents.registry import get_agent
from agents.rundir import read_episodes
from agents.stats import WINDOW, best_and_final, moving_average, shortfall

PAPER_COLUMNS = {
    "ddqn_10m": "DDQN (paper, 10M)",
    "idqn_10m": "i-DQN (paper, 10M)",
    # The DDQN score the paper's Table 1 quotes from the literature (200M frames, Hessel et al.
    # 2017), beside the authors' own 10M-frame DDQN run.
    "ddqn_final": "DDQN (paper, reported 200M)",
    "distrib_dqn_final": "Distrib. DQN",
    "q_ensemble_final": "Q-ensemble",
    "bootstrap_dqn_final": "Bootstrap DQN",
    "noisy_dqn_final": "Noisy DQN",
}
VERDICTS = (
    "reproduced",
    "within spread",
    "not reproduced",
    "inconclusive (1 seed)",
    "too few episodes",
    "no reference",
    "no runs",
)
CONFIDENCE = 0.95  # one-sided level of the verdict's bounds on the mean over seeds


def label(agent: str) -> str:
    """How tables and figures name ``agent``: its registry label (``ddqn`` -> ``DDQN``), or a
    peer baseline's (``sb3-dqn`` -> ``SB3 DQN``)."""
    from agents.registry import PEER_LABELS

    if agent in PEER_LABELS:
        return PEER_LABELS[agent]
    return get_agent(agent).label


def comparisons(agents: Sequence[str]) -> list[tuple[str, str]]:
    """(agent, baseline) for each of ``agents`` whose registry baseline is among them too."""
    from agents.registry import PEER_LABELS

    trainable = [agent for agent in agents if agent not in PEER_LABELS]
    return [
        (agent, get_agent(agent).baseline)
        for agent in trainable
        if get_agent(agent).baseline in agents
    ]


def _agents_of(scores: pd.DataFrame, agents: Sequence[str] | None) -> list[str]:
    """``agents``, or by default every agent of ``scores`` in order of appearance."""
    return list(agents) if agents is not None else list(dict.fromkeys(scores["agent"]))


def run_dir(runs_root: Path, agent: str, game: str, seed: int) -> Path:
    """Where the pipeline puts one run: ``RUNS/<agent>/<game>/s<seed>``."""
    return Path(runs_root) / agent / game / f"s{seed}"


def load_episodes(
    runs_root: Path, agents: Iterable[str], games: Iterable[str], seeds: Iterable[int]
) -> pd.DataFrame:
    """All episode logs, with ``agent, game, seed`` columns and the 100-episode moving average.

    Each through :func:`agents.rundir.read_episodes`, so a missing or corrupt log stops the report
    with one line naming the run before anything is written. ``return_100`` is NaN until a run
    has 100 episodes (:func:`agents.stats.moving_average`).
    """
    frames = []
    for agent in agents:
        for game in games:
            for seed in seeds:
                log = read_episodes(run_dir(runs_root, agent, game, seed))
                log["return_100"] = moving_average(log["return"])
                frames.append(log.assign(agent=agent, game=game, seed=seed))
    return pd.concat(frames, ignore_index=True)


def per_seed_scores(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per (agent, game, seed): the best full-window 100-episode average and the last 100's mean.

    Both are NaN for a seed with fewer than 100 episodes; ``episodes`` says how many it has.
    """
    rows = []
    for (agent, game, seed), log in episodes.groupby(["agent", "game", "seed"]):
        best, final = best_and_final(log["return"])
        rows.append(
            {
                "agent": agent,
                "game": game,
                "seed": seed,
                "best_100": np.nan if best is None else best,
                "final_100": np.nan if final is None else final,
                "frames": log["frame"].max(),
                "episodes": len(log),
            }
        )
    return pd.DataFrame(rows)


def shortfalls(seeds: pd.DataFrame) -> list[str]:
    """``"seed 0: too few episodes (37 < 100)"`` for every row of ``seeds`` without a statistic."""
    reasons = []
    for _, row in seeds.iterrows():
        if pd.isna(row["best_100"]):
            count = row.get("episodes", np.nan)
            reason = None if pd.isna(count) else shortfall(int(count))
            reasons.append(f"seed {row['seed']}: {reason or f'no full {WINDOW}-episode window'}")
    return reasons


def read_reference(path: Path) -> pd.DataFrame:
    reference = pd.read_csv(path).set_index("game")
    missing = set(PAPER_COLUMNS) - set(reference.columns)
    if missing:
        raise UsageError(f"reference table {path} lacks columns {sorted(missing)}")
    return reference


REFERENCE_CURVE_COLUMNS = ("game", "label", "run", "frame_start", "frame_end", "return")


def read_reference_curves(path: Path) -> pd.DataFrame:
    """Published learning curves to draw beside ours (e.g. ``data/atari/dopamine_pong_dqn.csv``):
    one row per run and stretch of frames, with the mean return over that stretch."""
    if not Path(path).is_file():
        raise UsageError(f"reference curves {path} do not exist")
    curves = pd.read_csv(path, float_precision="round_trip")
    missing = set(REFERENCE_CURVE_COLUMNS) - set(curves.columns)
    if missing:
        raise UsageError(f"reference curves {path} lack columns {sorted(missing)}")
    if curves[list(REFERENCE_CURVE_COLUMNS)].isna().any().any():
        raise UsageError(f"reference curves {path} have empty cells")
    if (curves["frame_end"] <= curves["frame_start"]).any():
        raise UsageError(f"reference curves {path}: a row's frame_end is not after its frame_start")
    if curves.duplicated(["game", "label", "run", "frame_start"]).any():
        raise UsageError(f"reference curves {path} repeat a run's stretch of frames")
    # Each curve's mean is over its runs, so every run must cover the same stretches.
    for (game, label), rows in curves.groupby(["game", "label"]):
        stretches = rows.groupby("run")["frame_start"].apply(frozenset)
        if stretches.nunique() > 1:
            raise UsageError(
                f"reference curves {path}: the runs of {label} on {game} cover different frames"
            )
    return curves


def _draw_reference(ax, curves: pd.DataFrame, handles: dict) -> None:
    """One game's reference curves: mean over their runs at each stretch's midpoint, dashed, with
    the runs' range as a band."""
    for label, rows in curves.groupby("label", sort=False):
        rows = rows.assign(frame=(rows["frame_start"] + rows["frame_end"]) / 2)
        by_frame = rows.groupby("frame")["return"]
        mean, low, high = by_frame.mean(), by_frame.min(), by_frame.max()
        runs = rows["run"].nunique()
        name = f"{label}, {runs} runs (band: their range)"
        (handles[name],) = ax.plot(mean.index, mean.to_numpy(), color="0.2", ls="--", label=name)
        ax.fill_between(mean.index, low.to_numpy(), high.to_numpy(), color="0.5", alpha=0.15, lw=0)


def table1(
    scores: pd.DataFrame,
    reference: pd.DataFrame,
    games: list[str],
    agents: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each of ``agents`` (default: those in ``scores``) beside the paper's reported columns.

    One row per game; columns ``<label> (ours)``, ``<label> final mean``, ... per agent. Our cells
    are missing when any seed has fewer than 100 episodes; ``note`` says which.
    """
    rows = []
    for game in games:
        row: dict[str, object] = {"game": game}
        notes = []
        for agent in _agents_of(scores, agents):
            name = label(agent)
            seeds = scores[(scores["agent"] == agent) & (scores["game"] == game)]
            short = shortfalls(seeds)
            complete = len(seeds) > 0 and not short
            row[f"{name} (ours)"] = seeds["best_100"].mean() if complete else np.nan
            row[f"{name} final mean"] = seeds["final_100"].mean() if complete else np.nan
            row[f"{name} final sd"] = (
                seeds["final_100"].std(ddof=1) if complete and len(seeds) > 1 else np.nan
            )
            row[f"{name} seeds"] = len(seeds)
            notes += [f"{name} {reason}" for reason in short]
        for column, title in PAPER_COLUMNS.items():
            row[title] = reference.loc[game, column] if game in reference.index else np.nan
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)


def t_interval(values: Sequence[float] | np.ndarray, quantile: float) -> tuple[float, float, float]:
    """Mean over seeds and its Student-t bounds ``mean -/+ t(quantile, n-1) * sd / sqrt(n)``.

    ``quantile`` 0.975 gives the two-sided 95% interval, 0.95 the one-sided 95% bounds of the
    verdict. One value is its own mean with NaN bounds (no spread to weigh); NaNs throughout
    when there is none or any is NaN.
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) == 0 or np.isnan(values).any():
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if len(values) == 1:
        return mean, float("nan"), float("nan")
    half = (
        float(stats.t.ppf(quantile, len(values) - 1)) * values.std(ddof=1) / math.sqrt(len(values))
    )
    return mean, mean - half, mean + half


EARLY_FRACTION = (
    1 / 3
)  # where the claims table reads the "reaches competitive scores quickly" claim
# The claims table's early window in episodes, for games whose episodes are too long to fill a
# 100-episode window by EARLY_FRACTION of the budget (MinAtar Freeway: 2,500 steps each, 40 by
# 100K steps): the last EARLY_EPISODES episodes ending by then.
EARLY_EPISODES = 10


def score_at(log: pd.DataFrame, frame: float) -> float:
    """A seed's 100-episode moving average at its last full window ending at or before ``frame``."""
    before = log[(log["frame"] <= frame) & log["return_100"].notna()]
    return float(before["return_100"].iloc[-1]) if len(before) else float("nan")


def last_episodes_at(log: pd.DataFrame, frame: float, count: int = EARLY_EPISODES) -> float:
    """A seed's mean return over its last ``count`` episodes ending at or before ``frame``; NaN
    when fewer than ``count`` episodes have ended by then."""
    before = log.loc[log["frame"] <= frame, "return"]
    return float(before.iloc[-count:].mean()) if len(before) >= count else float("nan")


EARLY_LAST_COLUMNS = (
    f"early_last{EARLY_EPISODES}",
    f"early_last{EARLY_EPISODES}_low",
    f"early_last{EARLY_EPISODES}_high",
)


def claims_table(
    episodes: pd.DataFrame, scores: pd.DataFrame, games: list[str], agents: Sequence[str]
) -> pd.DataFrame:
    """Per agent and game, the numbers docs/reproduction.md judges the score claims by.

    The mean over seeds of the final 100-episode average with its two-sided 95% Student-t
    interval (Table 1's claim), and the same of the moving average at :data:`EARLY_FRACTION` of
    the budget (Fig 8's "competitive quickly"); a cell is NaN where a seed has no full window.
    Beside it, for games whose episodes are too long for a 100-episode window by then, the same
    of the mean return of each seed's last :data:`EARLY_EPISODES` episodes ending by then.
    """
    budget = float(scores["frames"].max())
    early = int(EARLY_FRACTION * budget)
    rows = []
    for agent in agents:
        for game in games:
            mine = scores[(scores["agent"] == agent) & (scores["game"] == game)]
            logs = episodes[(episodes["agent"] == agent) & (episodes["game"] == game)]
            final = t_interval(mine.sort_values("seed")["final_100"], 0.975)
            at = [score_at(log, early) for _, log in logs.groupby("seed")]
            early_scores = t_interval(at, 0.975)
            last = t_interval(
                [last_episodes_at(log, early) for _, log in logs.groupby("seed")], 0.975
            )
            rows.append(
                {"agent": label(agent), "game": game, "seeds": len(mine)}
                | dict(zip(("final_100", "final_low", "final_high"), final, strict=True))
                | {"early_frame": early}
                | dict(zip(("early_100", "early_low", "early_high"), early_scores, strict=True))
                | dict(zip(EARLY_LAST_COLUMNS, last, strict=True))
            )
    return pd.DataFrame(rows)


def paper_value(reference: pd.DataFrame, agent: str, game: str) -> float:
    """The paper's 10M-frame value for ``agent`` on ``game`` (``<agent>_10m``), NaN without one."""
    column = f"{agent}_10m"
    if game not in reference.index or column not in reference.columns:
        return np.nan
    return float(reference.loc[game, column])


def milestones_table(
    episodes: pd.DataFrame,
    agents: Sequence[str],
    games: Sequence[str],
    thresholds: Sequence[float] = (),
) -> pd.DataFrame:
    """Per run, how its 100-episode training average developed: the frames and episodes it has,
    its best full-window average and the frame that window ended at, its final average, and for
    each of ``thresholds`` the first frame at which the average reached it (missing: never).

    Read off the episode log alone, so it also describes a run still training. A run with fewer
    than 100 episodes has none of the statistics.
    """
    rows = []
    for agent in agents:
        for game in games:
            mine = episodes[(episodes["agent"] == agent) & (episodes["game"] == game)]
            for seed, log in mine.groupby("seed", sort=True):
                average = log["return_100"]
                full = average.notna()
                row: dict[str, object] = {
                    "agent": label(agent),
                    "game": game,
                    "seed": seed,
                    "frames": int(log["frame"].max()),
                    "episodes": len(log),
                    "best_100": average.max() if full.any() else np.nan,
                    "best_100_frame": log.loc[average.idxmax(), "frame"] if full.any() else pd.NA,
                    "final_100": average.iloc[-1],
                }
                for threshold in thresholds:
                    reached = log.loc[full & (average >= threshold), "frame"]
                    row[f"first_frame_100>={threshold:g}"] = (
                        reached.iloc[0] if len(reached) else pd.NA
                    )
                rows.append(row)
    table = pd.DataFrame(rows)
    frames = [c for c in table.columns if c.startswith(("best_100_frame", "first_frame"))]
    return table.astype({column: "Int64" for column in frames})


def verdict_table(
    scores: pd.DataFrame,
    reference: pd.DataFrame,
    games: list[str],
    tolerance: float,
    agents: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each of our cells against the paper's, with the rule stated in the verdict's caption.

    ``agents`` defaults to those in ``scores``; one without a paper value has "no reference".
    """
    rows = []
    for game in games:
        for agent in _agents_of(scores, agents):
            seeds = scores[(scores["agent"] == agent) & (scores["game"] == game)]
            values = seeds["best_100"]
            count = len(values)
            paper = paper_value(reference, agent, game)
            threshold = paper - tolerance * abs(paper)
            short = shortfalls(seeds)
            ours = values.mean() if count and not short else np.nan
            spread = values.std(ddof=1) if count > 1 and not short else np.nan
            low = high = np.nan
            reason = ""
            if count == 0:
                verdict, reason = "no runs", "no run of this agent and game was given"
            elif np.isnan(paper):
                verdict, reason = "no reference", "the paper gives no value"
            elif short:
                verdict, reason = "too few episodes", "; ".join(short)
            elif count == 1:
                verdict = "inconclusive (1 seed)"
                reason = "one seed has no spread to weigh; train more seeds"
            else:
                _, low, high = t_interval(values, CONFIDENCE)
                if low >= threshold:
                    verdict = "reproduced"
                elif high >= threshold:
                    verdict = "within spread"
                else:
                    verdict = "not reproduced"
            rows.append(
                {
                    "game": game,
                    "agent": label(agent),
                    "ours": ours,
                    "seed sd": spread,
                    "seeds": count,
                    "lower bound": low,
                    "upper bound": high,
                    "paper": paper,
                    "threshold": threshold,
                    "verdict": verdict,
                    "reason": reason,
                }
            )
    return pd.DataFrame(rows)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def _markdown_caption(rst: str) -> str:
    """A caption in reStructuredText as Markdown: ``literal`` becomes `literal`; one line."""
    return re.sub(r"``(.+?)``", r"`\1`", " ".join(rst.split()))


def _latex_caption(rst: str) -> str:
    """A caption in reStructuredText as LaTeX text: markup dropped, special characters escaped."""
    text = re.sub(r"``(.+?)``|\*\*(.+?)\*\*", lambda m: m.group(1) or m.group(2), rst)
    text = "".join(_LATEX_SPECIAL.get(char, char) for char in " ".join(text.split()))
    return text


def write_table(table: pd.DataFrame, stem: Path, caption: str) -> list[Path]:
    """CSV, Markdown and LaTeX versions of ``table`` next to each other, atomically.

    ``caption`` is reStructuredText (as :data:`agents.outputs.OUTPUTS` declares it): the Markdown
    file starts with it as Markdown, the LaTeX table has it as plain, escaped text.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".csv"), stem.with_suffix(".md"), stem.with_suffix(".tex")]
    atomic_write_text(paths[0], table.to_csv(index=False, float_format="%.2f"))
    # A missing cell reads "--" in Markdown and LaTeX (empty in the CSV), not "nan".
    markdown = table.astype(object).where(table.notna(), None)
    markdown = markdown.to_markdown(index=False, floatfmt=".2f", missingval="--")
    atomic_write_text(paths[1], f"{_markdown_caption(caption)}\n\n{markdown}\n")
    latex = table.to_latex(
        index=False,
        float_format="%.2f",
        na_rep="--",
        caption=_latex_caption(caption),
        escape=True,
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


def _curve(log: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """One seed's 100-episode average on ``grid``; NaN before its first full window."""
    valid = log["return_100"].notna().to_numpy()
    if not valid.any():
        return np.full(len(grid), np.nan)
    frames, values = log["frame"].to_numpy()[valid], log["return_100"].to_numpy()[valid]
    return np.interp(grid, frames, values, left=np.nan)


def figure8(
    episodes: pd.DataFrame,
    games: list[str],
    outputs: Iterable[Path],
    points: int = 100,
    labels: dict[str, str] | None = None,
    title: str | None = None,
    reference_curves: pd.DataFrame | None = None,
) -> None:
    """Training curves: 100-episode average return against frames, mean and sd band over seeds.

    A curve starts at the first frame where every seed has a full 100-episode window; a panel
    whose runs have none says so instead of drawing a curve. ``labels`` names the curves (a
    study's settings); by default each agent's :func:`label`. ``title`` replaces the title's
    "Figure 8: <agents>". ``reference_curves`` (:func:`read_reference_curves`) are drawn dashed
    in their games' panels, beside ours.
    """
    names = {
        agent: labels[agent] if labels else label(agent) for agent in episodes["agent"].unique()
    }
    # One frame grid per game, up to the shortest run, so every seed contributes to every point.
    ends = episodes.groupby(["game", "agent", "seed"])["frame"].max().groupby("game").min()
    agents = list(dict.fromkeys(episodes["agent"]))
    colours = dict(zip(agents, sns.color_palette(n_colors=len(agents)), strict=True))
    columns = min(4, len(games))
    rows = math.ceil(len(games) / columns)
    size = (3.5, 2.8) if len(games) > 1 else (6.0, 4.0)  # one game: a study's one panel
    fig, axes = plt.subplots(
        rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False
    )
    handles = {}
    for ax, game in zip(axes.flat, games, strict=False):
        grid = np.linspace(0, ends.get(game, 0), points)
        for agent in agents:
            logs = episodes[(episodes["agent"] == agent) & (episodes["game"] == game)]
            if logs.empty:
                continue
            curves = np.array([_curve(log, grid) for _, log in logs.groupby("seed")])
            drawn = ~np.isnan(curves).any(axis=0)
            if not drawn.any():
                continue
            mean = curves[:, drawn].mean(axis=0)
            name = names[agent]
            (handles[name],) = ax.plot(grid[drawn], mean, color=colours[agent], label=name)
            if len(curves) > 1:
                sd = curves[:, drawn].std(axis=0, ddof=1)
                ax.fill_between(
                    grid[drawn], mean - sd, mean + sd, color=colours[agent], alpha=0.2, lw=0
                )
        ours_drawn = bool(ax.lines)
        reference = None
        if reference_curves is not None:
            reference = reference_curves[reference_curves["game"] == game]
            if not reference.empty:
                _draw_reference(ax, reference, handles)
        if not ours_drawn:
            most = episodes[episodes["game"] == game].groupby(["agent", "seed"]).size().max()
            beside = reference is not None and not reference.empty  # then say whose, up top
            ax.text(
                0.5,
                0.9 if beside else 0.5,
                f"{'ours: ' if beside else ''}no full {WINDOW}-episode window:\n"
                f"at most {most} episodes per run",
                transform=ax.transAxes,
                ha="center",
                va="center",
            )
        ax.set_title(game)
        ax.set_xlabel("frames")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"training reward\n({WINDOW}-episode average)")
    for ax in axes.flat[len(games) :]:
        ax.set_visible(False)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(
        f"{title or 'Figure 8: ' + ', '.join(names[agent] for agent in agents)} training curves "
        f"(mean, band: sd over seeds; full {WINDOW}-episode windows only)",
        y=1.03,
    )
    fig.tight_layout()
    _save_figure(fig, outputs)


LOSS_SMOOTHING = 5  # logged rows per point of the diagnostics' loss and Q (a moving mean)


#: What the diagnostics figure draws, a row each, where any run logs it (losses.csv's columns).
DIAGNOSTICS = {
    "return_100": f"training reward\n({WINDOW}-episode average)",
    "loss": f"training loss\n(mean of {LOSS_SMOOTHING} logged rows)",
    "q_mean": "mean Q of the\nactions taken",
    "epsilon": "ε (exploration)",
}


def load_losses(
    runs_root: Path, agents: Iterable[str], games: Iterable[str], seeds: Iterable[int]
) -> pd.DataFrame:
    """Every learning run's loss log (:func:`agents.rundir.read_losses`) with ``agent, game,
    seed`` columns; an agent that never learns (random) adds no rows."""
    from agents.rundir import read_losses

    frames = []
    for agent in agents:
        for game in games:
            for seed in seeds:
                log = read_losses(run_dir(runs_root, agent, game, seed))
                if log is not None:
                    frames.append(log.assign(agent=agent, game=game, seed=seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def diagnostics_figure(
    episodes: pd.DataFrame, losses: pd.DataFrame, games: list[str], outputs: Iterable[Path]
) -> None:
    """Per game (a column), against frames: the 100-episode training average, the loss, the mean
    Q of the actions taken and ε (a row each, where any run logs it), every seed its own line.

    What to look at when a run does not learn: whether ε has decayed, whether the loss has
    settled or diverged, and whether Q has reached the scale of the returns."""
    rows = ["return_100"] + [
        name for name in list(DIAGNOSTICS)[1:] if name in losses and losses[name].notna().any()
    ]
    agents = list(dict.fromkeys(episodes["agent"]))
    colours = dict(zip(agents, sns.color_palette(n_colors=len(agents)), strict=True))
    fig, axes = plt.subplots(
        len(rows),
        len(games),
        figsize=(3.6 * len(games), 2.3 * len(rows)),
        sharex="col",
        squeeze=False,
    )
    handles = {}
    for column, game in enumerate(games):
        for row, name in enumerate(rows):
            ax = axes[row, column]
            data = episodes if name == "return_100" else losses
            for agent in agents:
                mine = data[(data["agent"] == agent) & (data["game"] == game)]
                for _, log in mine.groupby("seed") if name in mine else ():
                    drawn = log[log[name].notna()]
                    if drawn.empty:
                        continue
                    if name == "return_100":  # smooth: 500 points draw it (MinAtar has 30K)
                        step = max(1, len(drawn) // 500)
                        drawn = pd.concat([drawn.iloc[:-1:step], drawn.iloc[-1:]])
                    elif name != "epsilon":  # a trend, not each minibatch's noise
                        values = drawn[name].rolling(LOSS_SMOOTHING, min_periods=1).mean()
                        drawn = drawn.assign(**{name: values})
                    (handles[label(agent)],) = ax.plot(
                        drawn["frame"], drawn[name], color=colours[agent], lw=0.8, alpha=0.8
                    )
            if name == "loss" and ax.lines:
                # Losses of different agents differ by orders of magnitude; the attention agent's
                # (policy + value - entropy) goes below 0, which symlog keeps on the axis.
                positive = all((line.get_ydata() > 0).all() for line in ax.lines)
                ax.set_yscale(
                    "log" if positive else "symlog", **({} if positive else {"linthresh": 1e-2})
                )
            if row == 0:
                ax.set_title(game)
            if row == len(rows) - 1:
                ax.set_xlabel("frames")
            if column == 0:
                ax.set_ylabel(DIAGNOSTICS[name])
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("Training diagnostics (a line per seed)", y=1.01)
    fig.tight_layout()
    _save_figure(fig, outputs)


def _improvement_row(agent: str, baseline: str) -> dict[str, str]:
    """The aggregate table's row naming P(agent > baseline), without its estimate."""
    return {
        "normalised by": "none needed",
        "metric": f"P({label(agent)} > {label(baseline)})",
        "agent": f"{label(agent)} vs {label(baseline)}",
    }


def _undefined_aggregate(
    missing: list[str], runs: int, stem: Path, agents: Sequence[str], norms: Sequence[str]
) -> pd.DataFrame:
    """The aggregate's table and figure when some run has no statistic: every estimate NaN."""
    note = (
        f"undefined: {len(missing)} of {runs} runs have fewer than {WINDOW} episodes "
        f"({'; '.join(missing)})"
    )
    rows = [
        {"normalised by": f"random -> {norm}", "metric": "IQM", "agent": label(agent)}
        for norm in norms
        for agent in agents
    ]
    rows += [_improvement_row(agent, baseline) for agent, baseline in comparisons(agents)]
    table = pd.DataFrame(rows).assign(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, note=note)

    fig, (ax_iqm, ax_profile) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_iqm.set(
        xlabel=f"IQM of (score - random) / ({norms[0]} - random)",
        title="IQM, 95% stratified-bootstrap CI",
    )
    ax_profile.set(
        xlabel="normalised score tau",
        ylabel="fraction of runs with score > tau",
        title="Performance profiles",
    )
    short = f"undefined:\n{len(missing)} of {runs} runs have\nfewer than {WINDOW} episodes"
    for ax in (ax_iqm, ax_profile):
        ax.text(0.5, 0.5, short, transform=ax.transAxes, ha="center", va="center", fontsize=12)
    _save_figure(fig, [Path(stem).with_suffix(".png"), Path(stem).with_suffix(".pdf")])
    return table


PAPER_NORMS = ("paper DDQN", "paper i-DQN")
TRAINED_NORMS = ("our DDQN", "our i-DQN")


def normalisation_reference(
    scores: pd.DataFrame, reference: pd.DataFrame, games: Sequence[str]
) -> tuple[pd.DataFrame, tuple[str, str]]:
    """The (random, DDQN, i-DQN) scores the aggregate normalises by, and their names.

    The paper's (``reference``) when it has any of ``games``. A suite the paper never ran, such as
    MinAtar, has none; there the trained runs stand in, when the random, DDQN and i-DQN agents are
    all among them: per game, the mean over seeds of each one's score. Otherwise the paper's
    reference is returned as it is, and the aggregate says which games it lacks.
    """
    if any(game in reference.index for game in games):
        return reference, PAPER_NORMS
    means = scores.groupby(["agent", "game"])["best_100"].mean()
    needed = {"random": "random", "ddqn": "ddqn_10m", "idqn": "idqn_10m"}
    if not set(needed) <= set(scores["agent"]):
        return reference, PAPER_NORMS
    trained = pd.DataFrame(
        {column: means[agent].reindex(list(games)) for agent, column in needed.items()}
    )
    return trained, TRAINED_NORMS


def normaliser_note(normalised_by: str, name: str, norms: Sequence[str]) -> str:
    """The aggregate row's note when our own runs set the scale (:data:`TRAINED_NORMS`): the
    agent whose mean is the scale's 1, and our random agent, its 0, are there by construction."""
    if tuple(norms) != TRAINED_NORMS:
        return ""
    one = {"random -> our DDQN": label("ddqn"), "random -> our i-DQN": label("idqn")}
    if one.get(normalised_by) == name:
        return "1 by construction: this agent is the normaliser (its mean over seeds is 1 on every game)"
    if normalised_by in one and name == label("random"):
        return "0 by construction: this agent is the normaliser's zero (its mean over seeds is 0 on every game)"
    return ""


def aggregate(
    scores: pd.DataFrame,
    reference: pd.DataFrame,
    games: list[str],
    stem: Path,
    reps: int,
    seed: int = 0,
    agents: Sequence[str] | None = None,
) -> pd.DataFrame:
    """rliable: IQM with stratified-bootstrap CIs, performance profiles, P(agent > baseline).

    ``agents`` (default: those in ``scores``) are aggregated; P(agent > baseline) is estimated for
    each of them whose registry baseline is among them (:func:`comparisons`).

    Scores (best full-window 100-episode average per seed) are normalised two ways: by random and
    the paper's DDQN, ``(x - random) / (ddqn_10m - random)``, and by random and the paper's i-DQN;
    on games the paper never ran (MinAtar), by our own random, DDQN and i-DQN runs
    (:func:`normalisation_reference`).

    When any run has fewer than 100 episodes the aggregate is undefined: the table keeps its rows
    with NaN estimates and a ``note`` naming those runs, and the figure says so. rliable cannot
    take NaN, and dropping the short runs instead would leave a ragged runs x games matrix for the
    stratified bootstrap and keep only the runs whose episodes happen to be short, a biased
    sample; so nothing is estimated rather than something misleading.
    """
    seeds = sorted(scores["seed"].unique())
    reference, norms = normalisation_reference(scores, reference, games)
    # Normalisation needs random and reference scores per game (the paper has none for Pong).
    missing = [
        f"{game}: no paper reference to normalise by"
        for game in games
        if game not in reference.index
        or reference.loc[game, ["random", "ddqn_10m", "idqn_10m"]].isna().any()
    ]
    agents = _agents_of(scores, agents)
    for agent in agents:
        for game in games:
            for s in seeds:
                run = scores[
                    (scores["agent"] == agent) & (scores["game"] == game) & (scores["seed"] == s)
                ]
                if run.empty:
                    missing.append(f"{agent} {game} seed {s}: no run")
                elif pd.isna(run["best_100"].iloc[0]):
                    missing.append(f"{agent} {game} {shortfalls(run)[0]}")
    if missing:
        return _undefined_aggregate(
            missing, len(agents) * len(games) * len(seeds), stem, agents, norms
        )

    with _numpy_global_seed(seed):
        table, profiles = _bootstrap(scores, reference, games, agents, seeds, norms, reps, seed)

    taus, profile, profile_ci = profiles
    fig, (ax_iqm, ax_profile) = plt.subplots(1, 2, figsize=(11, 3.8))
    iqm = table[(table["metric"] == "IQM") & (table["normalised by"] == f"random -> {norms[0]}")]
    # Plain arrays: matplotlib reads a one-agent Series with float(), which pandas deprecates.
    estimate, low, high = (iqm[c].to_numpy() for c in ("estimate", "ci_low", "ci_high"))
    ax_iqm.errorbar(
        estimate,
        range(len(iqm)),
        xerr=[estimate - low, high - estimate],
        fmt="o",
        capsize=4,
    )
    ax_iqm.set_yticks(range(len(iqm)), iqm["agent"])
    ax_iqm.axvline(1.0, color="gray", linestyle="--", linewidth=1)
    ax_iqm.set(
        xlabel=f"IQM of (score - random) / ({norms[0]} - random)",
        title="IQM, 95% stratified-bootstrap CI",
    )
    for name, curve in profile.items():
        ax_profile.plot(taus, curve, label=name)
        ax_profile.fill_between(taus, profile_ci[name][0], profile_ci[name][1], alpha=0.2)
    ax_profile.set(
        xlabel="normalised score tau",
        ylabel="fraction of runs with score > tau",
        title="Performance profiles",
    )
    ax_profile.legend()
    _save_figure(fig, [Path(stem).with_suffix(".png"), Path(stem).with_suffix(".pdf")])
    return table


@contextmanager
def _numpy_global_seed(seed: int):
    """Keep numpy's global generator as it was around the bootstrap, which reseeds it.

    rliable's StratifiedBootstrap draws its resampling indices with ``np.random.choice``, numpy's
    global generator, not the ``random_state`` it is given, so unseeded, the aggregate's
    intervals change from one build to the next. :func:`_bootstrap` seeds it with ``seed`` before
    each estimate.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _bootstrap(
    scores: pd.DataFrame,
    reference: pd.DataFrame,
    games: list[str],
    agents: Sequence[str],
    seeds: list,
    norms: Sequence[str],
    reps: int,
    seed: int,
) -> tuple[pd.DataFrame, tuple]:
    """The aggregate's table (IQM and P(agent > baseline) with their CIs, normaliser notes) and
    the performance profiles normalised by ``norms[0]``."""
    from rliable import library as rly
    from rliable import metrics

    def estimate(entries: dict, metric) -> tuple[dict, dict]:
        """rliable's point estimates and CIs, every entry of ``entries`` from the same seed: each
        row's draws are its own, the same whichever agents are beside it (the peers' aggregate
        adds rows to the main one's)."""
        points, intervals = {}, {}
        for name, value in entries.items():
            np.random.seed(seed)
            point, interval = rly.get_interval_estimates(
                {name: value}, metric, reps=reps, random_state=np.random.RandomState(seed)
            )
            points[name], intervals[name] = point[name], interval[name]
        return points, intervals

    rows, profiles = [], {}
    for norm_name, column in zip(norms, ("ddqn_10m", "idqn_10m"), strict=True):
        score_dict = {}
        for agent in agents:
            matrix = np.full((len(seeds), len(games)), np.nan)
            for j, game in enumerate(games):
                low, high = reference.loc[game, "random"], reference.loc[game, column]
                values = scores[(scores["agent"] == agent) & (scores["game"] == game)].set_index(
                    "seed"
                )["best_100"]
                matrix[:, j] = [(values.get(s, np.nan) - low) / (high - low) for s in seeds]
            score_dict[label(agent)] = matrix
        point, interval = estimate(score_dict, lambda x: np.array([metrics.aggregate_iqm(x)]))
        for name in score_dict:
            rows.append(
                {
                    "normalised by": f"random -> {norm_name}",
                    "metric": "IQM",
                    "agent": name,
                    "estimate": point[name][0],
                    "ci_low": interval[name][0, 0],
                    "ci_high": interval[name][1, 0],
                }
            )
        if column == "ddqn_10m":
            taus = np.linspace(0.0, 3.0, 61)
            np.random.seed(seed)
            profiles = (taus, *rly.create_performance_profile(score_dict, taus, reps=reps))
            for agent, baseline in comparisons(agents):
                row = _improvement_row(agent, baseline)
                pair = {row["agent"]: (score_dict[label(agent)], score_dict[label(baseline)])}
                p_point, p_interval = estimate(pair, metrics.probability_of_improvement)
                value = np.ravel(p_point[row["agent"]])[0]
                low, high = np.ravel(p_interval[row["agent"]])
                rows.append(
                    row | {"estimate": float(value), "ci_low": float(low), "ci_high": float(high)}
                )
    table = pd.DataFrame(rows).assign(note="")
    table["note"] = [
        normaliser_note(row["normalised by"], row["agent"], norms) for _, row in table.iterrows()
    ]
    return table, profiles


def table2(agreement_files: Iterable[Path], reference_path: Path) -> pd.DataFrame:
    """Our agreement scores (%) per input and variant, beside the paper's Table 2."""
    import json

    reference = pd.read_csv(reference_path).set_index("input")
    rows = []
    for path in agreement_files:
        if not Path(path).is_file():
            raise UsageError(f"missing agreement result {path}")
        result = json.loads(Path(path).read_text())
        known = result["input"] in reference.index and result["variant"] in reference.columns
        paper = reference.loc[result["input"], result["variant"]] if known else np.nan
        rows.append(
            {
                "input": result["input"],
                "variant": result["variant"],
                "agreement (ours)": 100 * result["agreement"],
                "agreement (paper)": paper,
                "random": 100 * result["random"],
                # What a suggestion blind to the state, with the same action shares, would give.
                "chance (action shares)": 100 * result.get("chance", np.nan),
                "steps": result["steps"],
                "rollouts": result["rollouts"],
            }
        )
    return pd.DataFrame(rows).sort_values(["input", "variant"]).reset_index(drop=True)


# The builders that agents.outputs.OUTPUTS declares: each writes every file of its output next to
# ``out`` (a path without suffix) and returns their paths.


@dataclass(frozen=True)
class Runs:
    """What every run-based output is built from: the selected runs and the paper's numbers."""

    agents: list[str]
    games: list[str]
    seeds: list[int]
    episodes: pd.DataFrame  # :func:`load_episodes`
    scores: pd.DataFrame  # :func:`per_seed_scores`
    reference: pd.DataFrame  # :func:`read_reference`
    root: Path  # RUNS: RUNS/<agent>/<game>/s<seed>


def load_runs(
    runs_root: Path, agents: list[str], games: list[str], seeds: list[int], reference: Path
) -> Runs:
    """Every (agent, game, seed) run's episode log and scores, and the reference table.

    An agent neither in :data:`agents.registry.AGENTS` nor a peer baseline is a one-line
    :class:`UsageError`.
    """
    from agents.registry import PEER_LABELS

    for agent in agents:
        if agent not in PEER_LABELS:
            get_agent(agent)
    episodes = load_episodes(runs_root, agents, games, seeds)
    scores = per_seed_scores(episodes)
    return Runs(agents, games, seeds, episodes, scores, read_reference(reference), Path(runs_root))


def write_table1(runs: Runs, out: Path, caption: str) -> list[Path]:
    table = table1(runs.scores, runs.reference, runs.games, runs.agents)
    return write_table(table, out, caption)


def write_verdict(runs: Runs, out: Path, caption: str, tolerance: float) -> list[Path]:
    table = verdict_table(runs.scores, runs.reference, runs.games, tolerance, runs.agents)
    return write_table(table, out, caption)


def write_claims(runs: Runs, out: Path, caption: str) -> list[Path]:
    table = claims_table(runs.episodes, runs.scores, runs.games, runs.agents)
    return write_table(table, out, caption)


def write_milestones(
    runs: Runs, out: Path, caption: str, thresholds: Sequence[float] | None = None
) -> list[Path]:
    table = milestones_table(runs.episodes, runs.agents, runs.games, thresholds or ())
    return write_table(table, out, caption)


def write_figure8(
    runs: Runs, out: Path, caption: str, reference_curves: Path | None = None
) -> list[Path]:
    curves = None if reference_curves is None else read_reference_curves(reference_curves)
    paths = [Path(out).with_suffix(suffix) for suffix in (".png", ".pdf")]
    figure8(runs.episodes, runs.games, paths, reference_curves=curves)
    return paths


def write_diagnostics(runs: Runs, out: Path, caption: str) -> list[Path]:
    losses = load_losses(runs.root, runs.agents, runs.games, runs.seeds)
    paths = [Path(out).with_suffix(suffix) for suffix in (".png", ".pdf")]
    diagnostics_figure(runs.episodes, losses, runs.games, paths)
    return paths


def write_aggregate(runs: Runs, out: Path, caption: str, reps: int) -> list[Path]:
    table = aggregate(runs.scores, runs.reference, runs.games, out, reps, agents=runs.agents)
    return write_table(table, out, caption) + [
        Path(out).with_suffix(".png"),
        Path(out).with_suffix(".pdf"),
    ]


def write_table2(agreements: list[Path], reference: Path, out: Path, caption: str) -> list[Path]:
    return write_table(table2(agreements, reference), out, caption)
