"""Shared helpers of the workflow tests: run Snakemake from the repository root (or a clone of
it), count jobs."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def snakemake(*args, timeout=900, check=True, cwd=ROOT):
    # A clone's Snakemake imports the clone's own agents package, not this checkout's.
    env = {**os.environ, "PYTHONPATH": str(cwd)} if cwd != ROOT else None
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(result.stdout[-3000:] + result.stderr[-3000:])
    return result


def git_clone(target: Path) -> Path:
    """A fresh ``git clone`` of this checkout's HEAD at ``target``: the committed files only (no
    git-ignored output, no uncommitted change), as a user's clone has them."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(target)], check=True)
    subprocess.run(["git", "checkout", "--quiet", head], cwd=target, check=True)
    return target


def job_counts(dry_run_output: str) -> dict[str, int]:
    counts = {}
    for line in dry_run_output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def planned_runs(dry_run_output: str) -> list[str]:
    """The run directories a dry run plans to train (``snakemake -n`` output), one per run
    whether it trains alone (rule ``train``) or in a lockstep job (``train_lockstep_s...``)."""
    runs, rule = [], None
    for line in dry_run_output.splitlines():
        words = line.split()
        if words[:1] in (["rule"], ["localrule"]):
            rule = words[1].rstrip(":")
        elif words[:1] == ["output:"] and rule is not None and rule.startswith("train"):
            runs += [p.rstrip(",") for p in words[1:] if p.rstrip(",").endswith("summary.json")]
    return [path.removesuffix("/summary.json") for path in runs]
