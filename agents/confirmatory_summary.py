"""One page of the confirmatory study's verdicts, quoted from the report's own tables.

``python -m agents confirmatory`` writes it as ``OUT/summary.md`` once the tables it reads are
written: the runs in, every binding score verdict with its interval, power and secondary
statistic, the main table, amendment 1's interpretability verdicts, amendment 5's tests of the
attention agent and where the agents look, each section with its figures. A document carries
the whole text, or the sections it names, between two markers, put there by ``python -m agents
confirmatory-summary --doc DOC`` (with ``--check``, it only says whether the copies are
current): ``docs/reproduction.md`` the whole, ``docs/learning.md`` the attention agent's. The
figures' links are rewritten to point from the document to the report. So the docs quote the
report's numbers and never retype them.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pandas as pd

from agents.confirmatory_report import ARM_LABELS, MOTT_CLAIM, is_true
from agents.errors import UsageError
from agents.files import atomic_write_text

BEGIN = "<!-- confirmatory summary: begin (python -m agents confirmatory-summary; do not edit) -->"
#: A block that carries some sections only: ``BEGIN_SECTIONS.format("attention, grounding")``.
BEGIN_SECTIONS = (
    "<!-- confirmatory summary [{}]: begin (python -m agents confirmatory-summary; do not edit) -->"
)
END = "<!-- confirmatory summary: end -->"
_BEGIN_RE = re.compile(
    r"<!-- confirmatory summary(?: \[(?P<names>[^\]]*)\])?: begin "
    r"\(python -m agents confirmatory-summary; do not edit\) -->"
)
#: The summary's sections, by name, in order: each starts with its heading.
SECTIONS = {
    "runs": "### Runs",
    "scores": "### Score claims",
    "mott": "### Mott et al.'s claim (amendment 5)",
    "main": "### Main table",
    "interpret": "### Interpretability claims (amendment 1)",
    "attention": "### The attention agent (amendment 5)",
    "grounding": "### Where the agents look (amendment 1, A1.4)",
}
#: What the docs' block holds until the report is built.
PLACEHOLDER = (
    "Not built yet (`python tools/confirmatory_status.py` says which groups of the study's "
    "claims have all their runs in). `make confirmatory-report` "
    "builds the report from the runs committed so far, each group of claims read once all its "
    "runs are in and withheld until then (amendment 15), and copies its summary here."
)
TITLE = "# The confirmatory study: verdicts\n\n"
#: Amendment 10.2: how many claim verdicts the study gives, and what judging each alone means.
CLAIM_VERDICTS = 17
MULTIPLICITY = (
    f"Each of the study's {CLAIM_VERDICTS} claim verdicts (9 on scores, 8 on interpretability) "
    "is judged alone, by its own nominal 95% interval, with no correction for multiplicity: "
    "even at nominal coverage, about one verdict that reads 'holds' or 'does not hold' could "
    "be wrong by chance (amendment 10)."
)


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


def _figures(*figures: tuple[str, str]) -> str:
    """Markdown image links, relative to the report folder (``embed`` re-points them)."""
    return "".join(f"\n![{alt}]({path})\n" for path, alt in figures)


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


def runs_section(runs: pd.DataFrame, reading: pd.DataFrame) -> str:
    """How many runs are finished (and which failed), and which groups of claims the report
    reads now (amendment 15)."""
    failed = runs[runs["failed"]]
    line = f"{int(runs['finished'].sum())} of {len(runs)} runs finished"
    if len(failed):
        names = ", ".join(
            f"{ARM_LABELS.get(r.arm, r.arm)} {r.game} s{r.seed}" for r in failed.itertuples()
        )
        line += f"; {len(failed)} failed on a non-finite loss and score as random play: {names}"
    groups = [
        {
            "group": _text(row["group"]),
            "arms": _text(row["arms"]),
            "runs finished": f"{row['finished']}/{row['expected']}",
            "read": "yes" if is_true(row["read"]) else "withheld",
        }
        for _, row in reading.iterrows()
    ]
    return (
        f"{SECTIONS['runs']}\n\n{line}.\n\nThe report reads each group of claims at once, when "
        "every run of its arms is finished; until then its tests, tables and figures say "
        "'withheld' and show no number (amendment 15).\n\n" + _table(groups) + f"\n{MULTIPLICITY}\n"
    )


def _score_rows(verdicts: pd.DataFrame) -> list[dict[str, str]]:
    """One row per binding test (the primary statistic), the secondary's verdict beside it."""
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
    return rows


def score_section(verdicts: pd.DataFrame) -> str:
    """Every binding score test but Mott et al.'s claim (:func:`mott_section`)."""
    return (
        f"{SECTIONS['scores']}\n\nNormalised scores (0 random, 1 the reference DQN), every test on "
        "the primary statistic, the secondary's verdict beside it. A claim's verdict is that of "
        "its test marked 'carries the claim' (amendment 10); the others say where, not whether. "
        "The intervals are nominally 95%; at these seed counts the aggregate tests' bootstrap "
        "intervals cover about 87-91% (amendment 10), Welch's 95%.\n\n"
        + _table(_score_rows(verdicts[verdicts["claim"] != MOTT_CLAIM]))
        + _figures(
            ("verdicts.png", "The score tests' intervals against their margins"),
            ("aggregate.png", "IQMs and performance profiles"),
            ("curves.png", "Evaluation phases, with the reference DQN marked"),
        )
    )


def mott_section(verdicts: pd.DataFrame) -> str:
    """Mott et al.'s claim (amendment 5): the attention agent against its no-attention
    baseline, on its own so that docs/learning.md can quote it beside the attention agent's."""
    rows = _score_rows(verdicts[verdicts["claim"] == MOTT_CLAIM])
    if not rows:
        return f"{SECTIONS['mott']}\n\nNot in this study (it has no amendment 5 arms).\n"
    return (
        f"{SECTIONS['mott']}\n\nThe attention agent against the same agent with pooled features "
        "in place of its attention readout, in normalised scores, as the score claims above (the "
        "aggregate carries the claim). It is one of the study's "
        f"{CLAIM_VERDICTS} claim verdicts, each judged alone with no correction for "
        "multiplicity (amendment 10).\n\n" + _table(rows)
    )


def main_section(main: pd.DataFrame) -> str:
    """Per game and arm: the final evaluation (primary), the training return of the last
    10% of steps (secondary) and the best 100-episode average (the paper's statistic), each the
    mean [95% t-interval] over seeds (runs in)."""
    rows = []
    for _, row in main.iterrows():
        rows.append(
            {
                "game": _text(row["game"]),
                "arm": _text(row["arm"]),
                "runs": _text(row["runs"]),
                "final evaluation": _interval(
                    row, "final_eval", "final_eval_low", "final_eval_high"
                ),
                "training, last 10% of steps": _interval(
                    row, "train_last10", "train_last10_low", "train_last10_high"
                ),
                "best 100-episode average (the paper's)": _interval(
                    row, "best_100", "best_100_low", "best_100_high"
                ),
            }
        )
    return (
        f"{SECTIONS['main']}\n\nRaw scores, mean [95% t-interval] over seeds: the final "
        "evaluation (the primary statistic; greedy for the value-based agents, draws from the "
        "policy for the attention agents, as amendment 5 says), the training return of the episodes ending in the "
        "last 10% of steps (the secondary), and the paper's own statistic, the best average of "
        "100 consecutive training episodes (no test reads it). main.md has each normalised as "
        "well.\n\n" + _table(rows)
    )


def interpret_section(verdicts: pd.DataFrame) -> str:
    rows = [
        {
            "test": _text(row["test"]),
            "carries the claim": "yes" if is_true(row.get("carries_claim", False)) else "",
            "runs": _text(row.get("runs")),
            "estimate [95% interval]": _interval(row, "estimate", "lower", "upper"),
            "threshold": _number(row.get("threshold")),
            "detectable (80% power)": _number(row.get("detectable_margin_80")),
            "verdict": _text(row["verdict"]),
        }
        for _, row in verdicts.iterrows()
    ]
    return (
        f"{SECTIONS['interpret']}\n\nA claim's verdict is its row marked 'carries the claim' "
        "(claim 5 one per variant); the rows of its parts (4a, 4b, 9a, 9b) say where, not "
        "whether. The bootstrap intervals are nominally 95%; "
        "at these seed counts they cover about 79-86% (amendment 10).\n\n"
        + _table(rows)
        + _figures(("interpret/verdicts.png", "Each test's interval against its threshold"))
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
        f"{SECTIONS['attention']}\n\nAt or above AC(λ) at equal frames:\n\n"
        + _table(learned)
        + "\nAbove random in every seed:\n\n"
        + _table(above)
        + _figures(
            (
                "attention-curves.png",
                "The attention agent and its baseline beside AC(λ) and the reference DQN",
            )
        )
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
    return (
        f"{SECTIONS['grounding']}\n\n"
        + _table(rows)
        + _figures(
            ("interpret/grounding.png", "Share of each map's mass on the objects"),
            ("interpret/grounding-maps.png", "The maps on example states, objects outlined"),
        )
    )


def summary_body(report: Path) -> str:
    """The summary's text (no title), from the report's tables in ``report``."""
    try:
        return _sections(report)
    except KeyError as error:
        raise UsageError(f"{report} has a table without the column {error}: rebuild it") from None


def _sections(report: Path) -> str:
    verdicts = _read(report, "verdicts.csv")
    return "\n".join(
        (
            runs_section(_read(report, "runs.csv"), _read(report, "reading.csv")),
            score_section(verdicts),
            mott_section(verdicts),
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


def sections_of(body: str) -> dict[str, str]:
    """``body`` (a summary's text) split into its :data:`SECTIONS`, by their headings."""
    found = {
        name: match.start()
        for name, heading in SECTIONS.items()
        if (match := re.search(rf"^{re.escape(heading)}$", body, flags=re.MULTILINE))
    }
    if len(found) < len(SECTIONS):
        raise UsageError("the summary lacks a section: rebuild the report")
    starts = sorted((start, name) for name, start in found.items())
    ends = [start for start, _ in starts[1:]] + [len(body)]
    return {
        name: body[start:end].strip() + "\n"
        for (start, name), end in zip(starts, ends, strict=True)
    }


def relink(body: str, report_from_doc: str) -> str:
    """``body``'s relative links (to the report's files) made relative to a document, which
    reaches the report folder at ``report_from_doc`` (e.g. ``../reports/confirmatory``)."""
    return re.sub(
        r"\]\((?![A-Za-z][A-Za-z0-9+.-]*:|/|#|\\)([^)]+)\)",
        lambda link: f"]({report_from_doc}/{link.group(1)})",
        body,
    )


def embed(document: str, body: str, report_from_doc: str = ".") -> str:
    """``document`` with each block between a begin marker (:data:`BEGIN`, or
    :data:`BEGIN_SECTIONS` naming sections) and :data:`END` replaced by ``body``, or by the
    sections it names, with the links re-pointed (:func:`relink`). The placeholder fills every
    block alike."""
    begins = list(_BEGIN_RE.finditer(document))
    ends = [m.start() for m in re.finditer(re.escape(END), document)]
    positions = sorted([(m.start(), "begin") for m in begins] + [(e, "end") for e in ends])
    if not begins or [kind for _, kind in positions] != ["begin", "end"] * len(begins):
        raise UsageError(
            f"the document needs blocks of one begin line ({BEGIN!r}, or one naming sections), "
            f"then one {END!r} line"
        )
    placeholder = body.strip() == PLACEHOLDER
    out, cursor = [], 0
    for match, end in zip(begins, ends, strict=True):
        names = [n.strip() for n in (match["names"] or "").split(",") if n.strip()]
        if unknown := [n for n in names if n not in SECTIONS]:
            raise UsageError(
                f"unknown summary section {unknown[0]!r} (known: {', '.join(SECTIONS)})"
            )
        if placeholder or not names:
            text = body.strip()
        else:
            parts = sections_of(body)
            text = "\n".join(parts[n] for n in names).strip()
        out += [document[cursor : match.end()], "\n", relink(text, report_from_doc), "\n"]
        cursor = end
    return "".join(out) + document[cursor:]


def report_from(doc: Path, report: Path) -> str:
    """The report folder's path as a link from ``doc``'s folder."""
    try:
        return Path(os.path.relpath(report.resolve(), doc.resolve().parent)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        raise UsageError(f"{report} and {doc} are on different drives") from None


def expected_body(report: Path) -> str:
    """What the docs' block should hold: the built summary's body, else :data:`PLACEHOLDER`."""
    if not report.is_dir():
        raise UsageError(f"{report} is not a report folder (reports/confirmatory)")
    summary = report / "summary.md"
    if not summary.is_file():
        if (report / "verdicts.csv").is_file():
            raise UsageError(f"{report} has verdicts.csv but no summary.md: rebuild the report")
        return PLACEHOLDER
    text = summary.read_text(encoding="utf-8")
    return text[len(TITLE) :] if text.startswith(TITLE) else text
