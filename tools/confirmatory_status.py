"""Where the confirmatory study stands, arm by arm: its pre-registered runs committed here, under
way in training checkouts, and not started, and the training time left at the committed runs'
own measured cost. Reads no score.

    .venv/bin/python tools/confirmatory_status.py [--training /work/confirmatory4 /work/attention5]

- **Committed:** the run's ``summary.json`` is in this checkout.
- **Under way:** a training checkout (``--training``, made by tools/training_checkout.sh) has the
  run's ``episodes.csv`` but no ``summary.json``; its progress is the last logged step over the
  budget. A finished run there that is not committed yet counts as "to collect".
- **Time left:** for each unfinished run, its remaining steps times the median seconds per step
  (``train_seconds`` over the budget) of the committed runs of the same arm and game, else of the
  arm, else of the agent. Those seconds were measured with up to five runs sharing two cores, so
  the hours are run-hours at that sharing; with four lanes the wall clock is about a quarter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.runtable import Run, confirmatory_runs  # noqa: E402


def _last_step(episodes: Path) -> int:
    """The step column of the last line of a run's episodes.csv (0 while it has no episode)."""
    with episodes.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 4096))
        lines = handle.read().decode(errors="replace").strip().splitlines()
    last = lines[-1].split(",")[0] if lines else ""
    return int(last) if last.isdigit() else 0


def _seconds_per_step(run: Run) -> float | None:
    summary = ROOT / run.path / "summary.json"
    if not summary.is_file():
        return None
    return json.loads(summary.read_text())["train_seconds"] / run.frames


def _arm(run: Run) -> str:
    return Path(run.path).parent.parent.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "confirmatory.yaml")
    parser.add_argument("--training", type=Path, nargs="*", default=[], help="training checkouts")
    args = parser.parse_args()
    for folder in args.training:
        if not (folder / "config" / "confirmatory.yaml").is_file():
            print(f"error: {folder} is not a checkout of this project", file=sys.stderr)
            return 2
    runs = confirmatory_runs(yaml.safe_load(args.config.read_text()))

    costs: dict[tuple, list[float]] = defaultdict(list)
    for run in runs:
        cost = _seconds_per_step(run)
        if cost is not None:
            for key in ((_arm(run), run.game), (_arm(run),), (run.agent,)):
                costs[key].append(cost)

    rows: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for run in runs:
        row = rows[_arm(run)]
        row["runs"] += 1
        if (ROOT / run.path / "summary.json").is_file():
            row["committed"] += 1
            continue
        done = 0
        for folder in args.training:
            if (folder / run.path / "summary.json").is_file():
                row["to collect"] += 1
                done = run.frames
                break
            episodes = folder / run.path / "episodes.csv"
            if episodes.is_file():
                done = max(done, _last_step(episodes))
        if 0 < done < run.frames:
            row["under way"] += 1
            row["steps done"] += done
        elif done == 0:
            row["not started"] += 1
        keys = ((_arm(run), run.game), (_arm(run),), (run.agent,))
        cost = next((statistics.median(costs[k]) for k in keys if costs[k]), None)
        if cost is None:
            row["unpriced"] += 1
        else:
            row["hours left"] += (run.frames - done) * cost / 3600

    header = ["arm", "runs", "committed", "to collect", "under way", "not started", "hours left"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    totals: dict[str, float] = defaultdict(float)
    for arm, row in rows.items():
        for key, value in row.items():
            totals[key] += value
        print(_line(arm, row))
    print(_line("**all**", totals))
    if totals["unpriced"]:
        print(f"{int(totals['unpriced'])} unfinished runs have no committed run to price them")
    return 0


def _line(arm: str, row) -> str:
    under = f"{int(row['under way'])}"
    if row["under way"]:
        under += f" ({row['steps done'] / 1e6:.2f}M steps done)"
    cells = [arm, *(f"{int(row[k])}" for k in ("runs", "committed", "to collect")), under]
    cells += [f"{int(row['not started'])}", f"{row['hours left']:.1f}"]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    sys.exit(main())
