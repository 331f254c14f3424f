"""tools/run_atari_chunk.sh: one chunk of a long Pong run (issue 27), resumed from its checkpoint,
recorded as a row of results/atari/README.md."""

import shutil
import subprocess
import sys

from workflow_helpers import ROOT

RUN = "results/atari/pong/ddqn/Pong/s0"
HEADER = "| agent | began (UTC) | start frame | end frame | CPU | wall s | how it ended |\n"


def _layout(tmp_path, logs: bool):
    """The script, config/pong.yaml, the chunks' README and a DDQN run that has a config and,
    with ``logs``, an episode log to frame 8,000 but no checkpoint (as on a new machine)."""
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "run_atari_chunk.sh", tmp_path / "tools")
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "pong.yaml", tmp_path / "config")
    run = tmp_path / RUN
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("config: {frame_skip: 4}\n")
    if logs:
        (run / "episodes.csv").write_text(
            "frame,episode,return,length,seconds\n4000,0,-21.0,1000,5.0\n8000,1,-20.0,1000,9.0\n"
        )
    (tmp_path / "results" / "atari" / "README.md").write_text(HEADER)
    return run


def _chunk(tmp_path, **env):
    # `true` stands in for Snakemake: the chunk "finishes" at once.
    variables = {"PATH": "/usr/bin:/bin", "SNAKEMAKE": "true", "PY": sys.executable, **env}
    return subprocess.run(
        ["bash", str(tmp_path / "tools" / "run_atari_chunk.sh"), "ddqn", "1"],
        capture_output=True,
        text=True,
        env=variables,
        timeout=120,
    )


def test_a_run_with_logs_and_no_checkpoint_is_refused_not_started_again(tmp_path):
    run = _layout(tmp_path, logs=True)
    result = _chunk(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {RUN} has logs to frame 8000 but neither checkpoint.pt nor resume.pt to resume "
        "from; RESTART=1 "
        "starts it again from frame 0, replacing them"
    ]
    assert (tmp_path / "results" / "atari" / "README.md").read_text() == HEADER  # no row
    assert (run / "episodes.csv").read_text().count("\n") == 3  # the logs untouched


def test_restart_starts_it_again_and_the_row_says_so(tmp_path):
    _layout(tmp_path, logs=True)
    result = _chunk(tmp_path, RESTART="1")
    assert result.returncode == 0, result.stderr
    row = (tmp_path / "results" / "atari" / "README.md").read_text().splitlines()[-1]
    assert row.startswith("| ddqn | ") and "| 0 | 0 |" in row
    assert row.endswith("| started again (RESTART=1), replacing logs to frame 8000; finished |")


def test_a_new_run_needs_no_restart(tmp_path):
    _layout(tmp_path, logs=False)
    result = _chunk(tmp_path)
    assert result.returncode == 0, result.stderr
    row = (tmp_path / "results" / "atari" / "README.md").read_text().splitlines()[-1]
    assert row.endswith("| finished |") and "RESTART" not in row


def test_a_run_with_a_resume_point_and_no_checkpoint_resumes_warm(tmp_path):
    import torch

    run = _layout(tmp_path, logs=True)
    torch.save({"step": 2000}, run / "resume.pt")
    result = _chunk(tmp_path)
    assert result.returncode == 0, result.stderr
    row = (tmp_path / "results" / "atari" / "README.md").read_text().splitlines()[-1]
    assert "| 8000 | 8000 |" in row  # resume.pt's step 2000 times the frame skip of 4
    assert row.endswith(
        "| resumed warm from resume.pt (no checkpoint.pt: replay refilled, optimiser restarted); "
        "finished |"
    )


def test_restart_discards_the_resume_point_too(tmp_path):
    import torch

    run = _layout(tmp_path, logs=True)
    torch.save({"step": 2000}, run / "resume.pt")
    result = _chunk(tmp_path, RESTART="1")
    assert result.returncode == 0, result.stderr
    assert not (run / "resume.pt").exists()
    row = (tmp_path / "results" / "atari" / "README.md").read_text().splitlines()[-1]
    assert "| 0 | 0 |" in row and "started again (RESTART=1)" in row


def test_a_chunk_whose_resume_point_cannot_be_written_says_so_and_drops_the_old_one(tmp_path):
    import torch

    run = _layout(tmp_path, logs=True)
    torch.save({"step": 2000}, run / "resume.pt")
    # Stands in for Snakemake: the chunk leaves a checkpoint that is no checkpoint of this suite.
    fake = tmp_path / "fake-snakemake"
    fake.write_text('#!/bin/sh\nprintf garbage > "$(dirname "$1")/checkpoint.pt"\n')
    fake.chmod(0o755)
    result = _chunk(tmp_path, SNAKEMAKE=str(fake))
    assert result.returncode == 0, result.stderr
    row = (tmp_path / "results" / "atari" / "README.md").read_text().splitlines()[-1]
    assert row.endswith("; no resume point written |")
    assert not (run / "resume.pt").exists()
