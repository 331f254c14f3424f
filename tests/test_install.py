"""A non-editable install, as a user on a cluster makes it: presets ship, training runs anywhere.

``pip install .`` (not ``-e``) into a fresh virtual environment, then every command runs from a
folder outside the checkout, so nothing can be found through the working tree. No network: the
fresh environment sees the project environment's packages (torch, gymnasium, ...) through a
``.pth`` path line, which Python appends *after* the fresh environment's own site-packages and
whose folder's ``.pth`` files it does not run (so the editable install's finder stays out).
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Not part of a clone: environments, caches, run outputs and earlier builds.
_NOT_COPIED = (".git", ".venv", "results", ".snakemake", "build", "*.egg-info", "__pycache__")
_NOT_COPIED += (".pytest_cache", ".ruff_cache")


def _run(args: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env["PIP_NO_INDEX"] = "1"  # nothing is downloaded
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(python of a fresh venv with this project pip-installed, non-editable; a folder outside)."""
    for module in ("pip", "setuptools"):  # the build runs offline, on the project's own copies
        assert importlib.util.find_spec(module), f"the project environment lacks {module}"
    tmp = tmp_path_factory.mktemp("install")
    venv = tmp / "venv"
    # --without-pip: the project environment's pip (and setuptools, for the build) serve through
    # the .pth line below; ensurepip would only cost seconds.
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    python = venv / "bin" / "python"
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp
    ).stdout.strip()
    project_purelib = sysconfig.get_paths()["purelib"]
    platlib = sysconfig.get_paths()["platlib"]
    lines = dict.fromkeys([project_purelib, platlib])  # one line each, in order
    (Path(purelib) / "project-packages.pth").write_text("".join(f"{p}\n" for p in lines))
    # A copy of the checkout, as a clone would be: setuptools builds in the source tree (build/,
    # *.egg-info), which must not touch the checkout the other tests run from.
    source = tmp / "checkout"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    _run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", source],
        cwd=tmp,
    )
    outside = tmp / "elsewhere"
    outside.mkdir()
    return python, outside


@pytest.mark.slow
def test_non_editable_install_is_the_one_imported(installed):
    python, outside = installed
    found = _run([python, "-c", "import agents; print(agents.__file__)"], cwd=outside).stdout
    path = Path(found.strip()).resolve()
    assert path.is_relative_to(python.parent.parent.resolve()), path
    assert not path.is_relative_to(ROOT) and "checkout" not in path.parts, path


@pytest.mark.slow
def test_non_editable_install_lists_and_trains_with_presets(installed):
    python, outside = installed
    listed = json.loads(_run([python, "-m", "agents", "list"], cwd=outside).stdout)
    for agent in ("ddqn", "idqn"):
        assert {"paper", "minatar", "original-code"} <= set(listed["agents"][agent]), listed
    _run(
        [
            python,
            "-m",
            "agents",
            "train",
            "--agent",
            "idqn",
            "--game",
            "MinAtar-Breakout",
            "--preset",
            "minatar",
            "--frames",
            "300",
            "--out",
            "run",
            "--set",
            "learning_starts=100",
            "--set",
            "replay_capacity=500",
            "--no-progress",
        ],
        cwd=outside,
    )
    assert (outside / "run" / "summary.json").is_file()
