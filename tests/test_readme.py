"""Every code block of the README runs: the front door's examples cannot go stale unnoticed.

A ``bash`` block runs line by line (``\\`` continuations joined, comments dropped): ``make``
targets as ``make -n`` and ``.venv/bin/snakemake`` as ``snakemake -n`` (dry runs: training would
take hours; the pipeline itself is run by tests/test_workflow.py) from the repository root;
``.venv/bin/python`` as this interpreter, in a scratch folder, so ``--out`` paths land there. A
``python`` block runs as a script from the repository root.

A block that cannot run says so in the README, on the line above it, with the reason:
``<!-- readme-test: skip: REASON -->`` (not run: the reason is the skip message), or
``<!-- readme-test: xfail: REASON -->`` (expected to fail until REASON is done; strict, so the
test reports when it starts passing).
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
MARKER = re.compile(r"<!-- readme-test: (skip|xfail): (.+?) -->")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")

pytestmark = pytest.mark.slow  # each snakemake dry run builds a DAG; the whole file takes minutes


def readme_blocks(text: str) -> list[tuple[int, str, str, tuple[str, str] | None]]:
    """(line number, language, code, marker) of every fenced block; marker is (mode, reason)
    from a ``readme-test`` comment on the nearest non-blank line above the fence, or None."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, language = opening.groups()
        end = next(j for j in range(index + 1, len(lines)) if lines[j].strip() == "```")
        code = "\n".join(line.removeprefix(indent) for line in lines[index + 1 : end])
        above = next((lines[j] for j in range(index - 1, -1, -1) if lines[j].strip()), "")
        found = MARKER.search(above)
        blocks.append((index + 1, language, code, found.groups() if found else None))
        index = end + 1
    return blocks


def commands(code: str) -> list[list[str]]:
    """The shell commands of a bash block, as argument lists: continuations joined, comments
    (a ``#`` at a line's start or after a space) dropped."""
    joined = re.sub(r"\\\n", " ", code)
    found = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            found.append(shlex.split(line))
    return found


def dry_run(argv: list[str], scratch: Path) -> tuple[list[str], Path]:
    """What the test runs for one README command, and where."""
    program, *args = argv
    if program == "make":
        return ["make", "-n", *args], ROOT
    if program == ".venv/bin/snakemake":
        return [str(BIN / "snakemake"), "-n", *args], ROOT
    if program == ".venv/bin/python":
        return [sys.executable, *args], scratch
    raise AssertionError(f"the README test does not know how to run {program!r}")


BLOCKS = readme_blocks(README.read_text())
CASES = [
    pytest.param(
        language,
        code,
        id=f"line{line}",
        marks=(
            [pytest.mark.skip(reason=marker[1])]
            if marker and marker[0] == "skip"
            else [pytest.mark.xfail(strict=True, reason=marker[1])]
            if marker
            else []
        ),
    )
    for line, language, code, marker in BLOCKS
]


@pytest.mark.parametrize("language,code", CASES)
def test_readme_block_runs(language, code, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    if language == "python":
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return
    assert language == "bash", f"a {language or 'plain'} block: mark it or make it bash/python"
    for argv in commands(code):
        command, cwd = dry_run(argv, tmp_path)
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{shlex.join(argv)}:\n{result.stderr[-3000:]}"


def test_the_parser_sees_markers_indented_blocks_and_continuations():
    text = (
        "<!-- readme-test: skip: needs a GPU -->\n```bash\nmake run\n```\n\n"
        "- a list\n\n  ```bash\n  .venv/bin/python -m agents train \\\n    --frames 1  # tiny\n  ```\n"
    )
    (first, second) = readme_blocks(text)
    assert first[3] == ("skip", "needs a GPU") and second[3] is None
    assert commands(second[2]) == [[".venv/bin/python", "-m", "agents", "train", "--frames", "1"]]


def test_every_readme_block_is_run_or_marked():
    assert len(BLOCKS) >= 10
    assert all(language in ("bash", "python") for _, language, _, _ in BLOCKS)
    assert all(marker[1].strip() for *_, marker in BLOCKS if marker)


def test_the_make_run_line_is_within_the_first_30_lines():
    lines = README.read_text().splitlines()
    assert any(line.startswith("make run") for line in lines[:30])
