"""Every bad-input case: one clear line on stderr, exit status 2, nothing half-written."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agents.__main__ import main
from agents.files import RunLock
from agents.runner import RunSpec, train

BASE = ["train", "--agent", "ddqn", "--game", "Pong", "--seed", "0", "--no-progress"]


def _fail(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    return err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--game", "Zork", "--frames", "100"], "unknown game 'Zork'; valid games: Alien, Freeway"),
        (
            ["--agent", "rainbow", "--frames", "100"],
            "unknown agent 'rainbow'; valid agents: ddqn, idqn",
        ),
        (["--frames", "0"], "--frames must be positive"),
        (["--frames", "-5"], "--frames must be positive"),
        (["--frames", "100", "--set", "learning_rate=1"], "unknown config key 'learning_rate'"),
        (["--frames", "100", "--set", "gamma=2"], "invalid config value for gamma"),
        (
            ["--frames", "100", "--preset", "nope"],
            "unknown preset 'nope' for agent ddqn; valid presets:",
        ),
        (["--frames", "100", "--seed", "-1"], "--seed must be an integer in [0, 2^63 - 1]"),
        (["--frames", "100", "--seed", str(2**64)], "--seed must be an integer in [0, 2^63 - 1]"),
        (["--frames", "100", "--set", "replay_capacity=1"], "replay_capacity (1) must exceed"),
        (["--frames", "100", "--set", "frame_stack=100000"], "frame_stack: Input should be"),
        (["--frames", "100", "--set", "lr=inf"], "lr: Input should be a finite number"),
        (["--frames", "100", "--set", "lr=nan"], "lr: Input should be a finite number"),
        (["--frames", "100", "--set", "batch_size=true"], "batch_size expects a number"),
        (["--frames", "100", "--device", "tpu"], "unknown device 'tpu'"),
        (["--frames", "100", "--device", "cuda:7"], "cuda:7"),
        (
            ["--frames", "100", "--agent", "idqn", "--set", "value_min=30"],
            "value_min (30.0) must be less than value_max (25.0)",
        ),
        (
            ["--frames", "100", "--game", "MinAtar-Breakout", "--preset", "minatar"]
            + ["--set", "color=true"],
            "MinAtar has no colour frames",
        ),
    ],
)
def test_bad_input(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    err = _fail(capsys, BASE + ["--out", str(out)] + args)
    assert message in err
    assert not out.exists()


def test_empty_out_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "--out must not be empty" in _fail(capsys, BASE + ["--frames", "100", "--out", ""])
    assert list(tmp_path.iterdir()) == []


def test_bad_input_leaves_the_directory_usable(tmp_path, capsys, tiny_overrides):
    out = tmp_path / "run"
    _fail(capsys, _argv(out, {**tiny_overrides, "replay_capacity": 1}, frames=40))
    assert not out.exists()
    assert main(_argv(out, tiny_overrides, frames=40)) == 0
    assert (out / "summary.json").is_file()


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    err = _fail(capsys, BASE + ["--frames", "100", "--out", str(blocker / "run")])
    assert "cannot create output directory" in err
    err = _fail(capsys, BASE + ["--frames", "100", "--out", str(blocker)])
    assert "exists and is not a directory" in err


@pytest.fixture(scope="module")
def _trained_run(tmp_path_factory, shared_tiny_overrides) -> tuple[Path, dict]:
    """A finished 100-step DDQN Pong run, trained once for this module (a Pong run of the
    full-size network is seconds of training, and a dozen tests read one)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    overrides = {**shared_tiny_overrides, "learning_starts": 50}
    train(RunSpec("ddqn", "Pong", 0, 4 * 100, "paper"), out, overrides, progress=False)
    return out, overrides


@pytest.fixture
def finished_run(tmp_path, _trained_run):
    """A copy of the module's finished run in this test's folder, for the test to damage."""
    source, overrides = _trained_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    return out, dict(overrides)


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _argv(out, overrides, seed=0, frames=400):
    sets = [x for k, v in overrides.items() for x in ("--set", f"{k}={v}")]
    return [
        "train",
        "--agent",
        "ddqn",
        "--game",
        "Pong",
        "--seed",
        str(seed),
        "--frames",
        str(frames),
        "--out",
        str(out),
        "--no-progress",
        *sets,
    ]


def test_corrupt_checkpoint(capsys, finished_run):
    out, overrides = finished_run
    (out / "checkpoint.pt").write_bytes(b"\x00garbage")
    before = _snapshot(out)
    err = _fail(capsys, _argv(out, overrides, frames=800))
    assert "is corrupt or unreadable" in err
    assert _snapshot(out) == before


def test_checkpoint_from_another_run(tmp_path, capsys, finished_run):
    out, overrides = finished_run
    other = tmp_path / "other"
    train(RunSpec("ddqn", "Pong", 1, 4 * 60, "paper"), other, overrides, progress=False)
    shutil.copy(out / "checkpoint.pt", other / "checkpoint.pt")
    before = _snapshot(other)
    err = _fail(capsys, _argv(other, overrides, seed=1, frames=800))
    assert "does not match this run's config" in err
    assert _snapshot(other) == before


def test_reusing_a_run_directory_with_another_config(capsys, finished_run):
    out, overrides = finished_run
    before = _snapshot(out)
    err = _fail(capsys, _argv(out, overrides, seed=3))
    assert "holds a run with a different config" in err
    assert _snapshot(out) == before


@pytest.mark.parametrize("name", ["config.yaml", "meta.json"])
@pytest.mark.parametrize("garbage", [b"\xff\xfe not utf-8", b"run: [unclosed", b"[]"])
def test_corrupt_run_files_are_refused(capsys, finished_run, name, garbage):
    out, overrides = finished_run
    (out / name).write_bytes(garbage)
    before = _snapshot(out)
    err = _fail(capsys, _argv(out, overrides, frames=800))
    assert name in err and ("corrupt" in err or "not a" in err)
    assert _snapshot(out) == before


def test_evaluate_errors(tmp_path, capsys):
    assert "is not a run directory" in _fail(
        capsys, ["evaluate", "--run", str(tmp_path), "--episodes", "1"]
    )


def test_real_process_exit_code(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents",
            *BASE,
            "--game",
            "Zork",
            "--frames",
            "10",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: unknown game 'Zork'; valid games: Alien, Freeway, Frostbite, Gravitar, MsPacman, "
        "Qbert, SpaceInvaders, Venture, Pong, MinAtar-Breakout"
    )


def _flip_bytes_of_a_weight(path):
    """Invert 16 bytes in the middle of the online network's first linear weight, in place."""
    weight = torch.load(path, weights_only=True)["agent"]["online"]["head.0.weight"]
    data = path.read_bytes()
    start = data.find(weight.numpy().tobytes())
    assert start >= 0, "the weight's bytes should be stored as they are"
    middle = start + weight.numel() * weight.element_size() // 2
    with open(path, "r+b") as f:
        f.seek(middle)
        f.write(bytes(b ^ 0xFF for b in data[middle : middle + 16]))


@pytest.mark.parametrize("name", ["checkpoint.pt", "model.pt"])
def test_a_checkpoint_with_a_flipped_byte_is_refused(capsys, finished_run, name):
    """torch.load reads a changed weight without complaint; the zip CRCs catch it."""
    out, overrides = finished_run
    if name == "model.pt":
        (out / "checkpoint.pt").unlink()  # evaluate then loads the weights-only model.pt
    _flip_bytes_of_a_weight(out / name)
    before = _snapshot(out)
    if name == "checkpoint.pt":
        err = _fail(capsys, _argv(out, overrides, frames=800))
        assert f"checkpoint {out / name} is corrupt (CRC-32 mismatch in " in err
    err = _fail(capsys, ["evaluate", "--run", str(out), "--episodes", "1", "--no-progress"])
    assert f"{out / name} is corrupt (CRC-32 mismatch in " in err
    assert _snapshot(out) == before


def test_a_folder_that_is_not_a_run_is_refused_and_left_untouched(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.json").write_text('{"mine": true}')
    (out / "notes.txt").write_text("results of another project")
    (out / ".draft.tmp").write_text("an editor's temporary file")
    before = _snapshot(out)
    err = _fail(capsys, BASE + ["--frames", "100", "--out", str(out)])
    assert f"--out {out} is not empty and holds no run (no config.yaml): " in err
    assert _snapshot(out) == before  # nothing deleted, overwritten or added (no .lock either)


def test_a_folder_holding_only_a_job_log_is_a_new_run(tmp_path, capsys, tiny_overrides):
    """The pipeline's shell creates ``train.log`` in the run folder before the run starts."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "train.log").write_text("")
    assert main(_argv(out, tiny_overrides, frames=40)) == 0
    assert (out / "summary.json").is_file() and (out / "train.log").is_file()


@pytest.mark.parametrize("key,value", [("replay_capacity", 10**14), ("hidden_dim", 10**9)])
def test_impossible_sizes_are_refused_before_anything_is_written(tmp_path, key, value):
    """In a real process: the emulator made to measure the networks prints no banner."""
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "agents", *BASE, "--frames", "100", "--out", str(out)]
        + ["--set", f"{key}={value}"],
        capture_output=True,
        text=True,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: this run needs about ")
    assert "available; lower replay_capacity or the network sizes" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_evaluate_refuses_a_bad_seed(capsys, finished_run, seed):
    out, _ = finished_run
    err = _fail(capsys, ["evaluate", "--run", str(out), "--episodes", "1", "--seed", seed])
    assert "--seed must be an integer in [0, 2^63 - 1]" in err
    assert not (out / "eval.csv").exists()


def test_evaluate_refuses_a_run_being_trained(capsys, finished_run):
    """An eval.csv of a training run's intermediate checkpoint would look final."""
    out, _ = finished_run
    with RunLock(out):  # what a train process holds
        err = _fail(capsys, ["evaluate", "--run", str(out), "--episodes", "1", "--no-progress"])
    assert f"run directory {out} is in use by another process" in err
    assert not (out / "eval.csv").exists()


@pytest.mark.parametrize(
    "argv,message",
    [
        (BASE + ["--frames", "100", "--out", "r", "--seed", "1.5"], "invalid int value: '1.5'"),
        (BASE + ["--frames", "100", "--out", "r", "--seed", "0x10"], "invalid int value: '0x10'"),
        (["train", "--agent", "ddqn"], "the following arguments are required: --game"),
        (["evaluate", "--run", "r", "--episodes", "two"], "invalid int value: 'two'"),
        (["report", "tabel1", "--out", "r"], "invalid choice: 'tabel1'"),
        (["trian"], "invalid choice: 'trian'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_a_malformed_option_is_one_error_line(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    err = _fail(capsys, argv)
    assert message in err and "usage:" not in err
    assert list(tmp_path.iterdir()) == []


def test_resume_point_refuses_a_finished_run_and_one_without_a_checkpoint(capsys, finished_run):
    out, _ = finished_run
    before = _snapshot(out)
    assert "is finished (summary.json)" in _fail(capsys, ["resume-point", str(out)])
    assert _snapshot(out) == before
    (out / "summary.json").unlink()
    (out / "checkpoint.pt").unlink()
    before = _snapshot(out)
    assert "has no checkpoint.pt" in _fail(capsys, ["resume-point", str(out)])
    assert _snapshot(out) == before


def test_resume_point_writes_resume_pt_beside_the_checkpoint(capsys, finished_run):
    out, _ = finished_run
    (out / "summary.json").unlink()  # as a chunk of a longer run leaves it
    assert main(["resume-point", str(out)]) == 0
    assert '"wrote"' in capsys.readouterr().out
    point = torch.load(out / "resume.pt", weights_only=True)
    assert point["format"] == "resume point 1" and point["replay"] is None


def test_resume_point_refuses_an_on_policy_run(tmp_path, capsys):
    out = tmp_path / "attention"
    run = RunSpec("attention", "MinAtar-Breakout", 0, 200, "minatar")
    train(run, out, {"checkpoint_every_steps": 100}, progress=False)
    (out / "summary.json").unlink()
    assert "resume points are for replay agents" in _fail(capsys, ["resume-point", str(out)])
    assert not (out / "resume.pt").exists()
