"""Put each known defect of the public attention-agent reimplementation back, one at a time, and
check that tests/test_attention.py fails on it (issue 13's "each test fails when its defect is
put back").

Works on a copy of ``agents/`` and the test file in a temporary folder; the tree is not touched.
Exits non-zero when a defect goes unnoticed or the unmodified code fails its tests.

    .venv/bin/python tools/check_defect_tests.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name: (the correct code in agents/attention.py, the defect that replaces it)
DEFECTS = {
    "view instead of permute (mixes channels and locations)": (
        "features.permute(0, 2, 3, 1)",
        "features.view(features.shape[0], features.shape[2], features.shape[3], features.shape[1])",
    ),
    "ConvLSTM state not carried": (
        "(state.vision_hidden, state.vision_cell))",
        "(state.vision_hidden * 0, state.vision_cell * 0))",
    ),
    "ConvLSTM cell alone not carried": (
        "(state.vision_hidden, state.vision_cell))",
        "(state.vision_hidden, state.vision_cell * 0))",
    ),
    "policy LSTM state not carried": (
        "(state.policy_hidden, state.policy_cell)",
        "(state.policy_hidden * 0, state.policy_cell * 0)",
    ),
    "policy LSTM cell alone not carried": (
        "(state.policy_hidden, state.policy_cell)",
        "(state.policy_hidden, state.policy_cell * 0)",
    ),
    "queries not from the previous policy state": (
        "queries = self.query(state.policy_hidden)",
        "queries = self.query(state.policy_hidden * 0)",
    ),
    "state not reset at an episode start": ("state = state.masked(keep)", "state = state"),
    "softmax over queries, not locations": (
        "scores.flatten(2).softmax(dim=-1).reshape(batch, -1, height, width)",
        "scores.softmax(dim=1)",
    ),
    "learned spatial basis": (
        'self.register_buffer("basis", spatial_basis(grid_h, grid_w, basis_u, basis_v))',
        "self.basis = nn.Parameter(spatial_basis(grid_h, grid_w, basis_u, basis_v))",
    ),
    "spatial basis equal at every location": (
        'return torch.einsum("hu,wv->hwuv", rows, cols).reshape(height, width, u * v)',
        "return torch.ones(height, width, u * v)",
    ),
}


def failing_tests(folder: Path) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_attention.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
    )
    failed = [
        line.split("::")[1].split(" ")[0]
        for line in result.stdout.splitlines()
        if line.startswith("FAILED")
    ]
    return result.returncode, failed


def main() -> int:
    source = (ROOT / "agents" / "attention.py").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "agents", folder / "agents")
        shutil.copy(ROOT / "tests" / "test_attention.py", folder)
        code, failed = failing_tests(folder)
        if code != 0:
            print(f"the unmodified code fails its tests: {failed}")
            return 1
        unnoticed = []
        for name, (correct, defect) in DEFECTS.items():
            if source.count(correct) != 1:
                print(
                    f"{name}: the correct code is no longer in agents/attention.py; update DEFECTS"
                )
                return 1
            (folder / "agents" / "attention.py").write_text(source.replace(correct, defect))
            code, failed = failing_tests(folder)
            print(f"{name}: {'caught by ' + ', '.join(failed) if code else 'NOT CAUGHT'}")
            if code == 0:
                unnoticed.append(name)
    print(f"{len(DEFECTS) - len(unnoticed)} of {len(DEFECTS)} defects caught")
    return 1 if unnoticed else 0


if __name__ == "__main__":
    raise SystemExit(main())
