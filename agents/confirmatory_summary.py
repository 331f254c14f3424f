"""One page of the confirmatory study's verdicts, quoted from the report's own tables.

``python -m agents confirmatory`` writes it as ``OUT/summary.md`` once the tables it reads are
written: the runs in, every binding score verdict with its interval, power and secondary
statistic, the main table, amendment 1's interpretability verdicts, amendment 5's tests of the
attention agent and where the agents look. ``docs/reproduction.md`` carries the same text between
two markers, put there by ``python -m agents confirmatory-summary --doc docs/reproduction.md``
(with ``--check``, it only says whether the copy is current). So the docs quote the report's
numbers and never retype them.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from agents.confirmatory_report import ARM_LABELS, is_true
from agents.errors import UsageError
from agents.files import atomic_write_text

BEGIN = "<!-- confirmatory summary: begin (python -m agents confirmatory-summary; do not edit) -->"
END = "<!-- confirmatory summary: end -->"
#: What the docs' block holds until the report is built from the complete study.
PLACEHOLDER = (
    "Not built yet: the study's runs are not all in (`python tools/confirmatory_status.py` "
    "says where they stand). Once they are, `snakemake confirmatory --profile "
    "workflow/profiles/confirmatory` builds the report and `python -m agents "
    "confirmatory-summary --doc docs/reproduction.md` copies its summary here."
)
TITLE = "# The confirmatory study: verdicts\n\n"


def _number(value: object, digits: int = 3) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(number) else f"{number:.{digits}f}"


def _interval(row: pd.Series, estimate: str, lower: str, upper: str, digits: int = 3) -> str:
    """ "est [low, high]", the estimate alone without an interval, or empty without either."""
    middle = _number(row.get(estimate), digits)
    low, high = _number(row.get(lower), digits), _number(row.get(upper), digits)
    if middle and low and high:
        return f"{middle} [{low}, {high}]"
    return middle


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "(none)\n"
    table = pd.DataFrame(rows).fillna("")  # an arm absent from a game: an empty cell
    return table.to_markdown(index=False, disable_numparse=True) + "\n"


def _read(report: Path, name: str) -> pd.DataFrame:
    path = report / name
    if not path.is_file():
        raise UsageError(
            f"{path} does not exist: build the report first (python -m agents confirmatory)"
        )
    try:
        return pd.read_csv(path, dtype={"claim": str})  # "1", "S1", "Mott": text, always
    except pd.errors.EmptyDataError:  # a table with no rows (a study without those arms)
        return pd.DataFrame()
    except pd.errors.ParserError as error:
        raise UsageError(f"{path} is not a readable table ({error})") from None


def runs_section(runs: pd.DataFrame) -> str:
    done = runs[runs["complete"] | runs["failed"]]
    failed = runs[runs["failed"]]
    line = f"{len(done)} of {len(runs)} runs finished"
    if len(failed):
        names = ", ".join(
            f"{ARM_LABELS.get(r.arm, r.arm)} {r.game} s{r.seed}" for r in failed.itertuples()
        )
        line += f"; {len(failed)} failed on a non-finite loss and score as random play: {names}"
    return f"### Runs\n\n{line}.\n"


def score_section(verdicts: pd.DataFrame) -> str:
    """Every binding test (the primary statistic), with the secondary statistic's verdict."""
    key = ["claim", "scope", "a", "b", "kind"]
    binding = verdicts["binding"].map(is_true)
    secondary = {tuple(row[k] for k in key): row for _, row in verdicts[~binding].iterrows()}
    rows = []
    for _, row in verdicts[binding].iterrows():
        other = secondary.get(tuple(row[k] for k in key))
        rows.append(
            {
                "claim": _text(row["claim"]),
                "carries the claim": "yes" if is_true(row.get("carries_claim", False)) else "",
                "test": f"{row['a']} vs {row['b']}, {row['kind']} (margin {_number(row['margin'], 2)})",
                "scope": _text(row["scope"]),
                "runs": _text(row["runs"]),
                "difference [95% interval]": _interval(row, "estimate", "lower", "upper"),
                "detectable (80% power)": _number(row.get("detectable_margin_80")),
                "P(a > b) [95% interval]": _interval(
                    row, "p_improvement", "p_improvement_low", "p_improvement_high"
                ),
                "verdict": _text(row["verdict"]),
                "secondary statistic": "" if other is None else _text(other["verdict"]),
            }
        )
    return (
        "### Score claims\n\nNormalised scores (0 random, 1 the reference DQN), every test on the "
        "primary statistic, the secondary's verdict beside it. A claim's verdict is that of its "
        "test marked 'carries the claim' (amendment 10); the others say where, not whether. The "
        "intervals are nominally 95%; at these seed counts the aggregate tests' bootstrap "
        "intervals cover about 87-91% (amendment 10), Welch's 95%.\n\n" + _table(rows)
    )


def main_section(main: pd.DataFrame) -> str:
    """Per game and arm: the final evaluation score, mean [95% t-interval] over seeds (runs in)."""
    rows: dict[str, dict[str, str]] = {}
    for _, row in main.iterrows():
        cell = _interval(row, "final_eval", "final_eval_low", "final_eval_high")
        rows.setdefault(row["game"], {"game": row["game"]})[row["arm"]] = (
            f"{cell} ({row['runs']})" if cell else f"({row['runs']})"
        )
    return (
        "### Main table\n\nFinal evaluation score (raw), mean [95% t-interval] over seeds, and "
        "the runs it is over.\n\n" + _table(list(rows.values()))
    )


def interpret_section(verdicts: pd.DataFrame) -> str:
    rows = [
        {
            "test": _text(row["test"]),
            "runs": _text(row.get("runs")),
            "estimate [95% interval]": _interval(row, "estimate", "lower", "upper"),
            "threshold": _number(row.get("threshold")),
            "verdict": _text(row["verdict"]),
        }
        for _, row in verdicts.iterrows()
    ]
    return (
        "### Interpretability claims (amendment 1)\n\nThe bootstrap intervals are nominally 95%; "
        "at these seed counts they cover about 79-86% (amendment 10).\n\n" + _table(rows)
    )


def attention_section(ac_lambda: pd.DataFrame, above_random: pd.DataFrame) -> str:
    learned = [
        {
            "game": _text(row["game"]),
            "runs": _text(row["runs"]),
            "last 100 episodes by 300K steps [95% interval]": _interval(
                row, "mean", "lower", "upper"
            ),
            "AC(λ=0.8) at 300K": _number(row["ac_lambda_300k"]),
            "verdict": _text(row["verdict"]),
        }
        for _, row in ac_lambda.iterrows()
    ]
    above = [
        {
            "arm": _text(row["arm"]),
            "game": _text(row["game"]),
            "runs": _text(row.get("runs")),
            "seeds above random": _text(row.get("seeds_above_random")),
            "verdict": _text(row.get("verdict")),
        }
        for _, row in above_random.iterrows()
    ]
    return (
        "### The attention agent (amendment 5)\n\nAt or above AC(λ) at equal frames:\n\n"
        + _table(learned)
        + "\nAbove random in every seed:\n\n"
        + _table(above)
    )


def grounding_section(grounding: pd.DataFrame) -> str:
    rows = [
        {
            "map": _text(row["map"]),
            "game": _text(row["game"]),
            "seeds": _text(row["seeds"]),
            "share on objects [95% interval]": _interval(row, "share", "share_low", "share_high"),
            "occupancy": _number(row["occupancy"]),
            "share / occupancy": _number(row["share_over_occupancy"]),
            "status": _text(row["status"]),
        }
        for _, row in grounding.iterrows()
    ]
    return "### Where the agents look (amendment 1, A1.4)\n\n" + _table(rows)


def summary_body(report: Path) -> str:
    """The summary's text (no title), from the report's tables in ``report``."""
    try:
        return _sections(report)
    except KeyError as error:
        raise UsageError(f"{report} has a table without the column {error}: rebuild it") from None


def _sections(report: Path) -> str:
    return "\n".join(
        (
            runs_section(_read(report, "runs.csv")),
            score_section(_read(report, "verdicts.csv")),
            main_section(_read(report, "main.csv")),
            interpret_section(_read(report, "interpret/verdicts.csv")),
            attention_section(
                _read(report, "attention-ac-lambda.csv"),
                _read(report, "attention-above-random.csv"),
            ),
            grounding_section(_read(report, "interpret/grounding.csv")),
        )
    )


def write_summary(report: Path) -> Path:
    """``report/summary.md``, written atomically."""
    path = report / "summary.md"
    atomic_write_text(path, TITLE + summary_body(report))
    return path


def embed(document: str, body: str) -> str:
    """``document`` with the text between :data:`BEGIN` and :data:`END` replaced by ``body``."""
    if (
        document.count(BEGIN) != 1
        or document.count(END) != 1
        or document.index(END) < document.index(BEGIN)
    ):
        raise UsageError(f"the document needs one {BEGIN!r} line, then one {END!r} line")
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{body.strip()}\n{END}{tail}"


def expected_body(report: Path) -> str:
    """What the docs' block should hold: the built summary's body, else :data:`PLACEHOLDER`."""
    summary = report / "summary.md"
    if not summary.is_file():
        if (report / "verdicts.csv").is_file():
            raise UsageError(f"{report} has verdicts.csv but no summary.md: rebuild the report")
        return PLACEHOLDER
    text = summary.read_text()
    return text[len(TITLE) :] if text.startswith(TITLE) else text
