"""How far float16 weights move amendment 1's interpretability measures.

Amendment 2 commits the `idqn` and `ddqn` runs' seeds 1 and 2 with their weights in float16
(`agents.rundir.halve_model`), so the study measures those seeds from rounded weights, while the
amendment-1 arms are measured in float32 when they are collected. This script takes a committed
float32 run (seed 0) and its DDQN sibling, measures both as stored and halved
(`agents.interpret.run_measures.compute`, the pre-registered sizes; claim 9's fixed states from
the float32 run in both), and prints, for every measure, only the absolute difference between
the two: never a measure's value, so it can run before the study's verdicts are read.

    python benchmarks/half_weights_measures.py [--run results/confirmatory/runs/idqn/MinAtar-Breakout/s0]

A precision check, not a timing: it may run beside other work (one thread).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from agents.errors import UsageError
from agents.interpret import run_measures as rm
from agents.rundir import halve_model

#: Display-only parts of a result: example states and their maps, not measures.
SKIPPED = ("examples",)


def leaves(value: object, path: str = "") -> dict[str, np.ndarray]:
    """Every numeric leaf of a measures document, by its dotted path."""
    if isinstance(value, dict):
        found: dict[str, np.ndarray] = {}
        for key, item in value.items():
            if key not in SKIPPED:
                found |= leaves(item, f"{path}.{key}" if path else key)
        return found
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return {}
    array = np.asarray(value, dtype=float)
    return {path: array}


def copy_runs(run: Path, ddqn: Path, root: Path, halved: bool) -> Path:
    """``run`` and ``ddqn`` under ``root`` at their places (RUNS/<arm>/<game>/s<seed>), weights
    halved when asked; the copy of ``run``."""
    copies = []
    for source in (run, ddqn):
        target = root / source.parent.parent.name / source.parent.name / source.name
        shutil.copytree(source, target)
        if halved:
            halve_model(target)
        copies.append(target)
    return copies[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run", type=Path, default=Path("results/confirmatory/runs/idqn/MinAtar-Breakout/s0")
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    arm, game, seed = rm.arm_of(args.run)
    ddqn = args.run.parent.parent.parent / "ddqn" / game / f"s{seed}"
    for needed in (args.run / "model.pt", ddqn / "model.pt"):
        if not needed.is_file():
            raise SystemExit(
                f"error: {needed} is missing (a committed float32 run and its DDQN sibling)"
            )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for halved in (False, True):
            root = Path(tmp) / ("halved" if halved else "stored")
            copy = copy_runs(args.run, ddqn, root, halved)
            try:
                results[halved] = rm.compute(copy, reference_run=args.run.absolute())
            except UsageError as error:
                raise SystemExit(f"error: {error}") from None
    stored, halved = leaves(results[False]["measures"]), leaves(results[True]["measures"])
    print(f"{arm} {game} s{seed}: float32 as stored against float16, amendment 1's sizes")
    print("measure | values | largest |difference|")
    for name in sorted(stored.keys() | halved.keys()):
        if name not in stored or name not in halved:
            print(f"{name} | missing from the {'float16' if name in stored else 'float32'} result")
            continue
        if stored[name].shape != halved[name].shape:
            print(f"{name} | shapes differ: {stored[name].shape} against {halved[name].shape}")
            continue
        if not np.array_equal(np.isnan(stored[name]), np.isnan(halved[name])):
            print(f"{name} | not a number in one result only")
            continue
        difference = np.abs(np.nan_to_num(stored[name]) - np.nan_to_num(halved[name]))
        print(f"{name} | {stored[name].size} | {difference.max() if difference.size else 0:.3g}")


if __name__ == "__main__":
    main()
