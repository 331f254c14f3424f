"""What the Snakemake workflow builds, from the config and the output registry.

For every output of :data:`agents.outputs.OUTPUTS`: the files the config asks for
(:func:`targets`), the inputs of one of its jobs (:func:`inputs`) and the CLI arguments that
build it (:func:`arguments`). ``workflow/rules/reports.smk`` defines one generic rule per kind
of input and file types (:func:`rule_groups`) on top of these, so an output added to the
registry is planned, built and reported with no change to the workflow.

Like :mod:`agents.runtable` this imports no torch: Snakemake imports it to build the job graph.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from agents.outputs import OUTPUTS, PLACES, SUFFIXES, Output
from agents.registry import get_agent
from agents.runtable import INTERPRETED, STUDIES, reused_folder, run_path, table2_inputs

ATTENTION = "attention"  # the agent whose runs the attention strip and video show
SENSITIVITY_REFERENCE = "data/paper/sensitivity.csv"
TABLE2_REFERENCE = "data/paper/table2.csv"


def selection(config: Mapping, agents=None) -> str:
    """The ``report`` options selecting the config's runs (of ``agents``, default its agents)."""
    agents = config["agents"] if agents is None else agents
    seeds = " ".join(map(str, config["seeds"]))
    return (
        f"--games {' '.join(config['games'])} --seeds {seeds} "
        f"--agents {' '.join(agents)} --reference {config['reference']}"
    )


def beside(config: Mapping) -> str | None:
    """The baseline whose run per-game outputs with ``beside`` read, when the config trains it."""
    baseline = get_agent(INTERPRETED).baseline
    return baseline if baseline in config["agents"] else None


def place(config: Mapping, output: Output, needs: str) -> str:
    """The path, without suffix, of ``output``'s files for input kind ``needs``, with
    ``{kind}``, ``{game}``, ``{variant}`` or ``{study}`` wildcards."""
    if output.in_run:
        return f"{config['runs_dir']}/table2/{{variant}}/{{kind}}"
    return f"{config['reports_dir']}/{PLACES[needs]}"


def rule_groups() -> dict[tuple[str, bool, tuple[str, ...]], list[str]]:
    """The outputs by (kind of input, written into a run, file types): one Snakemake rule
    each, since a rule's output files are fixed patterns."""
    groups: dict = {}
    for name, output in OUTPUTS.items():
        for needs in output.inputs:
            groups.setdefault((needs, output.in_run, output.formats), []).append(name)
    return groups


def first_variant(config: Mapping) -> str:
    """The Table 2 run the per-variant figures use: table2.adversarial_run, else the first
    variant on the first input."""
    t2 = config["table2"]
    default = f"{next(iter(t2['variants']))}-{next(iter(table2_inputs(config)))}"
    return t2.get("adversarial_run", default)


def variant_runs(config: Mapping) -> list[str]:
    """Every Table 2 run folder, variant by variant, input by input."""
    root = config["runs_dir"]
    variants, names = config["table2"]["variants"], table2_inputs(config)
    return [f"{root}/table2/{variant}-{name}" for variant in variants for name in names]


def first_seed_run(config: Mapping, agent: str, game: str) -> str:
    """The folder of ``agent``'s first-seed run of ``game``."""
    return run_path(config["runs_dir"], agent, game, min(config["seeds"]))


def study_runs(config: Mapping, study: str, settings=None) -> list[str]:
    """The run folders of a study's settings (all by default), reused main-grid runs included."""
    spec = config[study]
    folders = []
    for setting in list(spec["settings"]) if settings is None else settings:
        reused = reused_folder(config, study, setting)
        root, name = os.path.split(reused) if reused else (f"{config['runs_dir']}/{study}", setting)
        folders += [run_path(root, name, spec["game"], seed) for seed in spec["seeds"]]
    return folders


def study_settings(config: Mapping, output: Output) -> list[str]:
    """The settings a study output reads: config ``output.settings``, else all of its study's."""
    if output.settings:
        return list(lookup(config, output.settings))
    return list(config[output.study]["settings"])


def lookup(config: Mapping, key: str):
    """A dotted config key's value, or None where the config lacks it."""
    value = config
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def targets(config: Mapping, needs: str, output: Output, name: str) -> list[str]:
    """The files of ``output`` (named ``name``) for input kind ``needs`` that the config asks
    for: per game of the config's games when its agent is trained, per Table 2 run, per study."""
    stem = place(config, output, needs)
    files = []
    if needs == "game":
        if output.agent in config["agents"]:
            files = [stem.format(kind=name, game=game) for game in config["games"]]
    elif INTERPRETED not in config["agents"] and needs in ("variant", "variants", "agreements"):
        files = []  # Table 2's runs are i-DQN's: only when the config trains i-DQN
    elif needs == "variant":
        runs = variant_runs(config) if output.in_run else [first_variant(config)]
        files = [stem.format(kind=name, variant=os.path.basename(run)) for run in runs]
    elif needs == "study":
        files = [stem.format(kind=name, study=output.study)]
    else:
        files = [stem.format(kind=name)]
    return [file + suffix for file in files for suffix in output.suffixes]


def all_targets(
    config: Mapping, *needs: str, agent: str | None = None, in_run: bool = False
) -> list[str]:
    """Every target file of the outputs built from ``needs`` (only ``agent``'s, if given),
    those of the reports or (``in_run``) those written into a run's folder."""
    return [
        path
        for name, output in OUTPUTS.items()
        for kind in output.inputs
        if kind in needs and (agent is None or output.agent == agent) and output.in_run == in_run
        for path in targets(config, kind, output, name)
    ]


def inputs(config: Mapping, needs: str, wildcards) -> dict[str, list[str]]:
    """The summary.json files (and data) one job of an output reads."""
    output = OUTPUTS[wildcards.kind]
    summary = "summary.json"
    if needs == "runs":
        grid = [
            (a, g, s) for a in config["agents"] for g in config["games"] for s in config["seeds"]
        ]
        found = {"run": [f"{run_path(config['runs_dir'], *cell)}/{summary}" for cell in grid]}
        if "reference_curves" in output.options and config.get("reference_curves"):
            found["reference_curves"] = [config["reference_curves"]]  # a changed file redraws
        return found
    if needs == "agreements":
        return {"agreements": all_targets(config, "variant", in_run=True)}
    if needs == "game":
        found = {"run": [f"{first_seed_run(config, output.agent, wildcards.game)}/{summary}"]}
        baseline = beside(config)
        if output.beside and baseline:
            found["beside"] = [f"{first_seed_run(config, baseline, wildcards.game)}/{summary}"]
        return found
    if needs == "variant":
        return {"run": [f"{config['runs_dir']}/table2/{wildcards.variant}/{summary}"]}
    if needs == "variants":
        return {"run": [f"{run}/{summary}" for run in variant_runs(config)]}
    found = {
        "run": [
            f"{run}/{summary}"
            for run in study_runs(config, output.study, study_settings(config, output))
        ]
    }
    if "reference" in output.options:
        found["reference"] = [SENSITIVITY_REFERENCE]
    return found


def config_options(config: Mapping, output: Output, wildcards) -> str:
    """`` --option value`` for each option the output reads from the config (``{game}`` filled
    from the job's wildcards); an option the config lacks is left to the builder's default."""
    text = ""
    for option, key in output.config.items():
        value = lookup(config, key.format(**dict(wildcards.items())))
        if value is None or value == [] or value == {}:
            continue
        value = " ".join(map(str, value)) if isinstance(value, list) else value
        text += f" --{option.replace('_', '-')} {value}"
    return text


def arguments(config: Mapping, needs: str, wildcards, found: Mapping[str, list[str]]) -> str:
    """The CLI arguments of one job after ``KIND``, up to ``--out``."""
    output = OUTPUTS[wildcards.kind]
    options = config_options(config, output, wildcards)
    if needs == "agreements":
        return (
            f"--agreements {' '.join(found['agreements'])} --reference {TABLE2_REFERENCE}{options}"
        )
    runs = [os.path.dirname(path) for path in found["run"]]
    if needs == "runs":
        return f"--runs {config['runs_dir']} {selection(config)}{options}"
    if needs == "study":
        spec, settings = config[output.study], study_settings(config, output)
        reuse = "".join(
            f" --reuse {s}={reused_folder(config, output.study, s)}"
            for s in settings
            if reused_folder(config, output.study, s)
        )
        seeds = " ".join(map(str, spec["seeds"]))
        text = (
            f"--runs {config['runs_dir']}/{output.study} --game {spec['game']} "
            f"--settings {' '.join(settings)} --seeds {seeds}{reuse}{options}"
        )
        return text + "".join(f" --reference {path}" for path in found.get("reference", []))
    text = f"--run {runs[0]}"
    if needs == "variants":
        text += f" --variants {' '.join(runs[1:])}"
    if "beside" in found.keys():  # noqa: SIM118 (Snakemake's named input list: `in` sees values)
        text += f" --ddqn-run {os.path.dirname(found['beside'][0])}"
    return text + options


def suffix_files(stem: str, output_formats) -> list[str]:
    """Every file of a stem for the file types ``output_formats``, in order."""
    return [stem + suffix for fmt in output_formats for suffix in SUFFIXES[fmt]]


__all__ = ["ATTENTION", "STUDIES", "all_targets", "arguments", "inputs", "rule_groups"]
