"""Training runner: logs, checkpoints, kill-and-resume, reward clipping, evaluation."""

import csv
import json
import os
import shutil
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


# Three Pong runs of the full-size network through the CLI. The fast tier keeps the same
# SIGKILL-and-resume path on MinAtar (test_shipped_minatar_presets_resume_exactly[ddqn]).
@pytest.mark.slow
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


# Reliability: the lock, the shipped MinAtar presets' resume, extending a budget, torn logs,
# non-finite losses, a full disk, orphaned temporaries and file modes.

MINATAR_FAST = {"learning_starts": 300, "checkpoint_every_steps": 400, "log_loss_every_updates": 50}


def _minatar_cli(agent: str, out: Path, frames: int, overrides: dict = MINATAR_FAST) -> list[str]:
    cmd = [sys.executable, "-m", "agents", "train", "--agent", agent, "--game", "MinAtar-Breakout"]
    cmd += ["--preset", "minatar", "--seed", "3", "--frames", str(frames), "--out", str(out)]
    cmd += ["--no-progress"]
    for key, value in overrides.items():
        cmd += ["--set", f"{key}={value}"]
    return cmd


def _same_run(a: Path, b: Path) -> None:
    """Two run directories hold the same training history and the same final state."""
    assert _rows(a / "episodes.csv", drop="seconds") == _rows(b / "episodes.csv", drop="seconds")
    assert _rows(a / "losses.csv") == _rows(b / "losses.csv")
    first = torch.load(a / "checkpoint.pt", weights_only=True)
    second = torch.load(b / "checkpoint.pt", weights_only=True)
    for key in ("step", "episode", "updates"):
        assert first[key] == second[key], key
    for net in ("online", "target"):
        for key, tensor in first["agent"][net].items():
            assert torch.equal(tensor, second["agent"][net][key]), f"{net}.{key} differs"
    assert first["rng"]["numpy"] == second["rng"]["numpy"]


# A whole Pong run beside the refused one. The fast tier keeps the lock itself
# (tests/test_files.py::test_the_lock_refuses_a_second_holder_and_dies_with_its_process).
@pytest.mark.slow
def test_a_second_writer_is_refused(tmp_path, tiny_overrides):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(_cli(out, 4 * 2600, tiny_overrides), env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / "meta.json").exists():
        assert first.poll() is None and time.time() < deadline
        time.sleep(0.05)
    second = subprocess.run(
        _cli(out, 4 * 5200, tiny_overrides), env=env, capture_output=True, text=True
    )
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"error: run directory {out} is in use by another process (pid {first.pid}); "
        "wait for it to finish or stop it, then rerun"
    ]
    assert first.wait() == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 4 * 2600
    assert len(_rows(out / "episodes.csv")) == summary["episodes"]
    assert yaml_run(out)["frames"] == 4 * 2600  # config.yaml untouched by the refused writer
    assert not (out / ".lock").exists()


def yaml_run(out: Path) -> dict:
    import yaml

    return yaml.safe_load((out / "config.yaml").read_text())["run"]


# i-DQN's kill-and-resume is slow; its resume stays in the fast tier in process
# (test_an_idqn_run_with_logged_losses_resumes).
@pytest.mark.parametrize("agent", ["ddqn", pytest.param("idqn", marks=pytest.mark.slow)])
def test_shipped_minatar_presets_resume_exactly(tmp_path, agent):
    """The minatar presets checkpoint their replay, so a killed run resumes bit-exactly."""
    frames = 2400
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(_minatar_cli(agent, whole, frames), check=True, env=env, capture_output=True)
    proc = subprocess.Popen(_minatar_cli(agent, killed, frames), env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoint.pt").exists():
        assert proc.poll() is None, "run ended before its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (killed / "summary.json").exists():
        pytest.fail("the run finished before it could be killed; raise the budget")
    subprocess.run(_minatar_cli(agent, killed, frames), check=True, env=env, capture_output=True)
    _same_run(whole, killed)


def _signal_at_step(monkeypatch, step: int, *signals: signal.Signals) -> None:
    """Send this process ``signals`` once the training loop has finished agent step ``step``."""
    import agents.runner

    real = agents.runner.finish_step

    def finish_step(session, track, transition, save_checkpoint):
        real(session, track, transition, save_checkpoint)
        if session.step == step:
            for sig in signals:
                os.kill(os.getpid(), sig)

    monkeypatch.setattr(agents.runner, "finish_step", finish_step)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_run_with_a_checkpoint_where_it_stood(
    tmp_path, monkeypatch, python_sigint, sig
):
    """SIGINT or SIGTERM (a chunk's timeout, Snakemake stopping, Ctrl-C) saves a checkpoint at
    the step the run stands at, mid-episode, so a stopped chunk of a long run loses no steps; the
    resume equals one uninterrupted run."""
    from agents.errors import Interrupted

    run = RunSpec("ddqn", "MinAtar-Breakout", 3, 1500, "minatar")
    train(run, tmp_path / "whole", MINATAR_FAST, progress=False)
    stopped = tmp_path / "stopped"
    before = signal.getsignal(sig)
    with monkeypatch.context() as patch:
        _signal_at_step(patch, 1234, sig)
        with pytest.raises(Interrupted, match=f"{sig.name}: stopped at step 1234 "):
            train(run, stopped, MINATAR_FAST, progress=False)
    assert signal.getsignal(sig) == before  # the handler the run found is back
    saved = torch.load(stopped / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 1234 and saved["episode_actions"] is not None  # mid-episode
    assert not (stopped / "summary.json").exists()
    train(run, stopped, MINATAR_FAST, progress=False)
    _same_run(tmp_path / "whole", stopped)
    invocations = json.loads((stopped / "meta.json").read_text())["invocations"]
    assert [i["resumed_from_step"] for i in invocations] == [None, 1234]


def test_a_second_sigint_stops_at_once_without_a_checkpoint(tmp_path, monkeypatch, python_sigint):
    from agents.errors import Interrupted

    run = RunSpec("ddqn", "MinAtar-Breakout", 3, 1500, "minatar")
    _signal_at_step(monkeypatch, 1234, signal.SIGINT, signal.SIGINT)
    with pytest.raises(KeyboardInterrupt) as stopped:
        train(run, tmp_path, MINATAR_FAST, progress=False)
    assert not isinstance(stopped.value, Interrupted)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] < 1234  # periodic
    assert signal.getsignal(signal.SIGINT) == signal.default_int_handler


def test_an_ignored_sigint_stays_ignored(tmp_path, monkeypatch):
    """A run started with SIGINT ignored (a shell's background job) is not stopped by it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run = RunSpec("ddqn", "MinAtar-Breakout", 3, 1500, "minatar")
        _signal_at_step(monkeypatch, 1234, signal.SIGINT)
        summary = train(run, tmp_path, MINATAR_FAST, progress=False)
        assert summary["frames"] == 1500
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_cli_says_where_a_stopped_run_resumes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "run"
    proc = subprocess.Popen(
        _minatar_cli("ddqn", out, 200_000), env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 120
    while not (out / "checkpoint.pt").exists():
        assert proc.poll() is None and time.time() < deadline, "no checkpoint was written"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    step = torch.load(out / "checkpoint.pt", weights_only=True)["step"]
    assert err.strip().splitlines()[-1] == (
        f"interrupted by SIGTERM: stopped at step {step} (frame {step}) with a checkpoint there; "
        "rerun the same command to resume from it"
    )


@pytest.mark.parametrize("embedding", ["ae", "vae"])
def test_an_idqn_run_with_logged_losses_resumes(tmp_path, embedding):
    """A resume checks losses.csv against the columns the agent logs. i-DQN's depend on its
    config (KL with a VAE), and checking them against the class's empty default refused every
    i-DQN resume whose checkpoint had counted a logged loss row."""
    run = RunSpec("idqn", "MinAtar-Breakout", 3, 600, "minatar")
    fast = {"learning_starts": 200, "checkpoint_every_steps": 200, "log_loss_every_updates": 10}
    overrides = {**fast, "embedding": embedding}
    train(run, tmp_path, overrides, progress=False)
    assert len(_rows(tmp_path / "losses.csv")) >= 5
    longer = RunSpec("idqn", "MinAtar-Breakout", 3, 800, "minatar")
    train(longer, tmp_path, overrides, progress=False)
    assert json.loads((tmp_path / "summary.json").read_text())["frames"] == 800


@pytest.fixture(scope="module")
def longer_minatar_run(tmp_path_factory) -> Path:
    """One uninterrupted 3,000-step DDQN MinAtar run, shared by the extension tests."""
    out = tmp_path_factory.mktemp("longer") / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_minatar_cli("ddqn", out, 3000), check=True, env=env, capture_output=True)
    return out


# Each case is two MinAtar runs through the CLI: the torn logs are slow, the fast tier keeps the
# plain extension and the torn-row reading itself (tests/test_files.py).
@pytest.mark.parametrize(
    "torn",
    [
        None,
        pytest.param(("episodes.csv", "48"), marks=pytest.mark.slow),
        pytest.param(("episodes.csv", "2400,9,-2"), marks=pytest.mark.slow),
        pytest.param(("losses.csv", "1200,40,0.0"), marks=pytest.mark.slow),
    ],
)
def test_extending_a_finished_run_equals_one_longer_run(tmp_path, longer_minatar_run, torn):
    """Finish at 1,497 steps (mid-episode for seed 3), extend to 3,000: the same episodes as one
    3,000-step run.

    With ``torn``, a torn last row (a short write on a crash) is appended to a log first: it is
    dropped on resume, never kept with a wrong value, and never crashes the resume.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    extended = tmp_path / "extended"
    subprocess.run(_minatar_cli("ddqn", extended, 1497), check=True, env=env, capture_output=True)
    unfinished = torch.load(extended / "checkpoint.pt", weights_only=True)["episode_actions"]
    assert unfinished is not None and len(unfinished) > 0, "budget should end mid-episode"
    if torn is not None:
        with open(extended / torn[0], "a") as f:
            f.write(torn[1])
    subprocess.run(_minatar_cli("ddqn", extended, 3000), check=True, env=env, capture_output=True)
    _same_run(longer_minatar_run, extended)


@pytest.mark.slow
def test_extending_a_packed_run_equals_one_longer_run(tmp_path, longer_minatar_run):
    """A finished run whose logs were packed for committing (``python -m agents pack``) extends
    like one that was not: its logs are unpacked first and go on from their last row."""
    from agents.files import pack_logs

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    extended = tmp_path / "extended"
    subprocess.run(_minatar_cli("ddqn", extended, 1497), check=True, env=env, capture_output=True)
    assert {p.name for p in pack_logs(extended)} >= {"episodes.csv.xz", "losses.csv.xz"}
    subprocess.run(_minatar_cli("ddqn", extended, 3000), check=True, env=env, capture_output=True)
    assert not list(extended.glob("*.csv.xz"))
    _same_run(longer_minatar_run, extended)


def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    tmp_path, tiny_overrides, monkeypatch, capsys
):
    from agents.__main__ import main
    from agents.ddqn import DDQNAgent

    real_update = DDQNAgent.update
    calls = {"n": 0}

    def update(self, batch, step):
        calls["n"] += 1
        stats = real_update(self, batch, step)
        if calls["n"] == 400:
            stats["loss"] = torch.tensor(float("nan"))
        return stats

    monkeypatch.setattr(DDQNAgent, "update", update)
    out = tmp_path / "run"
    code = main(
        ["train", "--agent", "ddqn", "--game", "Pong", "--frames", str(4 * 2600)]
        + ["--out", str(out), "--no-progress"]
        + [x for k, v in tiny_overrides.items() for x in ("--set", f"{k}={v}")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert err[0].startswith("error: non-finite loss loss at update 400 (step ")
    kept = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (
        f"the last good checkpoint ({out / 'checkpoint.pt'}, step {kept['step']}) is kept" in err[0]
    )
    assert kept["updates"] < 400
    assert all(torch.isfinite(t).all() for t in kept["agent"]["online"].values())
    assert not (out / "summary.json").exists()


@pytest.fixture
def small_tmpfs(tmp_path):
    """A tmpfs mount whose size the test sets (needs root, as in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root (CI runs as root)")
    mount = tmp_path / "mnt"
    mount.mkdir()

    def make(size_kb: int) -> Path:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)], check=True
        )
        return mount

    yield make
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_stops_with_one_line_and_an_intact_checkpoint(tmp_path, small_tmpfs):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    source = tmp_path / "source"
    subprocess.run(_minatar_cli("ddqn", source, 1500), check=True, env=env, capture_output=True)
    used_kb = sum(p.stat().st_size for p in source.iterdir()) // 1024
    checkpoint_kb = (source / "checkpoint.pt").stat().st_size // 1024
    # Room for the run and its logs, not for a second checkpoint beside the first.
    disk = small_tmpfs(used_kb + checkpoint_kb // 2 + 64)
    run = disk / "run"
    subprocess.run(["cp", "-r", str(source), str(run)], check=True)
    before = torch.load(run / "checkpoint.pt", weights_only=True)
    result = subprocess.run(
        _minatar_cli("ddqn", run, 6000), env=env, capture_output=True, text=True
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: disk full while writing ")
    assert (
        f"the last checkpoint ({run / 'checkpoint.pt'}, step {before['step']}) is intact"
        in lines[0]
    )
    after = torch.load(run / "checkpoint.pt", weights_only=True)
    assert after["step"] == before["step"]
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]


def test_orphaned_temporaries_are_removed_and_files_keep_the_umask_mode(tmp_path, tiny_overrides):
    out = tmp_path / "run"
    spec = RunSpec("ddqn", "Pong", 0, 4 * 400, "paper")
    train(spec, out, tiny_overrides, progress=False)
    orphan = out / ".checkpoint.pt.k2j3.tmp"
    orphan.write_bytes(b"\0" * 1000)
    old = os.umask(0o022)
    try:
        train(RunSpec("ddqn", "Pong", 0, 4 * 800, "paper"), out, tiny_overrides, progress=False)
    finally:
        os.umask(old)
    assert not orphan.exists()
    for name in ("config.yaml", "meta.json", "checkpoint.pt", "summary.json", "episodes.csv"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name


# Evaluation phases (the confirmatory protocol): played apart from training, resumed exactly.

EVALUATED = {**MINATAR_FAST, "eval_every_steps": 400, "eval_episodes": 2, "eval_max_steps": 300}


def _train_minatar(agent: str, out: Path, frames: int, overrides: dict) -> dict:
    return train(
        RunSpec(agent, "MinAtar-Breakout", 3, frames, "minatar"),
        out,
        overrides,
        device="cpu",
        progress=False,
    )


@pytest.mark.parametrize("agent", ["ddqn", "idqn"])
def test_evaluation_phases_leave_training_untouched(tmp_path, agent):
    """The same run with and without evaluation phases: the same episodes, losses, weights and
    RNG state; the phases land in evals.csv at every eval_every_steps, each episode cut at
    eval_max_steps, and the summary gives the last phase's mean."""
    plain, evaluated = tmp_path / "plain", tmp_path / "evaluated"
    _train_minatar(agent, plain, 1200, MINATAR_FAST)
    summary = _train_minatar(agent, evaluated, 1200, EVALUATED)
    _same_run(plain, evaluated)
    evals = _rows(evaluated / "evals.csv")
    assert [(int(r["frame"]), int(r["episode"])) for r in evals] == [
        (frame, episode) for frame in (400, 800, 1200) for episode in (0, 1)
    ]
    assert all(1 <= int(r["length"]) <= 300 for r in evals)
    last = [float(r["return"]) for r in evals if r["frame"] == "1200"]
    assert summary["final_eval_return"] == pytest.approx(sum(last) / 2)
    assert summary["eval_phases"] == 3
    assert not (plain / "evals.csv").exists()


def test_extending_a_run_with_evaluation_phases_equals_one_longer_run(tmp_path):
    """A budget extended from 600 to 1,200 steps (through the checkpoint, as a resume) plays the
    phases at 800 and 1,200 once, exactly as one 1,200-step run does."""
    whole, extended = tmp_path / "whole", tmp_path / "extended"
    _train_minatar("ddqn", whole, 1200, EVALUATED)
    _train_minatar("ddqn", extended, 600, EVALUATED)
    assert {r["frame"] for r in _rows(extended / "evals.csv")} == {"400"}
    _train_minatar("ddqn", extended, 1200, EVALUATED)
    _same_run(whole, extended)
    assert _rows(whole / "evals.csv") == _rows(extended / "evals.csv")


def test_a_resume_without_its_evaluation_log_is_refused(tmp_path):
    """A phase is played once; a resume that finds the phases before its checkpoint missing
    stops with one line instead of writing a log with a hole in it."""
    from agents.errors import UsageError

    out = tmp_path / "run"
    _train_minatar("ddqn", out, 600, EVALUATED)
    (out / "evals.csv").unlink()
    with pytest.raises(UsageError, match=r"evals.csv holds 0 complete rows, but .* has logged 2"):
        _train_minatar("ddqn", out, 1200, EVALUATED)
    assert not (out / "evals.csv").exists()
    assert json.loads((out / "summary.json").read_text())["frames"] == 600  # still finished


def _refused(cmd: list[str]) -> str:
    """Run ``cmd``, which must be refused as bad input with one line: that line."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    return lines[0]


@pytest.mark.parametrize(
    "log,frames",
    [("episodes.csv", 3000), ("episodes.csv", 3600), ("losses.csv", 3000)],
    ids=["episodes-deleted-finished", "episodes-deleted-extended", "losses-halved-finished"],
)
def test_a_resume_whose_log_was_lost_is_refused(tmp_path, longer_minatar_run, log, frames):
    """A log that lost rows would be continued from the checkpoint's counters: an episode log
    starting at episode 390, or a finished run's summary beside an empty log."""
    run = tmp_path / "run"
    shutil.copytree(longer_minatar_run, run)
    if log == "episodes.csv":
        (run / log).unlink()
    else:
        lines = (run / log).read_text().splitlines(keepends=True)
        (run / log).write_text("".join(lines[: len(lines) // 2]))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    line = _refused(_minatar_cli("ddqn", run, frames))
    checkpoint = run / "checkpoint.pt"
    assert line.startswith(f"error: {run / log} holds ")
    assert f"but {checkpoint} (step 3000) has logged " in line
    assert line.endswith(f"restore it, or delete {checkpoint} to restart the run")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_smaller_budget_on_a_finished_run_is_refused(tmp_path, longer_minatar_run):
    """It would rewrite config.yaml to the smaller budget beside the larger run's summary."""
    run = tmp_path / "run"
    shutil.copytree(longer_minatar_run, run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    line = _refused(_minatar_cli("ddqn", run, 1500))
    assert line == (
        f"error: --frames 1500 is less than the 3000 frames {run} has already trained; a budget "
        "can only grow: use --frames 3000 or more, or a new --out"
    )
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_full_disk_at_start_exits_1_and_leaves_nothing_behind(small_tmpfs):
    disk = small_tmpfs(64)
    with open(disk / "filler", "wb", buffering=0) as f, pytest.raises(OSError):
        while True:
            f.write(bytes(4096))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = disk / "run"
    result = subprocess.run(_minatar_cli("ddqn", run, 100), env=env, capture_output=True, text=True)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: disk full: ")
    assert lines[0].endswith("nothing was written: free space and rerun the same command")
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_a_finished_run_run_again_keeps_its_unfinished_episode(tmp_path, longer_minatar_run):
    """Running a finished run again rewrites its checkpoint: the episode its budget cut short
    must stay in it, or a later extension would start a new episode where one longer run
    continues the cut one."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    extended = tmp_path / "extended"
    for _ in range(2):
        subprocess.run(
            _minatar_cli("ddqn", extended, 1497), check=True, env=env, capture_output=True
        )
        unfinished = torch.load(extended / "checkpoint.pt", weights_only=True)["episode_actions"]
        assert unfinished is not None and len(unfinished) > 0
    subprocess.run(_minatar_cli("ddqn", extended, 3000), check=True, env=env, capture_output=True)
    _same_run(longer_minatar_run, extended)


@pytest.mark.parametrize("agent", ["ddqn", "idqn"])
def test_a_run_whose_checkpoint_is_lost_resumes_warm_from_its_resume_point(tmp_path, agent):
    """resume.pt (weights as float16, no replay, optimiser or target) takes a run on from the
    checkpoint's step and episode when checkpoint.pt is gone; the replay refills for
    ``learning_starts`` steps before the next update, and meta.json says the resume was warm."""
    from agents.rundir import RESUME_POINT_LEAVES_OUT, write_resume_point

    overrides = {"learning_starts": 150, "checkpoint_every_steps": 200, "log_loss_every_updates": 5}
    out = tmp_path / "run"
    first = train(
        RunSpec(agent, "MinAtar-Breakout", 0, 600, "minatar"), out, overrides, progress=False
    )
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    point = torch.load(write_resume_point(out), weights_only=True)
    assert point["replay"] is None and "online" in point["agent"]
    assert not set(point["agent"]) & set(RESUME_POINT_LEAVES_OUT)
    assert all(t.dtype == torch.float16 for t in point["agent"]["online"].values())
    assert (point["step"], point["episode"], point["updates"]) == (
        checkpoint["step"],
        checkpoint["episode"],
        checkpoint["updates"],
    )
    assert (out / "resume.pt").stat().st_size < (out / "checkpoint.pt").stat().st_size / 5
    (out / "checkpoint.pt").unlink()
    episodes_before = _rows(out / "episodes.csv")

    summary = train(
        RunSpec(agent, "MinAtar-Breakout", 0, 1200, "minatar"), out, overrides, progress=False
    )

    last = json.loads((out / "meta.json").read_text())["invocations"][-1]
    assert last["resumed_from_step"] == 600 and last["resumed_from"].startswith("resume.pt")
    assert last["resumed_without"] == RESUME_POINT_LEAVES_OUT
    episodes = _rows(out / "episodes.csv")
    assert episodes[: len(episodes_before)] == episodes_before
    assert [int(r["episode"]) for r in episodes] == list(range(len(episodes)))
    losses = _rows(out / "losses.csv")
    resumed = [int(r["frame"]) for r in losses if int(r["update"]) > first["updates"]]
    assert resumed and min(resumed) >= 600 + 150  # nothing learned while the replay refilled
    assert summary["updates"] > first["updates"]
    assert not (out / "resume.pt").exists()  # the finished run's model.pt supersedes it


def test_a_resume_point_of_another_run_is_refused(tmp_path):
    from agents.errors import UsageError
    from agents.rundir import write_resume_point

    overrides = {"learning_starts": 100, "checkpoint_every_steps": 200}
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for out, lr in ((ours, 1e-4), (theirs, 1e-3)):
        run = RunSpec("ddqn", "MinAtar-Breakout", 0, 300, "minatar")
        train(run, out, {**overrides, "lr": lr}, progress=False)
    shutil.copy(write_resume_point(theirs), ours / "resume.pt")
    (ours / "checkpoint.pt").unlink()
    meta = (ours / "meta.json").read_bytes()
    with pytest.raises(UsageError, match="resume point .*resume.pt does not match this run"):
        run = RunSpec("ddqn", "MinAtar-Breakout", 0, 600, "minatar")
        train(run, ours, {**overrides, "lr": 1e-4}, progress=False)
    assert (ours / "meta.json").read_bytes() == meta  # refused before anything was written


def test_restoring_a_resume_point_takes_its_weights_and_starts_adam_and_the_target_afresh():
    from agents.config import resolve
    from agents.contract import EnvSpec
    from agents.idqn import IDQNAgent
    from agents.rundir import RESUME_POINT_FORMAT, _float16, restore_agent

    config = resolve(RunSpec("idqn", "MinAtar-Breakout", 0, 1000, "minatar"), {})
    spec = EnvSpec("MinAtar-Breakout", 3, (4, 10, 10), (4, 10, 10), 1, ("NOOP", "LEFT", "RIGHT"))
    trained, fresh = (IDQNAgent(config, spec, torch.device("cpu")) for _ in range(2))
    with torch.no_grad():
        for param in trained.online.parameters():
            param.add_(torch.randn_like(param))
        trained.input_mean.fill_(0.3)
    kept = {k: v for k, v in trained.state_dict().items() if k not in ("optimizer", "target")}
    restore_agent(fresh, {"format": RESUME_POINT_FORMAT, "agent": _float16(kept)})
    for key, tensor in trained.online.state_dict().items():
        assert torch.equal(fresh.online.state_dict()[key], tensor.half().float()), key
        assert torch.equal(fresh.target.state_dict()[key], fresh.online.state_dict()[key]), key
    assert torch.allclose(fresh.input_mean, torch.full_like(fresh.input_mean, 0.3), atol=1e-3)
    assert fresh.optimizer.state_dict()["state"] == {}


def test_a_resume_point_older_than_the_logs_is_refused(tmp_path):
    """Its warm resume would replace the logged rows after it with others, silently."""
    from agents.errors import UsageError
    from agents.rundir import write_resume_point

    overrides = {"learning_starts": 100, "checkpoint_every_steps": 200}
    out = tmp_path / "run"
    train(RunSpec("ddqn", "MinAtar-Breakout", 0, 300, "minatar"), out, overrides, progress=False)
    old = shutil.copy(write_resume_point(out), tmp_path / "old-resume.pt")
    train(RunSpec("ddqn", "MinAtar-Breakout", 0, 900, "minatar"), out, overrides, progress=False)
    assert not (out / "resume.pt").exists()  # the finished run's model.pt supersedes it
    (out / "summary.json").unlink()
    (out / "checkpoint.pt").unlink()
    shutil.copy(old, out / "resume.pt")
    episodes = (out / "episodes.csv").read_bytes()
    with pytest.raises(UsageError, match="rows past .*resume.pt .*older than the logs"):
        train(
            RunSpec("ddqn", "MinAtar-Breakout", 0, 1200, "minatar"), out, overrides, progress=False
        )
    assert (out / "episodes.csv").read_bytes() == episodes
