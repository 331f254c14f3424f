"""The confirmatory runs ran under the pre-registration on main, unchanged (docs/preregistration.md).

Every invocation of every committed confirmatory run records the commit it ran from; the
pre-registration at that commit must be byte-identical to the one on main, and the commit must be
clean (a run from uncommitted code could have run anything).
"""

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREREGISTRATION = "docs/preregistration.md"
RUNS = ROOT / "results" / "confirmatory" / "runs"


def preregistration_mismatches(runs: Path, current: bytes) -> list[str]:
    """One line per run invocation whose commit is dirty, unknown to this clone, or holds a
    pre-registration other than ``current``."""
    problems, seen = [], {}
    for meta in sorted(runs.glob("*/*/s*/meta.json")):
        for invocation in json.loads(meta.read_text())["invocations"]:
            commit = invocation["git_commit"]
            if commit.endswith("-dirty") or commit == "unknown":
                problems.append(f"{meta.parent}: ran from {commit!r}, not a clean commit")
                continue
            if commit not in seen:
                shown = subprocess.run(
                    ["git", "-C", str(ROOT), "show", f"{commit}:{PREREGISTRATION}"],
                    capture_output=True,
                )
                seen[commit] = shown.stdout if shown.returncode == 0 else None
            if seen[commit] is None:
                problems.append(f"{meta.parent}: {commit} has no {PREREGISTRATION} here")
            elif seen[commit] != current:
                problems.append(f"{meta.parent}: {PREREGISTRATION} changed since {commit}")
    return problems


def test_every_confirmatory_run_ran_under_the_preregistration_on_main():
    assert preregistration_mismatches(RUNS, (ROOT / PREREGISTRATION).read_bytes()) == []


def _run_from(runs: Path, commit: str) -> None:
    folder = runs / "idqn" / "MinAtar-Breakout" / "s0"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"invocations": [{"git_commit": commit}]}))


def test_the_check_catches_an_edit_a_dirty_tree_and_an_unknown_commit(tmp_path):
    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%H", "--", PREREGISTRATION],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert head, f"no commit holds {PREREGISTRATION}"
    at_head = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{head}:{PREREGISTRATION}"], capture_output=True
    ).stdout
    _run_from(tmp_path / "clean", head)
    assert preregistration_mismatches(tmp_path / "clean", at_head) == []
    [edited] = preregistration_mismatches(tmp_path / "clean", at_head + b"\nan edit\n")
    assert "changed since" in edited
    _run_from(tmp_path / "dirty", head + "-dirty")
    [dirty] = preregistration_mismatches(tmp_path / "dirty", at_head)
    assert "not a clean commit" in dirty
    _run_from(tmp_path / "unknown", "0" * 40)
    [unknown] = preregistration_mismatches(tmp_path / "unknown", at_head)
    assert "has no" in unknown


def test_the_committed_study_stays_inside_its_40_mb():
    """Issue 22 and amendment 2: the confirmatory study commits at most 40 MB (logs gzipped, few
    weights, no checkpoint or replay). Counted over the files git tracks, as a clone gets them."""
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "results/confirmatory"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in tracked if name]
    assert files, "no committed confirmatory file"
    assert not [f for f in files if f.name == "checkpoint.pt"]  # it holds the replay
    total = sum(f.stat().st_size for f in files if f.is_file())
    assert total <= 40_000_000, f"results/confirmatory holds {total / 1e6:.1f} MB"
