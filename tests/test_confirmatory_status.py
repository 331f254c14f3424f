"""tools/confirmatory_status.py: the study's runs committed, to collect, under way and not
started, and the run-hours left, from the files alone."""

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml
from episode_logs import write_episode_log
from workflow_helpers import ROOT

from agents.runtable import confirmatory_runs

SCRIPT = ROOT / "tools" / "confirmatory_status.py"
SPEC = importlib.util.spec_from_file_location("confirmatory_status", SCRIPT)
status_tool = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(status_tool)

# Two arms on one game, 3 seeds each; `idqn` is both an arm and an agent's name, and the
# `idqn-vae` arm (agent idqn) has no committed run of its own, so it is priced by its agent.
STUDY = {
    "runs_dir": "runs",
    "budgets": {"MinAtar-Breakout": 10_000},
    "evaluation": {"phases": 10, "episodes": 2, "max_steps": 100},
    "arms": {
        "idqn": {"agent": "idqn", "preset": "minatar", "seeds": [0, 1, 2]},
        "idqn-vae": {"agent": "idqn", "preset": "minatar", "seeds": [0, 1, 2]},
    },
}


def _finish(root, arm, seed, seconds):
    run = root / "runs" / arm / "MinAtar-Breakout" / f"s{seed}"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"train_seconds": seconds, "agent_steps": 10_000}))
    return run


def test_each_run_is_counted_once_and_priced_by_its_arm_else_its_agent(tmp_path):
    here, lane = tmp_path / "here", tmp_path / "lane"
    _finish(here, "idqn", 0, 3600.0)
    _finish(here, "idqn", 1, 7200.0)  # median 5400 s per 10,000 steps: 0.54 s a step
    _finish(lane, "idqn", 2, 1.0)  # finished in the training checkout: to collect, unpriced
    under_way = lane / "runs" / "idqn-vae" / "MinAtar-Breakout" / "s0"
    under_way.mkdir(parents=True)
    write_episode_log(under_way, [1.0, 2.0])  # the last episode ends at step 2,000
    (lane / "runs" / "idqn-vae" / "MinAtar-Breakout" / "s1").mkdir(parents=True)  # no episode yet

    status = status_tool.study_status(here, confirmatory_runs({"confirmatory": STUDY}), [lane])

    assert dict(status["idqn"]) == {"runs": 3, "committed": 2, "to collect": 1}
    vae = status["idqn-vae"]
    assert (vae["runs"], vae["under way"], vae["not started"]) == (3, 2, 1)
    assert vae["steps done"] == 2000
    # Priced by the agent idqn's committed runs: (8,000 + 10,000 + 10,000) steps x 0.54 s.
    assert vae["run-hours left"] == pytest.approx(28_000 * 0.54 / 3600)
    assert vae["unpriced"] == 0 and vae["steps left"] == 28_000
    # Stopped on a non-finite loss: to collect in the lane, committed once its failed.json is.
    failed = lane / "runs" / "idqn-vae" / "MinAtar-Breakout" / "s1"
    (failed / "train.log").write_text("error: non-finite td loss at update 3\n")
    again = status_tool.study_status(here, confirmatory_runs({"confirmatory": STUDY}), [lane])
    assert (again["idqn-vae"]["to collect"], again["idqn-vae"]["under way"]) == (1, 1)
    collected = here / "runs" / "idqn-vae" / "MinAtar-Breakout" / "s1"
    collected.mkdir(parents=True)
    (collected / "failed.json").write_text("{}")
    again = status_tool.study_status(here, confirmatory_runs({"confirmatory": STUDY}), [lane])
    assert again["idqn-vae"]["committed"] == 1 and again["idqn-vae"]["to collect"] == 0
    table = status_tool.markdown(status)
    assert "| **all** | 6 | 2 | 1 | 2 (0.00M steps done) | 1 | 0.03M | 4.2 |" in table


def test_a_run_that_cannot_resume_is_priced_whole(tmp_path):
    study = STUDY | {"arms": {"sb3": {"agent": "sb3-dqn", "preset": "minatar", "seeds": [0, 1]}}}
    _finish(tmp_path, "sb3", 0, 3600.0)  # 0.36 s a step: 1 run-hour a run
    under_way = tmp_path / "lane" / "runs" / "sb3" / "MinAtar-Breakout" / "s1"
    under_way.mkdir(parents=True)
    write_episode_log(under_way, [1.0])  # its progress is lost if stopped: the whole run counts
    status = status_tool.study_status(
        tmp_path, confirmatory_runs({"confirmatory": study}), [tmp_path / "lane"]
    )
    assert status["sb3"]["whole run"] == pytest.approx(1.0)
    assert "sb3: a run cannot resume" in status_tool.markdown(status)
    assert "takes about 1.0 run-hours" in status_tool.markdown(status)
    assert status["sb3"]["run-hours left"] == pytest.approx(1.0)  # s1 whole: a stop loses it
    assert status["sb3"]["steps left"] == 10_000


def test_the_committed_study_is_read_without_error_and_counts_every_run():
    runs = confirmatory_runs(yaml.safe_load((ROOT / "config" / "confirmatory.yaml").read_text()))
    status = status_tool.study_status(ROOT, runs, [])
    assert runs and sum(row["runs"] for row in status.values()) == len(runs)
    committed = len(list((ROOT / "results" / "confirmatory" / "runs").glob("*/*/s*/summary.json")))
    assert sum(row["committed"] for row in status.values()) == committed
    lines = status_tool.reading_lines(
        ROOT, yaml.safe_load((ROOT / "config" / "confirmatory.yaml").read_text())
    )
    assert [line.split(":")[0] for line in lines] == [
        "score claims",
        "attention agent",
        "interpretability",
    ]
    score_arms = ("ddqn", "idqn", "sb3-dqn", "idqn-original-code")
    finished = sum(
        len(list((ROOT / "results" / "confirmatory" / "runs" / arm).glob("*/s*/summary.json")))
        for arm in score_arms
    )
    assert lines[0].startswith(f"score claims: {finished} of 71 runs committed")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "none", "does not exist"),
        (lambda tmp: tmp, "is not a checkout of this project"),
    ],
)
def test_a_training_folder_that_is_no_checkout_is_refused(tmp_path, make, message):
    folder = make(tmp_path)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--training", str(folder)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {folder} {message}"


def test_the_committed_size_counts_the_study_without_checkpoints(tmp_path):
    run = tmp_path / "results" / "confirmatory" / "runs" / "idqn" / "MinAtar-Breakout" / "s0"
    run.mkdir(parents=True)
    (run / "episodes.csv.xz").write_bytes(b"x" * 1_500_000)
    (run / "model.pt").write_bytes(b"x" * 500_000)
    (run / "checkpoint.pt").write_bytes(b"x" * 9_000_000)  # never committed
    assert status_tool.committed_megabytes(tmp_path) == pytest.approx(2.0)
