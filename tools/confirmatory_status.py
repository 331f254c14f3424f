"""Where the confirmatory study stands, arm by arm: its runs committed, finished elsewhere, under
way and not started, and the run-hours left at the committed runs' measured cost. No score read.

    .venv/bin/python tools/confirmatory_status.py [--training TRAINING_CHECKOUT ...]

- **Committed:** the run's ``summary.json`` is in this checkout, or its ``failed.json`` (a run
  stopped on a non-finite loss, scored as random: amendment 8).
- **To collect:** a training checkout (``--training``, made by tools/training_checkout.sh) has
  the run's ``summary.json``, or its ``train.log`` reports a non-finite loss; this checkout has
  neither marker.
- **Under way:** a training checkout has the run's folder but no ``summary.json``; its progress
  is the last step logged in ``episodes.csv`` (none yet for an SB3 run, which writes its log
  only at the end, or before a run's first episode ends).
- **Steps left:** for each run not finished anywhere, its budget less the steps it has logged
  (all of it for an SB3 run, which cannot resume). The pace in steps per hour of wall clock
  does not depend on how the runs that price the run-hours below shared the cores.
- **Run-hours left:** for each run not finished anywhere, its steps left times the median
  seconds per step (``train_seconds`` / ``agent_steps``) of the committed runs of the same arm
  and game, else of the arm, else of the agent. Those seconds were measured with two to five
  runs sharing two cores, so the hours are run-hours at such sharing; four lanes at a time take
  roughly a quarter of them in wall clock.
- **Committed size:** the bytes of the study's files in this checkout (``results/confirmatory``),
  against the 40 MB the study may commit (issue 22, amendment 2).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.confirmatory_report import Study, reading_table  # noqa: E402
from agents.errors import UsageError  # noqa: E402
from agents.runtable import FAILED_FILE, NON_FINITE, Run, confirmatory_runs  # noqa: E402

COLUMNS = ("runs", "committed", "to collect", "under way", "not started")
#: Agents whose runs cannot resume from a checkpoint: one stopped before its end starts over
#: (docs/preregistration.md, "Exclusions, failures and missing runs").
NOT_RESUMABLE = ("sb3-dqn",)
#: What the study may commit (issue 22; amendment 2): tests/test_preregistration.py checks it.
SIZE_LIMIT_MB = 40


def last_logged_step(episodes: Path) -> int:
    """The first column (the step; frames on Atari) of the last line of an episodes.csv; 0 while
    it holds no episode."""
    with episodes.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 4096))
        lines = handle.read().decode(errors="replace").strip().splitlines()
    last = lines[-1].split(",")[0] if lines else ""
    return int(last) if last.isdigit() else 0


def arm_of(run: Run) -> str:
    """The arm a confirmatory run belongs to: its folder's name under the study's runs_dir."""
    return Path(run.path).parts[-3]


def _cost_keys(run: Run) -> tuple[tuple[str, ...], ...]:
    """Where a run's seconds per step are looked up, most specific first."""
    return (("arm and game", arm_of(run), run.game), ("arm", arm_of(run)), ("agent", run.agent))


def _seconds_per_step(summary: Path) -> float:
    data = json.loads(summary.read_text())
    return data["train_seconds"] / data["agent_steps"]


def _finished(run_dir: Path) -> bool:
    """Finished in a training checkout: its summary.json, or stopped on a non-finite loss."""
    log = run_dir / "train.log"
    return (run_dir / "summary.json").is_file() or (
        log.is_file() and NON_FINITE in log.read_text(errors="replace")
    )


def study_status(
    root: Path, runs: Sequence[Run], training: Sequence[Path]
) -> dict[str, dict[str, float]]:
    """Per arm: the counts of :data:`COLUMNS`, the steps done by the runs under way ("steps
    done"), the steps left ("steps left"), the runs left unpriced ("unpriced"), the run-hours
    left ("run-hours left") and, for
    an arm of :data:`NOT_RESUMABLE`, the run-hours of its longest whole run left ("whole run")."""
    costs: dict[tuple, list[float]] = defaultdict(list)
    for run in runs:
        summary = root / run.path / "summary.json"
        if summary.is_file():
            for key in _cost_keys(run):
                costs[key].append(_seconds_per_step(summary))

    status: dict[str, dict[str, float]] = defaultdict(Counter)
    for run in runs:
        row = status[arm_of(run)]
        row["runs"] += 1
        if any((root / run.path / name).is_file() for name in ("summary.json", FAILED_FILE)):
            row["committed"] += 1
            continue
        if any(_finished(folder / run.path) for folder in training):
            row["to collect"] += 1
            continue
        started = [folder / run.path for folder in training if (folder / run.path).is_dir()]
        done = max(
            (
                last_logged_step(d / "episodes.csv")
                for d in started
                if (d / "episodes.csv").is_file()
            ),
            default=0,
        )
        if started:
            row["under way"] += 1
            row["steps done"] += min(done, run.frames)
        else:
            row["not started"] += 1
        resumable = run.agent not in NOT_RESUMABLE  # else a stop loses the steps done
        left = max(run.frames - done, 0) if resumable else run.frames
        row["steps left"] += left
        cost = next((statistics.median(costs[k]) for k in _cost_keys(run) if costs[k]), None)
        if cost is None:
            row["unpriced"] += 1
        else:
            row["run-hours left"] += left * cost / 3600
            if not resumable:
                row["whole run"] = max(row["whole run"], run.frames * cost / 3600)
    return status


def committed_megabytes(root: Path) -> float:
    """The size of ``root``'s results/confirmatory in MB (10^6 bytes), as committed: no
    checkpoint (tools/collect_confirmatory.sh never brings one)."""
    folder = root / "results" / "confirmatory"
    files = (f for f in folder.rglob("*") if f.is_file() and f.name != "checkpoint.pt")
    return sum(f.stat().st_size for f in files) / 1e6


def markdown(status: dict[str, dict[str, float]]) -> str:
    """The status as a markdown table, one row per arm and a total."""
    header = ["arm", *COLUMNS, "steps left", "run-hours left"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    total: Counter = Counter()
    for row in status.values():
        total.update(row)
    for arm, row in [*status.items(), ("**all**", total)]:
        under = f"{int(row['under way'])}"
        if row["under way"]:
            under += f" ({row['steps done'] / 1e6:.2f}M steps done)"
        cells = [arm, *(f"{int(row[c])}" for c in COLUMNS[:3]), under]
        cells += [f"{int(row['not started'])}", f"{row['steps left'] / 1e6:.2f}M"]
        cells += [f"{row['run-hours left']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if total["unpriced"]:
        lines.append(
            f"{int(total['unpriced'])} unfinished runs have no committed run to price them"
        )
    for arm, row in status.items():
        if row["whole run"]:
            lines.append(
                f"{arm}: a run cannot resume, so one stopped before its end starts over. Its "
                f"longest run left takes about {row['whole run']:.1f} run-hours, priced as "
                "above (longer if more runs share the cores than when that price was "
                "measured): start one only with that much time ahead (tools/run_confirmatory.sh "
                "starts none after SB3_LAST_START)"
            )
    return "\n".join(lines)


def reading_lines(root: Path, config: dict) -> list[str]:
    """Amendment 15: per group of claims, its runs committed under ``root`` and whether the
    report reads it yet (every run in) or withholds it."""
    study = Study.from_config(config)
    table = reading_table(replace(study, runs_dir=root / study.runs_dir))
    return [
        f"{row.group}: {row.finished} of {row.expected} runs committed; the report "
        + ("reads it" if row.read else "withholds it until all are in")
        for row in table.itertuples()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "confirmatory.yaml")
    parser.add_argument("--training", type=Path, nargs="*", default=[], help="training checkouts")
    args = parser.parse_args()
    if not args.config.is_file():
        print(f"error: no study config {args.config}", file=sys.stderr)
        return 2
    for folder in args.training:
        if not folder.is_dir():
            print(f"error: {folder} does not exist", file=sys.stderr)
            return 2
        if not (folder / "config" / "confirmatory.yaml").is_file():
            print(f"error: {folder} is not a checkout of this project", file=sys.stderr)
            return 2
    config = yaml.safe_load(args.config.read_text())
    runs = confirmatory_runs(config)
    try:
        reading = reading_lines(ROOT, config)
    except UsageError as error:
        print(f"error: {args.config}: {error}", file=sys.stderr)
        return 2
    print(markdown(study_status(ROOT, runs, args.training)))
    print("\n".join(reading))
    print(f"committed size: {committed_megabytes(ROOT):.1f} MB of {SIZE_LIMIT_MB} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
