"""The output registry: the CLI's choices, the workflow's rules and the docs' map come from it."""

import subprocess
import sys
from pathlib import Path

from workflow_helpers import ROOT

from agents.__main__ import _parser
from agents.outputs import OUTPUTS, kinds_of, markdown_map


def test_the_docs_map_is_the_registrys():
    text = (ROOT / "docs" / "interpretability.md").read_text()
    assert markdown_map() in text


def test_every_function_the_map_names_exists():
    import importlib

    for name, output in OUTPUTS.items():
        for dotted in filter(None, output.functions.split(", ")):
            module, attribute = dotted.rsplit(".", 1)
            for package in ("agents.interpret", "agents"):
                try:
                    found = importlib.import_module(f"{package}.{module}")
                    break
                except ModuleNotFoundError:
                    continue
            else:
                raise AssertionError(f"{name}: no module {module} for {dotted}")
            assert hasattr(found, attribute), f"{name}: {found.__name__} has no {attribute}"


def test_every_output_is_a_choice_of_its_command():
    parser = _parser()
    for name, output in OUTPUTS.items():
        args = parser.parse_args([output.command, name, "--out", "x", *_required(output.command)])
        assert args.kind == name
    assert set(kinds_of("report")) | set(kinds_of("interpret")) | set(kinds_of("study")) == set(
        OUTPUTS
    )


def _required(command: str) -> list[str]:
    if command == "interpret":
        return ["--run", "r"]
    if command == "study":
        return ["--runs", "r", "--game", "g", "--settings", "a", "--seeds", "0"]
    return []


# A per-game figure added the way a contributor adds one: an entry in agents/outputs.py (here
# registered at run time) and its builder; neither the CLI nor the workflow is touched.
DUMMY = """
import sys
from agents import outputs
outputs.OUTPUTS["dummy"] = outputs.Output(
    "agents.interpret.figures:key_grid", ("figure",), "**Dummy.** A test figure.",
    "Interpretability", needs="game", paper="Fig 0", functions="figures.key_grid",
)
if sys.argv[1] == "cli":
    from agents.__main__ import _parser
    print(_parser().parse_args(["interpret", "dummy", "--run", "r", "--out", "o"]).kind)
else:
    from snakemake.cli import main
    main(sys.argv[2:])
"""


def test_a_per_game_figure_added_to_the_registry_is_a_cli_choice_and_a_workflow_target(tmp_path):
    script = tmp_path / "dummy.py"
    script.write_text(DUMMY)
    run = [sys.executable, str(script)]
    cli = subprocess.run([*run, "cli"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert cli.stdout.strip() == "dummy"
    plan = subprocess.run(
        [*run, "snakemake", "-n", "-p", "all", "--config", "games=[Pong]"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "reports/interpret/Pong/dummy.png" in plan.stdout
    command = next(line for line in plan.stdout.splitlines() if " interpret dummy " in line)
    assert "--run results/runs/idqn/Pong/s0 --out reports/interpret/Pong/dummy" in command
    assert Path(ROOT / "docs" / "interpretability.md").is_file()
