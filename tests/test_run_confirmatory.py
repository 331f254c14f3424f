"""tools/run_confirmatory.sh: the pre-registered lanes, with a stand-in for Snakemake."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = "results/confirmatory/runs"


def _checkout(tmp_path: Path) -> Path:
    """A clean git checkout holding the script, and a Snakemake that records its targets."""
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "run_confirmatory.sh", repo / "tools")
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "lanes"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=repo, check=True
        )
    fake = tmp_path / "snakemake"
    fake.write_text(f'#!/bin/sh\necho "$1" >> {tmp_path}/targets\n')
    fake.chmod(0o755)
    return repo


def test_a_run_stopped_on_a_non_finite_loss_is_not_retried(tmp_path):
    repo = _checkout(tmp_path)
    failed = repo / RUNS / "idqn" / "MinAtar-Freeway" / "s0"
    failed.mkdir(parents=True)
    (failed / "train.log").write_text("error: non-finite td loss at update 9\n")
    (repo / ".gitignore").write_text("results/\n")  # untracked outputs keep the tree clean
    subprocess.run(["git", "add", ".gitignore"], cwd=repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "ignore"],
        cwd=repo,
        check=True,
    )
    env = os.environ | {"SNAKEMAKE": str(tmp_path / "snakemake")}
    done = subprocess.run(
        ["bash", "tools/run_confirmatory.sh"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    targets = (tmp_path / "targets").read_text().split()
    assert f"{RUNS}/idqn/MinAtar-Freeway/s0/summary.json" not in targets
    assert f"{RUNS}/idqn/MinAtar-Breakout/s0/summary.json" in targets
    assert f"{RUNS}/ddqn/MinAtar-Freeway/s0/summary.json" in targets
    assert "stopped on a non-finite loss; collect it, not rerun" in done.stderr


def test_a_dirty_checkout_is_refused(tmp_path):
    """Pre-registered runs record their commit: a tracked file edited since is refused."""
    repo = _checkout(tmp_path)
    (repo / "tools" / "run_confirmatory.sh").write_text(
        (ROOT / "tools" / "run_confirmatory.sh").read_text() + "# edited\n"
    )
    env = os.environ | {"SNAKEMAKE": str(tmp_path / "snakemake")}
    done = subprocess.run(
        ["bash", "tools/run_confirmatory.sh"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "uncommitted changes" in done.stderr
    assert not (tmp_path / "targets").exists()
