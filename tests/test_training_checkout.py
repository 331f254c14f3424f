"""tools/training_checkout.sh: a checkout at the pre-registered commit that holds the runs
committed since, clean, so the lanes train only what is missing."""

import shutil
import subprocess
import time

from workflow_helpers import ROOT

RUNS = "results/confirmatory/runs"


def _git(repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _run(repo, arm):
    run = repo / RUNS / arm / "MinAtar-Breakout" / "s0"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(f'{{"arm": "{arm}"}}\n')
    (run / "episodes.csv.xz").write_bytes(b"\xfd7zXZ\x00")


def _repository(tmp_path):
    """A repository holding the script and one committed run (ddqn, Breakout, seed 0)."""
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "training_checkout.sh", repo / "tools")
    shutil.copy(ROOT / "tools" / "run_states.sh", repo / "tools")
    _git(tmp_path, "init", "--quiet", str(repo))
    _run(repo, "ddqn")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "pre-registration and a first run")
    return repo


def test_a_training_checkout_is_clean_at_its_commit_and_holds_the_later_runs(tmp_path):
    repo = _repository(tmp_path)
    frozen = _git(repo, "rev-parse", "HEAD")
    _run(repo, "idqn")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "a later run")

    target = tmp_path / "lanes"
    out = subprocess.run(
        ["bash", str(repo / "tools/training_checkout.sh"), frozen[:7], str(target)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "with 1 runs committed after it" in out.stdout
    assert _git(target, "rev-parse", "HEAD") == frozen
    assert _git(target, "status", "--porcelain", "--untracked-files=no") == ""
    later = target / RUNS / "idqn" / "MinAtar-Breakout" / "s0"
    assert (later / "summary.json").read_text() == '{"arm": "idqn"}\n'
    assert (later / "episodes.csv.xz").exists()

    again = subprocess.run(
        ["bash", str(repo / "tools/training_checkout.sh"), frozen, str(target)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "exists" in again.stderr


def _adopt(repo, tmp_path, name, *old):
    return subprocess.run(
        [
            "bash",
            str(repo / "tools/training_checkout.sh"),
            "HEAD",
            str(tmp_path / name),
            *map(str, old),
        ],
        capture_output=True,
        text=True,
    )


def test_unfinished_runs_of_old_checkouts_are_adopted_with_their_checkpoints(tmp_path):
    repo = _repository(tmp_path)
    old = tmp_path / "old"
    unfinished = old / RUNS / "idqn" / "MinAtar-Freeway" / "s3"
    unfinished.mkdir(parents=True)
    (unfinished / "checkpoint.pt").write_bytes(b"state")
    collected = old / RUNS / "ddqn" / "MinAtar-Breakout" / "s0"  # committed in repo already
    collected.mkdir(parents=True)
    (collected / "summary.json").write_text("{}\n")

    out = _adopt(repo, tmp_path, "lanes", old)
    assert out.returncode == 0, out.stderr
    assert "and 1 unfinished runs adopted" in out.stdout
    target = tmp_path / "lanes"
    assert (
        target / RUNS / "idqn" / "MinAtar-Freeway" / "s3" / "checkpoint.pt"
    ).read_bytes() == b"state"
    assert (target / RUNS / "ddqn" / "MinAtar-Breakout" / "s0" / "summary.json").is_file()
    assert _git(target, "status", "--porcelain", "--untracked-files=no") == ""

    # Refused, with nothing written: not a training checkout; a run training there; a finished
    # or failed run not collected here.
    refused = _adopt(repo, tmp_path, "x", repo / "tools")
    assert refused.returncode == 2 and "not a training checkout" in refused.stderr
    holder = subprocess.Popen(["flock", str(unfinished / ".lock"), "sleep", "30"])
    try:
        for _ in range(50):
            if (unfinished / ".lock").exists():
                break
            time.sleep(0.1)
        refused = _adopt(repo, tmp_path, "x", old)
        assert refused.returncode == 2 and "is training: stop" in refused.stderr
    finally:
        holder.kill()
        holder.wait()
    failed = old / RUNS / "idqn" / "MinAtar-Asterix" / "s4"
    failed.mkdir(parents=True)
    (failed / "train.log").write_text("error: non-finite td loss at update 3\n")
    refused = _adopt(repo, tmp_path, "x", old)
    assert refused.returncode == 2 and "collect_confirmatory.sh" in refused.stderr
    assert not (tmp_path / "x").exists()
    (failed / "failed.json").write_text("{}")  # a marker the old checkout has and this one lacks
    refused = _adopt(repo, tmp_path, "x", old)
    assert (
        refused.returncode == 2 and "holds a failed.json that this checkout lacks" in refused.stderr
    )
    assert not (tmp_path / "x").exists()
