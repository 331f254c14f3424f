"""The Snakemake pipeline killed and resumed: a run restarts from its checkpoint.

Its own file, so that pytest-xdist (``--dist loadfile``) runs it beside test_workflow.py's smoke DAG.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from workflow_helpers import ROOT, snakemake


@pytest.mark.slow
def test_killed_workflow_resumes_runs_from_checkpoints(tmp_path):
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    args = [
        "--profile",
        "workflow/profiles/smoke",
        "--config",
        f"runs_dir={runs}",
        f"reports_dir={reports}",
        "frames=12000",
        "games=[Qbert]",
        "agents=[ddqn]",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "all", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    checkpoint = runs / "ddqn" / "Qbert" / "s0" / "checkpoint.pt"
    deadline = time.time() + 300
    while not checkpoint.exists():
        assert proc.poll() is None, "workflow ended before the first checkpoint"
        assert time.time() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: Snakemake and its training job
    proc.wait()
    assert not (runs / "ddqn" / "Qbert" / "s0" / "summary.json").exists()

    snakemake("--unlock", *args)  # a hard kill leaves Snakemake's lock behind; Ctrl-C does not
    snakemake("all", *args)
    invocations = json.loads((runs / "ddqn" / "Qbert" / "s0" / "meta.json").read_text())[
        "invocations"
    ]
    assert len(invocations) == 2 and invocations[1]["resumed_from_step"] > 0
    assert (reports / "table1.csv").exists()
