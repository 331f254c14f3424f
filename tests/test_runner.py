"""Training runner: logs, checkpoints, kill-and-resume, reward clipping, evaluation."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from agents.runner import RunSpec, evaluate, train


def _cli(out: Path, frames: int, overrides: dict, seed: int = 0) -> list[str]:
    cmd = [sys.executable, "-m", "agents", "train", "--agent", "ddqn", "--game", "Pong"]
    cmd += ["--seed", str(seed), "--frames", str(frames), "--out", str(out), "--no-progress"]
    for key, value in overrides.items():
        cmd += ["--set", f"{key}={value}"]
    return cmd


def _rows(path: Path, drop: str | None = None) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if k != drop} for r in rows]


def test_killed_run_resumes_to_the_same_state(tmp_path, tiny_overrides):
    frames = 4 * 2600  # about three Pong episodes at random play
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(_cli(whole, frames, tiny_overrides), check=True, env=env, capture_output=True)

    proc = subprocess.Popen(
        _cli(killed, frames, tiny_overrides), env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while not (killed / "checkpoint.pt").exists():
        assert proc.poll() is None, "run ended before its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # let it run past the checkpoint, so resuming must discard work
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists()
    first = torch.load(killed / "checkpoint.pt", weights_only=True)
    assert 0 < first["step"] < frames // 4

    subprocess.run(_cli(killed, frames, tiny_overrides), check=True, env=env, capture_output=True)

    a = torch.load(whole / "checkpoint.pt", weights_only=True)
    b = torch.load(killed / "checkpoint.pt", weights_only=True)
    assert (a["step"], a["episode"], a["updates"]) == (b["step"], b["episode"], b["updates"])
    assert a["updates"] > 100
    for net in ("online", "target"):
        for key, tensor in a["agent"][net].items():
            assert torch.equal(tensor, b["agent"][net][key]), f"{net}.{key} differs"
    assert a["rng"]["numpy"] == b["rng"]["numpy"]
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    assert torch.equal(a["replay"]["frames"], b["replay"]["frames"])
    assert _rows(whole / "episodes.csv", drop="seconds") == _rows(
        killed / "episodes.csv", drop="seconds"
    )
    assert _rows(whole / "losses.csv") == _rows(killed / "losses.csv")
    invocations = json.loads((killed / "meta.json").read_text())["invocations"]
    assert [i["resumed_from_step"] for i in invocations] == [None, first["step"]]


def test_run_directory_contents(tmp_path, tiny_overrides):
    out = tmp_path / "run"
    summary = train(
        RunSpec("ddqn", "Pong", 0, 4 * 1200, "paper"), out, tiny_overrides, progress=False
    )
    for name in (
        "config.yaml",
        "meta.json",
        "episodes.csv",
        "losses.csv",
        "checkpoint.pt",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    meta = json.loads((out / "meta.json").read_text())["invocations"][0]
    assert meta["versions"]["torch"].startswith("2.13") and meta["git_commit"]
    assert summary["frames"] == 4800 and summary["episodes"] >= 1
    episodes = _rows(out / "episodes.csv")
    assert list(episodes[0]) == ["frame", "episode", "return", "length", "seconds"]
    assert -21 <= float(episodes[0]["return"]) <= 21
    # Nothing temporary is left behind by the atomic writes.
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # Rerunning a finished run is a no-op that keeps its results.
    again = train(
        RunSpec("ddqn", "Pong", 0, 4 * 1200, "paper"), out, tiny_overrides, progress=False
    )
    assert again["updates"] == summary["updates"] and _rows(out / "episodes.csv") == episodes

    result = evaluate(out, 2, progress=False)
    assert result["episodes"] == 2 and len(_rows(out / "eval.csv")) == 2


def test_reward_clipping_changes_what_is_learned_not_what_is_logged(tmp_path):
    # SpaceInvaders pays 5-30 points per invader; no learning, just play and store.
    overrides = {"learning_starts": 10**6, "replay_capacity": 3000, "checkpoint_every_steps": 10**6}
    for clip in (True, False):
        out = tmp_path / f"clip{clip}"
        overrides["clip_rewards"] = clip
        train(
            RunSpec("ddqn", "SpaceInvaders", 0, 4 * 2500, "paper"), out, overrides, progress=False
        )
        stored = torch.load(out / "checkpoint.pt", weights_only=True)["replay"]["rewards"]
        returns = [float(r["return"]) for r in _rows(out / "episodes.csv")]
        assert returns and max(returns) > 10  # raw game score
        if clip:
            assert stored.max() == 1.0 and stored.min() >= -1.0
        else:
            assert stored.max() >= 5.0


@pytest.mark.parametrize("preset", ["paper", "original-code"])
def test_presets_train(tmp_path, tiny_overrides, preset):
    summary = train(
        RunSpec("ddqn", "Freeway", 1, 4 * 400, preset),
        tmp_path / preset,
        tiny_overrides,
        progress=False,
    )
    assert summary["updates"] == (400 - 200) // 4 + 1
