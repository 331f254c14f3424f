"""The vector runner: a killed or extended attention-agent run gives the same run as one
uninterrupted run (episodes, losses, weights, optimiser, recurrent state, RNG)."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.rollout import TRAIN_STREAM, episode_seed
from agents.rundir import RunSpec, resolve
from agents.vector_runner import make_vector_env

# Small enough to run thousands of steps in seconds on one thread.
FAST = {
    "num_envs": 4,
    "unroll_length": 5,
    "core_channels": 8,
    "value_channels": 8,
    "policy_hidden": 32,
    "answer_hidden": 32,
    "checkpoint_every_steps": 400,
    "log_loss_every_updates": 1,
}
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
WHOLE = 1600  # frames of the uninterrupted run: 80 updates, checkpoints at 400, 800 and 1200


def _cli(out: Path, frames: int, overrides: dict = FAST) -> list[str]:
    cmd = [sys.executable, "-m", "agents", "train", "--agent", "attention"]
    cmd += ["--game", "MinAtar-Breakout", "--preset", "minatar", "--seed", "5"]
    cmd += ["--frames", str(frames), "--out", str(out), "--no-progress"]
    for key, value in overrides.items():
        cmd += ["--set", f"{key}={value}"]
    return cmd


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def _same_run(a: Path, b: Path) -> None:
    assert _rows(a / "episodes.csv") == _rows(b / "episodes.csv")
    assert _rows(a / "losses.csv") == _rows(b / "losses.csv")
    first = torch.load(a / "checkpoint.pt", weights_only=True)
    second = torch.load(b / "checkpoint.pt", weights_only=True)
    for key in ("step", "episode", "updates"):
        assert first[key] == second[key], key
    for key, tensor in first["agent"]["net"].items():
        assert torch.equal(tensor, second["agent"]["net"][key]), f"net.{key} differs"
    moments = first["agent"]["optimizer"]["state"]
    for index, slot in moments.items():
        other = second["agent"]["optimizer"]["state"][index]
        assert torch.equal(slot["square_avg"], other["square_avg"]), f"optimizer {index}"
    for key, tensor in first["replay"]["state"].items():
        assert torch.equal(tensor, second["replay"]["state"][key]), f"recurrent {key} differs"
    assert first["rng"]["numpy"] == second["rng"]["numpy"]
    assert [e["episode"] for e in first["envs"]] == [e["episode"] for e in second["envs"]]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "run"
    subprocess.run(_cli(out, WHOLE), check=True, env=ENV, capture_output=True)
    return out


def test_killed_run_resumes_to_the_same_state(tmp_path, whole_run):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(killed, WHOLE), env=ENV, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoint.pt").exists():
        assert proc.poll() is None, "run ended before its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # run past the checkpoint, so the resume must discard work
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (killed / "summary.json").exists():
        pytest.fail("the run finished before it could be killed; raise the budget")
    first = torch.load(killed / "checkpoint.pt", weights_only=True)
    assert 0 < first["step"] < WHOLE
    assert any(len(e["actions"]) > 0 for e in first["envs"]), "no episode was under way"
    subprocess.run(_cli(killed, WHOLE), check=True, env=ENV, capture_output=True)
    _same_run(whole_run, killed)
    summary = torch.load(whole_run / "checkpoint.pt", weights_only=True)
    assert summary["updates"] == WHOLE // (4 * 5)


def test_extending_a_run_that_ended_mid_unroll_equals_one_longer_run(tmp_path, whole_run):
    """602 frames end after 151 vector steps (604 steps), one step into an unroll and in the
    middle of episodes; extended to the whole budget, it is the uninterrupted run."""
    extended = tmp_path / "extended"
    subprocess.run(_cli(extended, 602), check=True, env=ENV, capture_output=True)
    saved = torch.load(extended / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 604
    assert saved["replay"]["unroll"] is not None and len(saved["replay"]["unroll"]["obs"]) == 1
    subprocess.run(_cli(extended, WHOLE), check=True, env=ENV, capture_output=True)
    _same_run(whole_run, extended)


def test_a_checkpoint_from_other_environments_is_refused(tmp_path, whole_run):
    """A resume whose replay does not reach the saved observation stops with one line."""
    run = tmp_path / "run"
    subprocess.run(_cli(run, 202), check=True, env=ENV, capture_output=True)
    path = run / "checkpoint.pt"
    saved = torch.load(path, weights_only=True)
    saved["envs"][0]["digest"] = "0" * 16
    torch.save(saved, path)
    result = subprocess.run(_cli(run, 402), env=ENV, capture_output=True, text=True)
    assert result.returncode != 0
    assert "did not reach the saved observation" in result.stderr.strip().splitlines()[-1]


def test_each_environment_plays_its_own_seeded_episodes():
    """Environment i's k-th episode starts from episode_seed(run seed, k * N + i): two vector
    envs reset with those seeds agree, and different environments get different episodes."""
    run = RunSpec(agent="attention", game="MinAtar-Breakout", seed=5, frames=100, preset="minatar")
    config = resolve(run, FAST)
    first, second = make_vector_env(run, config, 4), make_vector_env(run, config, 4)
    seeds = [episode_seed(5, i, TRAIN_STREAM) for i in range(4)]
    a, _ = first.reset(seed=seeds)
    b, _ = second.reset(seed=seeds)
    actions = np.array([0, 1, 2, 0])
    done = np.zeros(4, dtype=bool)
    while not done.any():
        a, _, terminated, truncated, _ = first.step(actions)
        b, *_ = second.step(actions)
        assert np.array_equal(a, b)
        done = terminated | truncated
    assert len({a[i].tobytes() for i in range(4)}) > 1, "the environments play the same episode"
    assert len({episode_seed(5, k * 4 + i, TRAIN_STREAM) for k in range(3) for i in range(4)}) == 12
    first.close()
    second.close()


def test_evaluation_phases_leave_vector_training_untouched(tmp_path, whole_run):
    """The whole run again with an evaluation phase every 400 steps (the attention agent's
    evaluation policy, one environment and its own memory): the same episodes, losses, weights,
    optimiser, recurrent state and RNG; the phases land in evals.csv at 400, 800, 1200 and 1600."""
    evaluated = tmp_path / "evaluated"
    phases = {"eval_every_steps": 400, "eval_episodes": 2, "eval_max_steps": 200}
    subprocess.run(
        _cli(evaluated, WHOLE, {**FAST, **phases}), check=True, env=ENV, capture_output=True
    )
    _same_run(whole_run, evaluated)
    evals = _rows(evaluated / "evals.csv")
    assert [(int(r["frame"]), int(r["episode"])) for r in evals] == [
        (frame, episode) for frame in (400, 800, 1200, 1600) for episode in (0, 1)
    ]
    assert all(1 <= int(r["length"]) <= 200 for r in evals)
    assert not (whole_run / "evals.csv").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_run_with_a_checkpoint_mid_unroll(
    tmp_path, monkeypatch, python_sigint, sig
):
    """SIGINT or SIGTERM saves a checkpoint at the vector step the run stands at (here one step
    into an unroll), and the resume equals one uninterrupted run."""
    import agents.runner
    from agents.errors import Interrupted

    run = RunSpec(
        agent="attention", game="MinAtar-Breakout", seed=5, frames=WHOLE, preset="minatar"
    )
    agents.runner.train(run, tmp_path / "whole", FAST, progress=False)
    real = agents.runner.Session.evaluate_if_due

    def evaluate_if_due(session):
        real(session)
        if session.step == 604:
            os.kill(os.getpid(), sig)

    stopped = tmp_path / "stopped"
    with monkeypatch.context() as patch:
        patch.setattr(agents.runner.Session, "evaluate_if_due", evaluate_if_due)
        with pytest.raises(Interrupted, match=f"{sig.name}: stopped at step 604 "):
            agents.runner.train(run, stopped, FAST, progress=False)
    saved = torch.load(stopped / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 604 and len(saved["replay"]["unroll"]["obs"]) == 1
    agents.runner.train(run, stopped, FAST, progress=False)
    _same_run(tmp_path / "whole", stopped)
