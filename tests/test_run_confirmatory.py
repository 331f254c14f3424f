"""tools/run_confirmatory.sh: the pre-registered queue and its lanes, with a stand-in for
Snakemake that "trains" a run by writing its summary.json."""

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from agents.runtable import FAILED_FILE, NON_FINITE, confirmatory_runs

ROOT = Path(__file__).resolve().parent.parent
RUNS = "results/confirmatory/runs"


def _git(repo: Path, *command: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=repo, check=True
    )


def _checkout(tmp_path: Path) -> Path:
    """A clean git checkout holding the script (its outputs ignored, as in this repository's
    .gitignore), and a Snakemake that records its target and finishes the run."""
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "run_confirmatory.sh", repo / "tools")
    shutil.copy(ROOT / "tools" / "run_states.sh", repo / "tools")
    (repo / ".gitignore").write_text("results/\n.snakemake/\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "lanes")
    fake = tmp_path / "snakemake"
    fake.write_text(
        f'#!/bin/sh\necho "$1" >> {tmp_path}/targets\nmkdir -p "$(dirname "$1")"\n'
        'sleep 0.05\ntouch "$1"\n'
    )
    fake.chmod(0o755)
    return repo


def _run(
    tmp_path: Path, repo: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess, list[str]]:
    done = subprocess.run(
        ["bash", "tools/run_confirmatory.sh", *args],
        cwd=repo,
        env=os.environ | {"SNAKEMAKE": str(tmp_path / "snakemake")} | env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    targets = tmp_path / "targets"
    return done, targets.read_text().split() if targets.exists() else []


def _target(arm: str, game: str, seed: int) -> str:
    return f"{RUNS}/{arm}/{game}/s{seed}/summary.json"


def test_one_lane_walks_every_run_once_in_the_preregistered_order(tmp_path):
    repo = _checkout(tmp_path)
    done, targets = _run(tmp_path, repo, LANES="1")
    assert done.returncode == 0, done.stderr
    assert len(targets) == len(set(targets)) == 128
    study = yaml.safe_load((ROOT / "config" / "confirmatory.yaml").read_text())
    assert set(targets) == {f"{run.path}/summary.json" for run in confirmatory_runs(study)}
    # Amendment 14: the SB3 runs first, which cannot resume; then the queue's order.
    assert [t.split("/")[3] for t in targets[:15]] == ["sb3-dqn"] * 15
    assert targets[15:19] == [
        _target("ddqn", "MinAtar-Breakout", 0),
        _target("attention", "MinAtar-Breakout", 0),
        _target("idqn", "MinAtar-Breakout", 0),
        _target("no-attention", "MinAtar-Breakout", 0),
    ]
    # Each cell's DDQN run comes before its i-DQN run; amendment 1's arms come last.
    assert targets.index(_target("ddqn", "MinAtar-Seaquest", 4)) < targets.index(
        _target("idqn", "MinAtar-Seaquest", 4)
    )
    assert targets[-1] == _target("idqn-no-diversity", "MinAtar-Breakout", 2)
    assert Counter(t.split("/")[3] for t in targets[-21:]) == {
        "idqn-vae-beta0": 6,
        "idqn-vae-beta0.01": 6,
        "idqn-dense-vae": 6,
        "idqn-no-diversity": 3,
    }


def test_lanes_share_the_queue_and_never_train_a_run_twice(tmp_path):
    repo = _checkout(tmp_path)
    finished = repo / RUNS / "ddqn" / "MinAtar-Breakout" / "s0"
    finished.mkdir(parents=True)
    (finished / "summary.json").write_text("{}\n")
    done, targets = _run(tmp_path, repo, "attention", LANES="3")
    assert done.returncode == 0, done.stderr
    # Amendment 5's three arms only: 15 + 15 + 6 runs, each claimed by exactly one lane.
    assert len(targets) == len(set(targets)) == 36
    assert {t.split("/")[3] for t in targets} == {"attention", "no-attention", "attention-3-seeds"}


def test_a_run_stopped_on_a_non_finite_loss_is_not_retried(tmp_path):
    repo = _checkout(tmp_path)
    failed = repo / RUNS / "idqn" / "MinAtar-Freeway" / "s0"
    failed.mkdir(parents=True)
    (failed / "train.log").write_text("error: non-finite td loss at update 9\n")
    done, targets = _run(tmp_path, repo, "idqn", "ddqn")
    assert done.returncode == 0, done.stderr
    assert _target("idqn", "MinAtar-Freeway", 0) not in targets
    assert _target("idqn", "MinAtar-Breakout", 0) in targets and len(targets) == 49
    assert done.stderr.count("stopped on a non-finite loss; collect it, not rerun") == 1


def test_the_shell_tools_read_run_states_as_the_package_writes_them():
    """tools/run_states.sh is the shell's one home of a run's states; its markers are the
    runner's non-finite error and record_failure's file."""
    states = (ROOT / "tools" / "run_states.sh").read_text()
    assert f'grep -qs "{NON_FINITE}" "$1/train.log"' in states
    assert f'[ -e "$1/{FAILED_FILE}" ]' in states
    for tool in ("run_confirmatory.sh", "training_checkout.sh", "collect_confirmatory.sh"):
        script = (ROOT / "tools" / tool).read_text()
        assert "source tools/run_states.sh" in script
        assert f'"{NON_FINITE}"' not in script and f'"$1/{FAILED_FILE}"' not in script


def test_no_sb3_run_starts_after_its_last_start(tmp_path):
    """An SB3 run cannot resume: none starts after SB3_LAST_START; the other runs go on."""
    repo = _checkout(tmp_path)
    done, targets = _run(
        tmp_path, repo, "sb3-dqn", "idqn-original-code", SB3_LAST_START="1 hour ago"
    )
    assert done.returncode == 0, done.stderr
    assert len(targets) == 6 and all("/idqn-original-code/" in t for t in targets)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"LANES": "0"}, "LANES must be a whole number"),
        ((), {"SB3_LAST_START": "soon-ish"}, "SB3_LAST_START is not a date"),
        (("dqn",), {}, "unknown arm 'dqn'"),
    ],
)
def test_bad_input_is_refused_before_any_run(tmp_path, args, env, message):
    repo = _checkout(tmp_path)
    done, targets = _run(tmp_path, repo, *args, **env)
    assert done.returncode == 2 and message in done.stderr and not targets


def test_a_dirty_checkout_is_refused(tmp_path):
    """Pre-registered runs record their commit: a tracked file edited since is refused."""
    repo = _checkout(tmp_path)
    (repo / "tools" / "run_confirmatory.sh").write_text(
        (ROOT / "tools" / "run_confirmatory.sh").read_text() + "# edited\n"
    )
    done, targets = _run(tmp_path, repo)
    assert done.returncode == 2 and "uncommitted changes" in done.stderr and not targets


def test_stop_lanes_stops_every_lane_before_its_next_run(tmp_path):
    repo = _checkout(tmp_path)
    (repo / ".stop-lanes").touch()
    done, targets = _run(tmp_path, repo, LANES="2")
    assert done.returncode == 0 and not targets
    assert done.stderr.count(".stop-lanes exists; stopping") == 2


def test_a_failing_run_is_tried_twice_and_the_lanes_go_on(tmp_path):
    repo = _checkout(tmp_path)
    fake = tmp_path / "snakemake"  # every idqn run fails; the others finish
    fake.write_text(
        f'#!/bin/sh\necho "$1" >> {tmp_path}/targets\nmkdir -p "$(dirname "$1")"\n'
        'case "$1" in */idqn/*) exit 1 ;; esac\ntouch "$1"\n'
    )
    done, targets = _run(tmp_path, repo, "idqn", "ddqn", LANES="2")
    assert done.returncode == 0, done.stderr
    tries = Counter(targets)
    assert all(n == 2 for t, n in tries.items() if "/idqn/" in t) and len(tries) == 50
    assert all(n == 1 for t, n in tries.items() if "/ddqn/" in t)
    assert "failed, try 2 of 2" in done.stderr


def test_a_missing_snakemake_is_refused(tmp_path):
    repo = _checkout(tmp_path)
    done, targets = _run(tmp_path, repo, SNAKEMAKE=str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "no Snakemake at" in done.stderr and not targets


def test_a_started_run_resumes_first_after_the_sb3_runs(tmp_path):
    repo = _checkout(tmp_path)
    started = repo / RUNS / "idqn" / "MinAtar-Asterix" / "s3"
    started.mkdir(parents=True)
    (started / "checkpoint.pt").write_bytes(b"state")
    done, targets = _run(tmp_path, repo, LANES="1")
    assert done.returncode == 0, done.stderr
    # After the SB3 runs, which cannot resume and so start while a session has time (amendment 14).
    assert targets[15] == _target("idqn", "MinAtar-Asterix", 3) and len(targets) == 128
    assert all("/sb3-dqn/" in t for t in targets[:15])
    for path in (repo / RUNS).rglob("summary.json"):
        path.unlink()
    (tmp_path / "targets").unlink()
    done, targets = _run(tmp_path, repo, LANES="1", SB3_LAST_START="1 hour ago")
    assert done.returncode == 0, done.stderr
    assert targets[0] == _target("idqn", "MinAtar-Asterix", 3) and len(targets) == 128 - 15
