"""tools/confirmatory_status.py: the study's runs committed, under way and left, from the files
alone."""

import subprocess
import sys

from workflow_helpers import ROOT

SCRIPT = ROOT / "tools" / "confirmatory_status.py"
RUNS = "results/confirmatory/runs"


def _status(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=ROOT
    )


def _row(stdout: str, arm: str) -> list[str]:
    line = next(line for line in stdout.splitlines() if line.startswith(f"| {arm} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_counts_the_committed_runs_and_one_under_way_in_a_training_checkout(tmp_path):
    committed = len(list((ROOT / RUNS).glob("*/*/s*/summary.json")))
    # A training checkout with one not-committed i-DQN run half-way through its 1M steps.
    missing = next(
        f"{RUNS}/idqn/{game}/s{seed}"
        for seed in range(5)
        for game in ("MinAtar-Breakout", "MinAtar-Freeway", "MinAtar-Seaquest")
        if not (ROOT / RUNS / "idqn" / game / f"s{seed}" / "summary.json").exists()
    )
    training = tmp_path / "training"
    (training / "config").mkdir(parents=True)
    (training / "config" / "confirmatory.yaml").write_text("")
    (training / missing).mkdir(parents=True)
    (training / missing / "episodes.csv").write_text("frame,episode,return\n500000,40,3.0\n")

    result = _status("--training", training)
    assert result.returncode == 0, result.stderr
    everything = _row(result.stdout, "**all**")
    assert everything[1] == "128" and everything[2] == str(committed)
    assert _row(result.stdout, "idqn")[4] == "1 (0.50M steps done)"


def test_a_folder_that_is_no_checkout_is_refused(tmp_path):
    result = _status("--training", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path} is not a checkout of this project"
