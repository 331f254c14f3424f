"""The confirmatory study's report: its runs -> the main table, the verdicts, the figures.

Applies the rules of docs/preregistration.md, and nothing else, to the runs under
``confirmatory.runs_dir`` (config/confirmatory.yaml):

    python -m agents confirmatory --config config/minatar.yaml config/confirmatory.yaml \
        --out reports/confirmatory

writes ``runs.csv`` (every run's statistics and CPU models), ``main.{csv,md}`` (mean and 95%
interval over seeds, per game and arm, raw and normalised), ``verdicts.{csv,md}`` (every
pre-registered test on the primary statistic, ``binding``, then on the secondary, with a
``note`` where the two disagree: its interval, margin, verdict, the margin the study's own
spread detects and, beside an aggregate, P(a > b) with its interval), ``verdicts.png`` (the
binding tests as a forest plot against their margins), ``curves.png``
(evaluation phases with the reference DQN marked) and ``aggregate.png`` (IQMs and performance
profiles), and ``reading.{csv,md}``: amendment 15's groups of claims, each read once every run of
its arms is in; until then its tests, rows and figures say "withheld" with no number. Inside a
read group, a test whose runs are not all complete reads "not yet"; nothing is judged on part of
the data.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.confirmatory import (
    MARGIN,
    SCORE_GAMES,
    STATISTICS,
    bootstrap_detectable_margin,
    change_verdict,
    detectable_margin,
    iqm,
    iqm_difference,
    normalise,
    probability_of_improvement,
    stratified_bootstrap,
    verdict,
    welch_interval,
)
from agents.errors import UsageError
from agents.files import atomic_save_figure, atomic_write_text
from agents.rundir import EVAL_PHASE_HEADER, log_with_header, read_episodes, read_log
from agents.runtable import is_failed_run
from agents.stats import best_and_final, in_step_window, step_window_mean

ANCHORS = Path(__file__).resolve().parent.parent / "data" / "minatar" / "reference_dqn.csv"
#: Young & Tian's actor-critic at 300K steps (amendment 5's learning test).
AC_LAMBDA = ANCHORS.with_name("ac_lambda_300k.csv")
#: Its whole curve to 2M steps, drawn beside the attention agent's, with no verdict (amendment 12).
AC_CURVE = ANCHORS.with_name("ac_lambda_curve.csv")
#: Amendment 5: Mott et al.'s claim is attention against no-attention on the former's games.
MOTT_ARMS = ("attention", "no-attention")
#: Its name in verdicts.csv's claim column.
MOTT_CLAIM = "Mott"
#: Amendment 5's arms of the attention agent (its above-random test spans both).
ATTENTION_ARMS = ("attention", "attention-3-seeds")
#: Amendment 5's learning test: the steps at which AC(lambda) is read, and its games.
AC_STEPS, AC_GAMES, AC_EPISODES = 300_000, ("MinAtar-Breakout", "MinAtar-SpaceInvaders"), 100
READ_POINTS = {"dqn_0.3M": 300_000, "dqn_1M": 1_000_000, "dqn_2M": 2_000_000, "dqn_5M": 5_000_000}
ARM_LABELS = {
    "ddqn": "DDQN",
    "idqn": "i-DQN",
    "sb3-dqn": "SB3 DQN",
    "idqn-original-code": "i-DQN (original code)",
    "idqn-vae-beta0": "i-DQN VAE beta=0",
    "idqn-vae-beta0.01": "i-DQN VAE beta=0.01",
    "idqn-dense-vae": "i-DQN Dense VAE",
    "idqn-no-diversity": "i-DQN lambda_4=0",
    "attention": "attention agent",
    "no-attention": "no-attention baseline",
    "attention-3-seeds": "attention agent (3 seeds)",
}

#: Amendment 15's reading groups, by name.
SCORE_CLAIMS, ATTENTION_GROUP, INTERPRETABILITY = (
    "score claims",
    "attention agent",
    "interpretability",
)
#: Amendment 15: the report reads the study in three groups, each at once when every run of its
#: arms (of those the study has) is finished, and shows nothing of a group before then: the
#: score claims (1, 2, S1, S2), the attention agent's (Mott et al.'s claim, AC(lambda), above
#: random, its maps) and amendment 1's interpretability claims (3, 4, 5, 7, 9 and A1.4's other
#: maps), which measure DDQN's and i-DQN's runs as well. An arm of no group is a group of its own.
READING_GROUPS: dict[str, tuple[str, ...]] = {
    SCORE_CLAIMS: ("ddqn", "idqn", "sb3-dqn", "idqn-original-code"),
    ATTENTION_GROUP: ("attention", "no-attention", "attention-3-seeds"),
    INTERPRETABILITY: (
        "ddqn",
        "idqn",
        "idqn-vae-beta0",
        "idqn-vae-beta0.01",
        "idqn-dense-vae",
        "idqn-no-diversity",
    ),
}
#: The group whose reading shows an arm's scores: its only group, and for DDQN and i-DQN, which
#: are in two, the score claims (their measures are the interpretability group's).
SCORE_GROUP = {
    arm: group for group, arms in READING_GROUPS.items() for arm in arms
} | dict.fromkeys(READING_GROUPS[SCORE_CLAIMS], SCORE_CLAIMS)


def measures_group(arm: str) -> str:
    """The group whose reading shows an arm's interpretability measures (amendment 15):
    amendment 5's arms are the attention agent's, every other measured arm amendment 1's."""
    return ATTENTION_GROUP if arm in READING_GROUPS[ATTENTION_GROUP] else INTERPRETABILITY


@dataclass(frozen=True)
class Study:
    """What config/confirmatory.yaml declares: where the runs are, budgets, arms."""

    runs_dir: Path
    budgets: dict[str, int]
    arms: dict[str, dict[str, Any]]
    #: The evaluation protocol (``phases``, ``episodes``) every finished run is checked against;
    #: None checks nothing (a study built for a test of one function).
    evaluation: dict[str, int] | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Study:
        if "confirmatory" not in config:
            raise UsageError("the config has no `confirmatory` section (config/confirmatory.yaml)")
        study = config["confirmatory"]
        return cls(
            Path(study["runs_dir"]),
            dict(study["budgets"]),
            dict(study["arms"]),
            dict(study["evaluation"]) if "evaluation" in study else _no_evaluation(),
        )

    def cells(self) -> list[tuple[str, str, int]]:
        return [
            (arm, game, seed)
            for arm, spec in self.arms.items()
            for game in spec.get("games", list(self.budgets))
            for seed in spec["seeds"]
        ]


def _no_evaluation() -> None:
    raise UsageError(
        "the config's `confirmatory` section has no `evaluation` (config/confirmatory.yaml): "
        "the runs cannot be checked against the protocol"
    )


def _check_phases(
    run_dir: Path, frames: pd.Series, budget: int, evaluation: dict[str, int]
) -> None:
    """A one-line error unless the run's evaluation phases are the pre-registered ones: one at
    every ``budget / phases`` steps, each of ``episodes`` episodes (docs/preregistration.md,
    "Protocol"). Every statistic below assumes it; a run that broke it needs an amendment, not
    a silent mean over whatever rows it has."""
    phases, episodes = evaluation["phases"], evaluation["episodes"]
    if budget % phases:
        raise UsageError(f"the budget {budget} is not a multiple of the {phases} phases")
    every = budget // phases  # where the runner plays them (agents.runtable)
    expected = {every * k: episodes for k in range(1, phases + 1)}
    found = {int(frame): int(count) for frame, count in frames.value_counts().items()}
    if found != expected:
        differ = sorted(
            f for f in found.keys() | expected.keys() if found.get(f) != expected.get(f)
        )
        shown = ", ".join(
            f"step {f}: {found.get(f, 0)} episodes, not {expected.get(f, 0)}" for f in differ[:3]
        )
        raise UsageError(
            f"{run_dir}/evals.csv: not {phases} phases of {episodes} episodes at every "
            f"{every} steps ({shown})"
        )


def _window_mean(run_dir: Path, episodes: pd.DataFrame, end: int, required: bool) -> float | None:
    """The training statistic (:func:`agents.stats.step_window_mean`) of a finished run. Where
    no episode ends in the window, an error if it is ``required`` (a pre-registered test reads
    it, and the pre-registration does not score that), and None (blank) if not (amendment 16)."""
    value = step_window_mean(episodes["frame"], episodes["return"], end)
    if value is None and required:
        raise UsageError(
            f"{run_dir}: no training episode ends in the last 10% of the first {end} steps; "
            "the pre-registration does not say how to score that (an amendment must)"
        )
    return value


def is_finished(run_dir: Path) -> bool:
    """Whether a run is finished: it has summary.json, or failed on a non-finite loss (it scores
    as random, as pre-registered). Both at once is an error: tools/collect_confirmatory.sh
    never collects a run twice."""
    complete, failed = (run_dir / "summary.json").is_file(), is_failed_run(run_dir)
    if complete and failed:
        raise UsageError(
            f"{run_dir} holds both summary.json and failed.json: it cannot be both finished and "
            "failed (tools/collect_confirmatory.sh never collects it twice)"
        )
    return complete or failed


def evaluation_frames(run_dir: Path) -> pd.Series:
    """The step of every evaluation episode of a finished run, read from ``evals.csv`` (plain or
    packed) without parsing any other column: where a withheld run's phases are, with no return
    read (amendment 17)."""
    import io

    data = log_with_header(run_dir / "evals.csv", EVAL_PHASE_HEADER)
    frames = pd.read_csv(io.BytesIO(data), usecols=["frame"])["frame"]
    if not pd.api.types.is_integer_dtype(frames):
        raise UsageError(
            f"corrupt data in run {run_dir}: evals.csv has a step that is not a whole number"
        )
    return frames


def check_protocol(
    run_dir: Path, frames: pd.Series, budget: int, evaluation: dict[str, int] | None = None
) -> None:
    """A one-line error unless a finished run's evaluation phases (``frames``, the step of each
    evaluation episode) end at the budget and, with ``evaluation``, are every one the
    protocol's (:func:`_check_phases`)."""
    last = frames.max()
    if last != budget:
        raise UsageError(
            f"{run_dir}: its last evaluation phase is at {last}, not the budget {budget}"
        )
    if evaluation is not None:
        _check_phases(run_dir, frames, budget, evaluation)


def run_statistics(
    run_dir: Path,
    budget: int,
    evaluation: dict[str, int] | None = None,
    read: Collection[str] | None = None,
) -> dict[str, Any]:
    """Every statistic of one run, its evaluation phases checked against ``evaluation`` when
    given. None where the run is not complete, or where a training window holds no episode end
    and ``read`` (the statistics a pre-registered test reads from this run,
    :func:`statistics_read`; default: all) does not name it (amendment 16)."""
    is_finished(run_dir)  # both markers: an error
    row: dict[str, Any] = {"complete": (run_dir / "summary.json").is_file(), "failed": False}
    row["cpu_models"] = (
        "; ".join(
            dict.fromkeys(
                i.get("cpu_model", "unknown")
                for i in json.loads((run_dir / "meta.json").read_text())["invocations"]
            )
        )
        if (run_dir / "meta.json").is_file()
        else ""
    )
    if not row["complete"]:
        row["failed"] = is_failed_run(run_dir)
        return row
    episodes = read_episodes(run_dir)
    evals = read_log(run_dir / "evals.csv", EVAL_PHASE_HEADER)
    check_protocol(run_dir, evals["frame"], budget, evaluation)
    first, last = evals["frame"].min(), evals["frame"].max()
    row |= {
        "final_eval": float(evals.loc[evals["frame"] == last, "return"].mean()),
        "early_eval": float(evals.loc[evals["frame"] == first, "return"].mean()),
        "train_last10": _window_mean(
            run_dir, episodes, budget, read is None or "train_last10" in read
        ),
        "train_early": _window_mean(
            run_dir, episodes, first, read is None or "train_early" in read
        ),
        "best_100": best_and_final(episodes["return"])[0],
    }
    return row


def load_study(study: Study, anchors: pd.DataFrame, withheld: Collection[str] = ()) -> pd.DataFrame:
    """One row per pre-registered run: arm, game, seed, completeness, raw and normalised
    statistics. A failed run enters with random's score (normalised 0), as pre-registered. The
    runs of the ``withheld`` arms (amendment 15) are not read: their rows say only whether
    each run is ``finished``."""
    rows = []
    read = statistics_read(study)
    for arm, game, seed in study.cells():
        run_dir = study.runs_dir / arm / game / f"s{seed}"
        row: dict[str, Any] = {"arm": arm, "game": game, "seed": seed, "withheld": arm in withheld}
        if arm in withheld:
            # Whether it failed is shown from its collection (amendment 9); no score is read.
            finished = is_finished(run_dir)
            row |= {"complete": False, "failed": is_failed_run(run_dir), "cpu_models": ""}
            row["finished"] = finished
            if finished and not row["failed"]:  # its phases, checked now (amendment 17)
                check_protocol(
                    run_dir, evaluation_frames(run_dir), study.budgets[game], study.evaluation
                )
        else:
            row |= (
                run_statistics(
                    run_dir, study.budgets[game], study.evaluation, read.get((arm, game), ())
                )
                if run_dir.is_dir()
                else {"complete": False, "failed": False, "cpu_models": ""}
            )
            row["finished"] = row["complete"] or row["failed"]
        random, reference = anchors.loc[game, "random"], anchors.loc[game, "dqn_at_budget"]
        for name in STATISTICS:
            raw = row.get(name)
            if row["failed"] and not row["withheld"]:
                raw = random
            row[name] = raw
            row[f"{name}_norm"] = None if raw is None else float(normalise(raw, random, reference))
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(values: pd.Series) -> tuple[float, float, float]:
    """Mean over seeds and its two-sided 95% Student-t interval."""
    from scipy import stats

    values = values.dropna().astype(float)
    if len(values) < 2:
        return (float(values.mean()) if len(values) else float("nan"), float("nan"), float("nan"))
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(values.mean() - half), float(values.mean() + half)


def main_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per game and arm: runs complete, and each statistic's mean [95% interval], raw and
    normalised."""
    rows = []
    for (game, arm), group in runs.groupby(["game", "arm"], sort=False):
        done = group[group["complete"] | group["failed"]]
        runs_in = f"{len(done)}/{len(group)}"
        if group["withheld"].any():  # amendment 15: its group is not read yet
            runs_in = f"withheld ({int(group['finished'].sum())}/{len(group)} finished)"
        row = {"game": game, "arm": ARM_LABELS.get(arm, arm), "runs": runs_in}
        for name in STATISTICS:
            for suffix in ("", "_norm"):
                values = done[f"{name}{suffix}"]
                # A cell where a finished run has no value (amendment 16) stays blank rather
                # than averaging fewer seeds than its `runs` column says.
                mean, low, high = _interval(values) if values.notna().all() else (float("nan"),) * 3
                row[f"{name}{suffix}"] = mean
                row[f"{name}{suffix}_low"], row[f"{name}{suffix}_high"] = low, high
        rows.append(row)
    return pd.DataFrame(rows)


def _scores(runs: pd.DataFrame, arm: str, games: tuple[str, ...], column: str) -> pd.DataFrame:
    """(seed x game) scores of ``arm`` on ``games``; complete (or failed) runs only."""
    chosen = runs[(runs["arm"] == arm) & runs["game"].isin(games)]
    return chosen.pivot(index="seed", columns="game", values=column)[list(games)]


@dataclass(frozen=True)
class Test:
    """One pre-registered test: which claim, arms, games, statistic, kind and margin."""

    claim: str
    a: str
    b: str
    games: tuple[str, ...]
    statistic: str
    kind: str
    margin: float
    aggregate: bool


def _verdict_of(test: Test, lower: float, upper: float) -> str:
    if test.kind == "change":
        return change_verdict(lower, upper, test.margin)
    return verdict(lower, upper, test.margin, test.kind)


def _power_per_side(test: Test) -> float:
    """The one-sided power behind a test's detectable margin, for 80% power overall (amendment
    8): 0.8 for a one-sided test; 0.9 where a verdict needs the interval inside (-m, m), both
    sides at once (equivalence, and S1's "no change"), since 1 - 2 * 0.1 = 0.8."""
    return 0.9 if test.kind in ("equivalence", "change") else 0.8


def run_test(runs: pd.DataFrame, test: Test, withheld: str = "") -> dict[str, Any]:
    """The test's estimate, 95% interval and verdict, or "not yet" while runs are missing, or
    ``withheld`` (the text of :func:`withheld_texts`) while its group is not read."""
    column = f"{test.statistic}_norm"
    a, b = _scores(runs, test.a, test.games, column), _scores(runs, test.b, test.games, column)
    expected = sum(
        ((runs["arm"] == arm) & runs["game"].isin(test.games)).sum() for arm in (test.a, test.b)
    )
    complete = int(a.notna().to_numpy().sum() + b.notna().to_numpy().sum())
    row = {
        "claim": test.claim,
        "scope": "aggregate (IQM)" if test.aggregate else test.games[0],
        "statistic": test.statistic,
        "a": ARM_LABELS[test.a],
        "b": ARM_LABELS[test.b],
        "kind": test.kind,
        "margin": test.margin,
        "runs": f"{complete}/{expected}",
    }
    if withheld:
        return row | {"runs": "", "verdict": withheld}
    if complete < expected:
        return row | {"verdict": f"not yet ({complete} of {expected} runs)"}
    a_values, b_values = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    improvement = {}
    if test.aggregate:
        estimate = float(iqm(a_values.ravel()) - iqm(b_values.ravel()))
        draws = stratified_bootstrap(a_values, b_values, iqm_difference)
        lower, upper = (float(q) for q in np.quantile(draws, [0.025, 0.975]))
        detectable = bootstrap_detectable_margin(draws, _power_per_side(test))
        improvement = dict(
            zip(
                ("p_improvement", "p_improvement_low", "p_improvement_high"),
                probability_of_improvement(a_values, b_values),
                strict=True,
            )
        )
    else:
        estimate, lower, upper = welch_interval(a_values.ravel(), b_values.ravel())
        sd_a, sd_b = a_values.std(ddof=1), b_values.std(ddof=1)
        detectable = (
            detectable_margin(sd_a, sd_b, len(a_values), len(b_values), _power_per_side(test))
            if sd_a + sd_b > 0
            else 0.0
        )
    return (
        row
        | {
            "estimate": estimate,
            "lower": lower,
            "upper": upper,
            "detectable_margin_80": detectable,
            "verdict": _verdict_of(test, lower, upper),
        }
        | improvement
    )


#: Each primary statistic's secondary (docs/preregistration.md: every test is computed on both).
SECONDARY = {"final_eval": "train_last10", "early_eval": "train_early"}


def preregistered_tests(study: Study) -> list[Test]:
    """Every test of docs/preregistration.md and its amendments on the primary statistic, each
    followed by the same test on the secondary statistic (reported, not binding)."""
    primary = []
    for claim, statistic, kinds in (
        ("1", "final_eval", ("non-inferiority",)),
        ("2", "early_eval", ("non-inferiority", "superiority")),
    ):
        for kind in kinds:
            margin = MARGIN if kind == "non-inferiority" else 0.0
            primary.append(Test(claim, "idqn", "ddqn", SCORE_GAMES, statistic, kind, margin, True))
            if kind == "non-inferiority":
                primary += [
                    Test(claim, "idqn", "ddqn", (g,), statistic, kind, margin, False)
                    for g in SCORE_GAMES
                ]
    for game in study.arms.get("idqn-original-code", {}).get("games", []):
        arm = "idqn-original-code"
        primary.append(Test("S1", arm, "idqn", (game,), "final_eval", "change", MARGIN, False))
        primary.append(
            Test("S1", arm, "ddqn", (game,), "final_eval", "non-inferiority", MARGIN, False)
        )
    if "sb3-dqn" in study.arms:
        kind = "equivalence"
        primary.append(Test("S2", "ddqn", "sb3-dqn", SCORE_GAMES, "final_eval", kind, MARGIN, True))
        primary += [
            Test("S2", "ddqn", "sb3-dqn", (g,), "final_eval", kind, MARGIN, False)
            for g in SCORE_GAMES
        ]
    if all(arm in study.arms for arm in MOTT_ARMS):  # amendment 5, A5.2
        games = tuple(study.arms["attention"].get("games", study.budgets))
        kind = "non-inferiority"
        primary.append(Test(MOTT_CLAIM, *MOTT_ARMS, games, "final_eval", kind, MARGIN, True))
        primary += [
            Test(MOTT_CLAIM, *MOTT_ARMS, (g,), "final_eval", kind, MARGIN, False) for g in games
        ]
    return [
        test
        for first in primary
        for test in (first, replace(first, statistic=SECONDARY[first.statistic]))
    ]


def statistics_read(study: Study) -> dict[tuple[str, str], set[str]]:
    """(arm, game) -> the statistics some pre-registered test reads from its runs: those a run
    must define (amendment 16). The tests of :func:`preregistered_tests`, on either side,
    primary or secondary; and the above-random test (:func:`above_random_test`), which reads
    the attention agent's training episodes in the window of ``train_last10``."""
    read: dict[tuple[str, str], set[str]] = {}
    for test in preregistered_tests(study):
        for arm in (test.a, test.b):
            for game in test.games:
                read.setdefault((arm, game), set()).add(test.statistic)
    for arm in (arm for arm in ATTENTION_ARMS if arm in study.arms):
        for game in study.arms[arm].get("games", study.budgets):
            read.setdefault((arm, game), set()).add("train_last10")
    return read


def carries_claim(test: Test) -> bool:
    """Whether the test's verdict is its claim's (amendment 10): on the primary statistic, the
    aggregate test of claims 1 and 2 (both readings of claim 2), S2 and Mott's claim, and S1's
    test of a change, one verdict per game. Every other row says where, not whether: the
    per-game tests, S1 against DDQN, and the secondary statistic's rows."""
    if test.statistic not in SECONDARY:
        return False
    if test.claim == "S1":
        return test.kind == "change"
    return test.aggregate


def verdict_table(
    runs: pd.DataFrame, tests: list[Test], withheld: dict[str, str] | None = None
) -> pd.DataFrame:
    """Every test's row (:func:`run_test`), with ``binding`` (the primary statistic's verdict is
    the test's; the secondary's is reported beside it), ``carries_claim`` (:func:`carries_claim`)
    and ``note``, which says where a secondary verdict disagrees with its primary's, as the
    pre-registration asks. ``withheld`` (arm -> text) withholds every test of those arms."""
    withheld = withheld or {}
    rows = [
        run_test(runs, test, withheld.get(test.a) or withheld.get(test.b) or "") for test in tests
    ]
    primary_verdicts = {}
    for test, row in zip(tests, rows, strict=True):
        row["binding"] = test.statistic in SECONDARY
        row["carries_claim"] = carries_claim(test)
        row["note"] = ""
        key = (test.claim, row["scope"], test.a, test.b, test.kind)
        if row["binding"]:
            primary_verdicts[key] = row["verdict"]
            continue
        first, second = primary_verdicts[key], row["verdict"]
        if first != second and not (first.startswith("not yet") or second.startswith("not yet")):
            row["note"] = f"disagrees with the primary statistic ({first})"
    table = pd.DataFrame(rows)
    for column in ("estimate", "lower", "upper", "detectable_margin_80"):
        if column not in table:  # every test withheld or not yet: the columns still there
            table[column] = float("nan")
    return table


def _complete_runs(study: Study, arm: str, game: str) -> tuple[list[Path], int]:
    """The finished run directories of ``arm`` on ``game`` (a failed run is finished: it scores
    as random, as pre-registered) and how many the study has."""
    seeds = study.arms[arm]["seeds"]
    folders = [study.runs_dir / arm / game / f"s{seed}" for seed in seeds]
    return [f for f in folders if is_finished(f)], len(seeds)


def reading_table(study: Study) -> pd.DataFrame:
    """Amendment 15: each reading group the study has (:data:`READING_GROUPS`), its arms, its
    runs ``finished`` (a failed run is finished) of those ``expected``, and whether the report
    reads it now (``read``: every run finished). Reads no run's results."""
    groups = {
        name: [arm for arm in arms if arm in study.arms] for name, arms in READING_GROUPS.items()
    }
    grouped = {arm for arms in READING_GROUPS.values() for arm in arms}
    groups |= {arm: [arm] for arm in study.arms if arm not in grouped}
    rows = []
    for name, arms in groups.items():
        if not arms:
            continue
        counts = [
            _complete_runs(study, arm, game)
            for arm in arms
            for game in study.arms[arm].get("games", study.budgets)
        ]
        finished, expected = sum(len(done) for done, _ in counts), sum(n for _, n in counts)
        rows.append(
            {
                "group": name,
                "arms": ", ".join(arms),
                "finished": finished,
                "expected": expected,
                "read": finished == expected,
            }
        )
    return pd.DataFrame(rows, columns=["group", "arms", "finished", "expected", "read"])


def withheld_texts(reading: pd.DataFrame) -> dict[str, str]:
    """Each group the report withholds (:func:`reading_table`) -> what its verdicts read."""
    return {
        row.group: f"not yet (withheld: {row.finished} of {row.expected} runs of the "
        f"{row.group} group finished)"
        for row in reading.itertuples()
        if not is_true(row.read)
    }


def withheld_arms(study: Study, texts: dict[str, str]) -> dict[str, str]:
    """Each arm whose scores the report withholds (its :data:`SCORE_GROUP` is in ``texts``) ->
    what its tests read."""
    return {
        arm: texts[SCORE_GROUP.get(arm, arm)]
        for arm in study.arms
        if SCORE_GROUP.get(arm, arm) in texts
    }


def ac_lambda_test(
    study: Study, steps: int = AC_STEPS, episodes_read: int = AC_EPISODES, withheld: str = ""
) -> pd.DataFrame:
    """Amendment 5: per game, the attention agent's mean training return of the last 100
    episodes that end by step 300,000 (AC(lambda)'s own statistic, at its frames), over seeds,
    with its 95% t-interval; **holds** if the interval's upper end reaches AC(lambda=0.8). The
    last row is the claim's verdict (amendment 10): holds if it holds on every game. A finished
    run with fewer than 100 episodes by then is an error: the amendment reads 100. Every row
    reads ``withheld`` while the attention agent's group is not read (amendment 15)."""
    reference = pd.read_csv(AC_LAMBDA)
    rows = []
    for game in AC_GAMES:
        if "attention" not in study.arms or game not in study.arms["attention"].get(
            "games", study.budgets
        ):
            continue
        target = float(
            reference.loc[
                (reference["game"] == game) & (reference["agent"] == "AC(0.8)"), "return_300k"
            ].item()
        )
        done, expected = _complete_runs(study, "attention", game)
        row = {"game": game, "runs": f"{len(done)}/{expected}", "ac_lambda_300k": target}
        if withheld:
            rows.append(row | {"runs": "", "verdict": withheld})
            continue
        if len(done) < expected:
            rows.append(row | {"verdict": f"not yet ({len(done)} of {expected} runs)"})
            continue
        scores = []
        random = float(pd.read_csv(ANCHORS).set_index("game").loc[game, "random"])
        for folder in done:
            if is_failed_run(folder):
                scores.append(random)
                continue
            episodes = read_episodes(folder)
            by_then = episodes.loc[episodes["frame"] <= steps, "return"]
            if len(by_then) < episodes_read:
                raise UsageError(
                    f"{folder}: {len(by_then)} training episodes end by step {steps}, not the "
                    f"{episodes_read} amendment 5's AC(lambda) test reads"
                )
            scores.append(float(by_then.iloc[-episodes_read:].mean()))
        mean, lower, upper = _interval(pd.Series(scores))
        verdict = "holds" if upper >= target else "does not hold"
        rows.append(row | {"mean": mean, "lower": lower, "upper": upper, "verdict": verdict})
    if rows:
        verdicts = [row["verdict"] for row in rows]
        waiting = sum(v.startswith("not yet") for v in verdicts)
        combined = (
            withheld
            if withheld
            else f"not yet ({len(verdicts) - waiting} of {len(verdicts)} games complete)"
            if waiting
            else "holds"
            if all(v == "holds" for v in verdicts)
            else "does not hold"
        )
        label = "both games" if len(verdicts) == 2 else f"all {len(verdicts)} games"
        rows.append({"game": label, "verdict": combined})
    return pd.DataFrame(rows)


def above_random_test(
    study: Study, pilot_runs: Path, alpha: float = 0.05, withheld: str = ""
) -> pd.DataFrame:
    """Amendment 5: per game, whether every seed of the attention agent's arm there is above
    random: its training episodes ending in the last 10% of the budget's steps against the
    pilot's uniform-random episodes of the game, one-sided Welch t-test at ``alpha``. The last
    row: **holds** if at least 4 of the 5 games count; ``withheld`` while the attention agent's
    group is not read (amendment 15), with no game's result."""
    from scipy import stats

    rows = []
    for arm in ATTENTION_ARMS:
        if arm not in study.arms:
            continue
        for game in study.arms[arm].get("games", study.budgets):
            done, expected = _complete_runs(study, arm, game)
            row = {"arm": ARM_LABELS[arm], "game": game, "runs": f"{len(done)}/{expected}"}
            if withheld or len(done) < expected:
                rows.append(row | {"every_seed_above_random": None})
                continue
            random_returns = np.concatenate(
                [
                    read_episodes(folder)["return"].to_numpy(dtype=float)
                    for folder in sorted((pilot_runs / "random" / game).glob("s*"))
                ]
            )
            if len(random_returns) == 0:
                raise UsageError(f"no random-policy runs of {game} under {pilot_runs / 'random'}")
            above = []
            for folder in done:
                if is_failed_run(folder):
                    above.append(False)
                    continue
                episodes = read_episodes(folder)
                window = in_step_window(episodes["frame"], study.budgets[game])
                returns = episodes.loc[window, "return"]
                if len(returns) < 2:  # Welch's test would give NaN, silently "not above"
                    raise UsageError(
                        f"{folder}: {len(returns)} training episodes end in the last 10% of "
                        f"{study.budgets[game]} steps, fewer than the 2 the above-random test "
                        "needs; the pre-registration does not say how to score that"
                    )
                test = stats.ttest_ind(
                    returns.to_numpy(dtype=float),
                    random_returns,
                    equal_var=False,
                    alternative="greater",
                )
                above.append(bool(test.pvalue < alpha))
            rows.append(
                row
                | {
                    "seeds_above_random": f"{sum(above)}/{len(above)}",
                    "every_seed_above_random": all(above),
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    counted = table["every_seed_above_random"]
    if withheld:
        verdict = withheld
        table["runs"] = ""
    elif counted.isna().any():
        verdict = f"not yet ({int(counted.notna().sum())} of {len(counted)} games complete)"
    else:
        games = int(counted.astype(bool).sum())
        verdict = f"{'holds' if games >= 4 else 'does not hold'} ({games} of {len(counted)} games)"
    summary = {"arm": "attention agent", "game": "at least 4 of 5 games", "verdict": verdict}
    return pd.concat([table, pd.DataFrame([summary])], ignore_index=True)


def _markdown(table: pd.DataFrame) -> str:
    """The table in markdown, 3 decimals, an empty cell where a value is missing (not "nan")."""
    shown = table.astype(object).where(table.notna(), None)
    return shown.to_markdown(index=False, floatfmt=".3f", missingval="") + "\n"


def _write_table(table: pd.DataFrame, stem: Path) -> list[Path]:
    paths = [stem.with_suffix(".csv"), stem.with_suffix(".md")]
    atomic_write_text(paths[0], table.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(paths[1], _markdown(table))
    return paths


def curves_figure(
    study: Study,
    runs: pd.DataFrame,
    anchors: pd.DataFrame,
    path: Path,
    withheld: dict[str, str] | None = None,
) -> Path:
    """Evaluation phases per game: mean over complete seeds with a min-max band, per arm;
    the reference DQN's read points (x) and random play (dashed) marked. The ``withheld`` arms
    (amendment 15) are named under the figure, with no curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    games = list(study.budgets)
    fig, axes = plt.subplots(1, len(games), figsize=(4 * len(games), 3.4))
    for ax, game in zip(np.atleast_1d(axes), games, strict=True):
        for arm in study.arms:
            done = runs[(runs["arm"] == arm) & (runs["game"] == game) & runs["complete"]]
            if done.empty:
                continue
            curves = []
            for seed in done["seed"]:
                evals = read_log(
                    study.runs_dir / arm / game / f"s{seed}" / "evals.csv", EVAL_PHASE_HEADER
                )
                curves.append(evals.groupby("frame")["return"].mean())
            table = pd.concat(curves, axis=1)
            ax.plot(table.index, table.mean(axis=1), label=f"{ARM_LABELS[arm]} ({len(curves)})")
            ax.fill_between(table.index, table.min(axis=1), table.max(axis=1), alpha=0.15)
        anchor = anchors.loc[game]
        budget = study.budgets[game]
        points = {steps: anchor[col] for col, steps in READ_POINTS.items() if steps < budget}
        points[budget] = anchor["dqn_at_budget"]  # the normaliser's value, at the budget
        ax.scatter(
            list(points),
            list(points.values()),
            marker="x",
            color="black",
            label="reference DQN",
            zorder=3,
        )
        ax.axhline(anchor["random"], color="gray", linestyle="--", linewidth=1, label="random")
        ax.set(title=game.removeprefix("MinAtar-"), xlabel="agent steps")
    np.atleast_1d(axes)[0].set_ylabel("greedy evaluation return")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    if withheld:
        names = ", ".join(ARM_LABELS.get(arm, arm) for arm in withheld)
        fig.text(0.5, 0.0, f"withheld (amendment 15), no curve: {names}", ha="center", fontsize=8)
        fig.subplots_adjust(bottom=0.22)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_figure(fig, path)
    return path


def attention_curves_figure(
    study: Study, anchors: pd.DataFrame, path: Path, withheld: str = ""
) -> Path:
    """Amendment 5: the training return of the attention agent and its no-attention baseline,
    per game (the mean of the episodes ending in each 50K-step bin, averaged over the complete
    seeds, with a min-max band), beside Young & Tian's AC(lambda): its curve (amendment 12), and
    its 300K value that amendment 5's test reads, each with its reading uncertainty; and the
    reference DQN's read points: curves at equal frames. While the attention agent's group is
    not read (amendment 15), the figure says ``withheld`` and draws no curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if withheld:
        return _text_figure(withheld, path)
    arms = [arm for arm in (*ATTENTION_ARMS, "no-attention") if arm in study.arms]
    games = [
        g
        for g in study.budgets
        if any(g in study.arms[a].get("games", study.budgets) for a in arms)
    ]
    reference, ac_curve = pd.read_csv(AC_LAMBDA), pd.read_csv(AC_CURVE)
    fig, axes = plt.subplots(1, max(len(games), 1), figsize=(4 * max(len(games), 1), 3.4))
    axes = np.atleast_1d(axes)
    for ax, game in zip(axes, games, strict=False):
        for arm in arms:
            if game not in study.arms[arm].get("games", study.budgets):
                continue
            done, _ = _complete_runs(study, arm, game)
            curves = []
            for folder in done:
                if is_failed_run(folder):
                    continue
                episodes = read_episodes(folder)
                bins = (episodes["frame"] - 1) // 50_000
                curves.append(episodes.groupby(bins)["return"].mean())
            if not curves:
                continue
            table = pd.concat(curves, axis=1)
            steps = (table.index + 1) * 50_000
            ax.plot(steps, table.mean(axis=1), label=f"{ARM_LABELS[arm]} ({len(curves)})")
            ax.fill_between(steps, table.min(axis=1), table.max(axis=1), alpha=0.15)
        curve = ac_curve[(ac_curve["game"] == game) & (ac_curve["step"] <= study.budgets[game])]
        if not curve.empty:
            ax.plot(curve["step"], curve["return"], color="black", linewidth=1, label="AC(lambda)")
            ax.fill_between(
                curve["step"],
                curve["return"] - curve["uncertainty"],
                curve["return"] + curve["uncertainty"],
                color="black",
                alpha=0.1,
                linewidth=0,
            )
        ac = reference[(reference["game"] == game) & (reference["agent"] == "AC(0.8)")]
        if not ac.empty:
            ax.errorbar(
                [AC_STEPS],
                ac["return_300k"],
                yerr=ac["uncertainty"],
                fmt="o",
                color="black",
                capsize=3,
                label="AC(lambda) at 300K (the test's)",
                zorder=3,
            )
        anchor = anchors.loc[game]
        points = {
            steps: anchor[col] for col, steps in READ_POINTS.items() if steps <= study.budgets[game]
        }
        ax.scatter(
            list(points), list(points.values()), marker="x", color="gray", label="reference DQN"
        )
        ax.axhline(anchor["random"], color="gray", linestyle="--", linewidth=1, label="random")
        ax.set(title=game.removeprefix("MinAtar-"), xlabel="agent steps")
    axes[0].set_ylabel("training return (50K-step bins)")
    if games:
        axes[0].legend(fontsize=7)
    else:
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "no attention-agent arms in this study", ha="center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_figure(fig, path)
    return path


def _text_figure(text: str, path: Path) -> Path:
    """A figure that only says ``text``: what a figure shows before its runs are in or read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 3.8))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, wrap=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_save_figure(fig, path)


def aggregate_figure(
    runs: pd.DataFrame, study: Study, path: Path, withheld: dict[str, str] | None = None
) -> Path:
    """IQM of the normalised final evaluation over the score games per arm (95% stratified
    bootstrap), and rliable's performance profiles. Until every arm's runs are complete the
    figure says "not yet" and how many runs are in, as the verdicts do: no partial aggregate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rliable.library import score_distributions

    arms = [
        a for a in study.arms if set(study.arms[a].get("games", study.budgets)) >= set(SCORE_GAMES)
    ]
    if held := [withheld[arm] for arm in arms if arm in (withheld or {})]:
        return _text_figure(held[0], path)
    tables = {ARM_LABELS[arm]: _scores(runs, arm, SCORE_GAMES, "final_eval_norm") for arm in arms}
    expected = sum(len(study.arms[arm]["seeds"]) * len(SCORE_GAMES) for arm in arms)
    complete = sum(int(table.notna().to_numpy().sum()) for table in tables.values())
    if complete < expected:
        return _text_figure(
            f"not yet: {complete} of {expected} runs of the aggregate are complete", path
        )
    scores = {label: table.to_numpy(dtype=float) for label, table in tables.items()}
    fig, (ax_iqm, ax_profile) = plt.subplots(1, 2, figsize=(11, 3.8))
    for y, values in enumerate(scores.values()):
        draws = stratified_bootstrap(values, values, lambda a, b: iqm(a.reshape(len(a), -1)))
        low, high = np.quantile(draws, [0.025, 0.975])
        point = float(iqm(values.ravel()))
        ax_iqm.errorbar(point, y, xerr=[[point - low], [high - point]], fmt="o", capsize=4)
    ax_iqm.set_yticks(range(len(scores)), list(scores))
    ax_iqm.axvline(1.0, color="gray", linestyle="--", linewidth=1)
    ax_iqm.set(
        xlabel="IQM of (score - random) / (reference DQN - random)", title="IQM, nominal 95% CI"
    )
    taus = np.linspace(0.0, 2.0, 81)
    for label, values in scores.items():
        ax_profile.plot(taus, score_distributions(values, taus), label=label)
    ax_profile.set(
        xlabel="normalised score tau", ylabel="fraction of runs > tau", title="performance profiles"
    )
    ax_profile.legend(fontsize=8)
    fig.tight_layout()
    atomic_save_figure(fig, path)
    return path


#: The verdicts' colours in :func:`verdicts_figure`.
VERDICT_COLOURS = {"holds": "tab:green", "does not hold": "tab:red", "inconclusive": "tab:gray"}
#: The lines each kind of test reads its interval against, in units of its margin m.
RULE_LINES = {
    "non-inferiority": (-1.0,),
    "superiority": (1.0,),
    "equivalence": (-1.0, 1.0),
    "change": (-1.0, 0.0, 1.0),  # S1: holds when 0 is excluded; no change inside (-m, m)
}


def is_true(value: object) -> bool:
    """A flag of ``verdicts.csv`` (``binding``, ``carries_claim``), as built or read back from
    the CSV, where pandas may give a bool or the text "True"."""
    return str(value) == "True"


def forest_rows(verdicts: pd.DataFrame) -> list[dict[str, Any]]:
    """What :func:`verdicts_figure` draws, one entry per binding test in table order: its
    ``label``, the x of the ``lines`` its rule reads, its ``verdict`` and ``interval``
    (estimate, lower, upper), None while the test reads "not yet"."""
    rows = []
    for row in verdicts[verdicts["binding"].map(is_true)].itertuples():
        verdict = str(row.verdict)
        rows.append(
            {
                "label": f"{row.claim}: {row.a} vs {row.b}, {row.kind}, {row.scope}".replace(
                    "MinAtar-", ""
                ),
                "carries_claim": is_true(getattr(row, "carries_claim", False)),
                "lines": [side * float(row.margin) for side in RULE_LINES[row.kind]],
                "verdict": verdict,
                "interval": None
                if verdict.startswith("not yet")
                else (float(row.estimate), float(row.lower), float(row.upper)),
            }
        )
    return rows


def verdicts_figure(verdicts: pd.DataFrame, path: Path) -> Path:
    """Every binding score test as a forest plot (:func:`forest_rows`): the difference a - b in
    normalised score with its 95% interval, coloured by verdict, beside the lines its rule reads
    (black). A test whose runs are not all in reads "not yet" in place of its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = forest_rows(verdicts)
    fig, ax = plt.subplots(figsize=(9, 0.32 * max(len(rows), 3) + 1.2))
    ax.axvline(0.0, color="lightgray", linestyle=":", linewidth=1)
    for y, row in enumerate(rows):
        for x in row["lines"]:
            ax.plot([x, x], [y - 0.4, y + 0.4], color="black", linewidth=1)
        if row["interval"] is None:
            ax.annotate(row["verdict"], (0.0, y), fontsize=7, va="center", ha="center", c="gray")
            continue
        estimate, lower, upper = row["interval"]
        colour = VERDICT_COLOURS.get(row["verdict"], "black")
        ax.errorbar(
            estimate,
            y,
            # A bootstrap percentile interval need not hold its point estimate: clip at 0.
            xerr=[[max(estimate - lower, 0.0)], [max(upper - estimate, 0.0)]],
            fmt="o",
            color=colour,
            capsize=3,
            markersize=4,
        )
        ax.annotate(
            row["verdict"],
            (1.01, y),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            va="center",
            color=colour,
        )
    ax.set_yticks(range(len(rows)), [row["label"] for row in rows], fontsize=7)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_fontweight("bold" if row["carries_claim"] else "normal")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set(
        xlabel="difference a - b, normalised score (0 random, 1 the reference DQN),\n"
        "with its nominal 95% interval",
    )
    # Over the whole figure: the test names take its left half.
    fig.suptitle(
        "The score claims: each test on the primary statistic against the lines of its rule "
        "(black);\nin bold, the tests whose verdict is the claim's",
        fontsize=11,
    )
    fig.tight_layout()
    return atomic_save_figure(fig, path)


def build(config: dict[str, Any], out: Path, reading: pd.DataFrame | None = None) -> list[Path]:
    """Everything of the report, from the runs on disk (complete or not), but what ``reading``
    (:func:`reading_table`, taken here when not given) withholds. The pilot's runs
    (``runs_dir``, config/minatar.yaml) give amendment 5's random-policy episodes."""
    study = Study.from_config(config)
    anchors = pd.read_csv(ANCHORS).set_index("game")
    reading = reading_table(study) if reading is None else reading
    texts = withheld_texts(reading)
    hidden = withheld_arms(study, texts)
    # Every table before any file: a run the rules do not cover stops the report before it
    # writes a verdict beside older ones.
    runs = load_study(study, anchors, hidden)
    verdicts = verdict_table(runs, preregistered_tests(study), hidden)
    # Amendment 5's tests of the attention agent (empty tables for a study without its arms).
    attention = texts.get(ATTENTION_GROUP, "")
    ac_lambda = ac_lambda_test(study, withheld=attention)
    pilot = Path(config.get("runs_dir", "results/minatar/runs"))
    above_random = above_random_test(study, pilot, withheld=attention)
    out.mkdir(parents=True, exist_ok=True)
    paths = _write_table(reading, out / "reading")
    paths += _write_table(runs, out / "runs")
    paths += _write_table(main_table(runs), out / "main")
    paths += _write_table(verdicts, out / "verdicts")
    paths += _write_table(ac_lambda, out / "attention-ac-lambda")
    paths += _write_table(above_random, out / "attention-above-random")
    paths.append(verdicts_figure(verdicts, out / "verdicts.png"))
    paths.append(curves_figure(study, runs, anchors, out / "curves.png", hidden))
    paths.append(aggregate_figure(runs, study, out / "aggregate.png", hidden))
    paths.append(attention_curves_figure(study, anchors, out / "attention-curves.png", attention))
    return paths
