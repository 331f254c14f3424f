"""Where agents look, against MinAtar's objects: a table over run directories (issue 24, A1.4).

    python tools/grounding_table.py RUN_DIR... --out reports/minatar/interpret/grounding

For each run (DDQN or i-DQN on a MinAtar game): the mean share of the greedy action's
perturbation saliency on the game's relevant objects over 200 visited states, the objects'
occupancy (uniform mass) and their ratio (agents.interpret.grounding.run_shares). Writes
``OUT.csv`` and ``OUT.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from agents.files import atomic_write_text
from agents.interpret.grounding import run_shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--states", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True, help="output stem (no suffix)")
    args = parser.parse_args()
    rows = [run_shares(run, args.states) for run in tqdm(args.runs, desc="runs", unit="run")]
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".csv"), table.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(
        args.out.with_suffix(".md"), table.to_markdown(index=False, floatfmt=".3f") + "\n"
    )
    print(table.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
