"""The confirmatory study's budgets and power, from the pilot (docs/preregistration.md, "Power").

Reads the pilot's committed runs (results/minatar/runs, 3 seeds, 300K steps) and the fixed
anchors (data/minatar/reference_dqn.csv), then:

1. checks the budget rule: per game, the first read point at which the reference DQN reaches
   75% of its 5M value;
2. per game and test, the seeds' spread in normalised units and the smallest margin each test
   detects at 80% power (one-sided Welch at 0.025, the lower end of a 95% interval), and the
   power at the pre-registered margin;
3. the aggregate test's power by simulation: 5 seeds x 4 games per arm, no true difference,
   the IQM difference's stratified-bootstrap interval against the margin.

    python tools/confirmatory_power.py [--margin 0.2] [--studies 400] [--reps 2000]
    -> reports/confirmatory/power.csv, printed as a Markdown table
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from agents.confirmatory import detectable_margin
from agents.files import atomic_write_text
from agents.stats import step_window_mean

ROOT = Path(__file__).resolve().parent.parent
PILOT = ROOT / "results" / "minatar" / "runs"
ANCHORS = ROOT / "data" / "minatar" / "reference_dqn.csv"
SCORE_GAMES = ("MinAtar-Breakout", "MinAtar-Freeway", "MinAtar-SpaceInvaders", "MinAtar-Asterix")
READ_POINTS = {"dqn_0.3M": 300_000, "dqn_1M": 1_000_000, "dqn_2M": 2_000_000, "dqn_5M": 5_000_000}
PILOT_STEPS, EARLY_STEPS = 300_000, 100_000


def budget_by_rule(row: pd.Series) -> int | None:
    """The first read point where the reference DQN reaches 75% of its 5M value (None: only 5M)."""
    for column, steps in READ_POINTS.items():
        if steps < 5_000_000 and row[column] >= 0.75 * row["dqn_5M"]:
            return steps
    return None


def pilot_scores(agent: str, game: str, end: int) -> np.ndarray:
    """Per seed, the pilot's mean training return of the episodes ending in the last tenth of
    the first ``end`` steps (the confirmatory training statistic, at the pilot's budget)."""
    scores = []
    for seed in (0, 1, 2):
        log = pd.read_csv(PILOT / agent / game / f"s{seed}" / "episodes.csv")
        scores.append(step_window_mean(log["frame"], log["return"], end))
    return np.array(scores, dtype=float)


def power_at(margin: float, sd_a: float, sd_b: float, n_a: int, n_b: int) -> float:
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    return float(stats.nct.sf(stats.t.ppf(0.975, df), df, margin / se))


def iqm(x: np.ndarray) -> np.ndarray:
    """Interquartile mean over the last axis (rliable's definition: 25% trimmed each side)."""
    return stats.trim_mean(x, 0.25, axis=-1)


def aggregate_power(sds: dict[str, tuple[float, float]], margin: float, studies: int, reps: int):
    """Share of simulated studies (no true difference) whose IQM-difference interval clears
    ``-margin``: each arm 5 seeds per game, normal around the pilot's normalised game means."""
    rng = np.random.default_rng(0)
    cleared = 0
    for _ in range(studies):
        arms = []
        for which in (0, 1):
            # (games, seeds): the game's pilot mean for both arms (no true difference).
            runs = np.stack([rng.normal(mu, sd[which], 5) for mu, *sd in sds.values()])
            arms.append(runs)
        index = rng.integers(0, 5, size=(2, reps, len(sds), 5))  # stratified: seeds within games
        boot = [
            iqm(arm[np.arange(len(sds))[None, :, None], index[k]].reshape(reps, -1))
            for k, arm in enumerate(arms)
        ]
        lower = np.quantile(boot[0] - boot[1], 0.025)
        cleared += lower > -margin
    return cleared / studies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--margin", type=float, default=0.2)
    parser.add_argument("--studies", type=int, default=400)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "reports/confirmatory/power.csv")
    args = parser.parse_args()
    anchors = pd.read_csv(ANCHORS).set_index("game")
    rows, final_sds = [], {}
    for game, anchor in anchors.iterrows():
        rule = budget_by_rule(anchor)
        assert rule in (None, anchor["budget"]) or (rule is None and game == "MinAtar-Seaquest"), (
            f"{game}: the budget {anchor['budget']} does not follow the rule ({rule})"
        )
        if game not in SCORE_GAMES:
            continue
        scale = anchor["dqn_at_budget"] - anchor["random"]
        for test, end in (("final (claim 1)", PILOT_STEPS), ("early (claim 2)", EARLY_STEPS)):
            ddqn = pilot_scores("ddqn", game, end) / scale
            idqn = pilot_scores("idqn", game, end) / scale
            sd_i, sd_d = idqn.std(ddof=1), ddqn.std(ddof=1)
            if test.startswith("final"):
                final_sds[game] = (float(np.mean(ddqn)), sd_i, sd_d)
            rows.append(
                {
                    "game": game,
                    "test": test,
                    "pilot sd i-DQN": sd_i,
                    "pilot sd DDQN": sd_d,
                    "detectable margin, 5+5 seeds": detectable_margin(sd_i, sd_d, 5, 5),
                    "detectable margin, 3+3 seeds": detectable_margin(sd_i, sd_d, 3, 3),
                    f"power at {args.margin}, 5+5": power_at(args.margin, sd_i, sd_d, 5, 5),
                }
            )
    agg = aggregate_power(final_sds, args.margin, args.studies, args.reps)
    rows.append(
        {"game": "all four (IQM)", "test": "final (claim 1)", f"power at {args.margin}, 5+5": agg}
    )
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, table.to_csv(index=False, float_format="%.3f"))
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
