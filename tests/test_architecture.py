"""The layout docs/architecture.md describes holds: every module is in it, no two modules of the
package import each other (directly or round a longer cycle), and the workflow builds its job
graph without torch."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "agents"


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (``agents.interpret.figures``)."""
    named = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        named[".".join(parts)] = path
    return named


def _module_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports when it is imported: every import statement
    outside a function or class body (``if TYPE_CHECKING:`` blocks included, since a type
    checker follows them)."""
    found: set[str] = set()
    pending = list(ast.parse(path.read_text()).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        pending.extend(ast.iter_child_nodes(node))
    return {name for name in found if name in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_the_package_imports_itself_round_a_cycle():
    modules = _modules()
    graph = {name: _module_level_imports(path, modules) - {name} for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_scan_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_architecture_names_every_module():
    """docs/architecture.md names each module by its path under the package (``rollout.py``,
    ``interpret/figures.py``); a module added without a line there fails here."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "__init__.py" and str(path.relative_to(PACKAGE)) not in text
    ]
    assert missing == [], f"docs/architecture.md does not describe {missing}"


# -- the workflow's parse path: what Snakemake imports to build its job graph imports no torch.

#: What neither the workflow's parse nor its config check may load: each takes seconds (torch
#: about ten on a loaded CPU) and none is needed to check a config or plan runs.
HEAVY = ("torch", "gymnasium", "ale_py", "stable_baselines3", "minatar")


def _workflow_imports() -> list[str]:
    """The package's import statements of workflow/Snakefile and workflow/rules/*.smk, as
    written there (a statement spanning lines in parentheses joined into one)."""
    statements = []
    for path in [
        ROOT / "workflow" / "Snakefile",
        *sorted((ROOT / "workflow" / "rules").glob("*.smk")),
    ]:
        text = path.read_text()
        for match in re.finditer(r"^from agents[\w.]* import (\([^)]*\)|.*)$", text, re.MULTILINE):
            statements.append(" ".join(match.group(0).split()))
    return statements


def _heavy_modules_loaded(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)}))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_the_workflow_imports_no_torch_to_check_its_config():
    """Everything the .smk files import, then what its config check does with it: every agent's
    config resolved on a game of every suite (the models, the presets, the suites' protocol
    checks) and every game listed (the training rule's wildcard)."""
    statements = _workflow_imports()
    assert any("agents.config" in s for s in statements) and any("suites" in s for s in statements)
    check = "\n".join(
        [
            *statements,
            "from agents.config import RunSpec, parse_overrides, resolve",
            "from agents.registry import AGENTS",
            "from agents.suites import SUITES, all_games",
            "assert len(all_games()) > 100",
            "for agent in AGENTS:",
            "    for suite in SUITES:",
            "        resolve(RunSpec(agent, suite.default_games[0], 0, 1000, suite.preset), {})",
        ]
    )
    assert _heavy_modules_loaded(check) == []


def test_the_heavy_module_probe_sees_torch():
    """The probe above can fail: an agent module loads torch."""
    assert "torch" in _heavy_modules_loaded("import agents.ddqn")


@pytest.mark.slow
def test_a_dry_run_of_the_workflow_imports_no_torch():
    """``python -X importtime -m snakemake -n all`` (issue 26): no heavy module in its imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--cores", "1", "all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line
    }
    assert "agents.pipeline" in imported  # the probe read the workflow's imports
    assert sorted(m for m in imported if m.split(".")[0] in HEAVY) == []
