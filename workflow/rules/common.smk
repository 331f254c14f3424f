import posixpath
import re
import sys

from agents.config import RunSpec, build_config, parse_overrides, resolve
from agents.errors import UsageError
from agents.outputs import OUTPUTS, SUFFIXES
from agents.pipeline import ATTENTION, all_targets, arguments, inputs, place, rule_groups, selection, targets, variant_runs
from agents.registry import AGENTS, PEER_LABELS, get_agent
from agents.runtable import (
    FAILED_FILE, INTERPRETED, STUDIES, attention_showcase, cell_of, check_lockstep, confirmatory_runs, evaluation_items, find_run,
    lockstep_command, preset_of, run_path, run_table, study_items, table2_inputs, training_jobs,
)
from agents.suites import all_games, suite_of


def rule_python():
    """The interpreter each job runs ``-m agents`` with: under ``--sdm conda``, ``python`` (the
    rule's conda environment, workflow/envs/agents.yaml); otherwise the one running Snakemake,
    the project's .venv (`make setup`), which has the package installed."""
    from snakemake.settings.types import DeploymentMethod

    settings = workflow.deployment_settings
    if settings is not None and DeploymentMethod.CONDA in settings.deployment_method:
        return "python"
    return sys.executable


PYTHON = rule_python()
RUNS, REPORTS = config["runs_dir"], config["reports_dir"]
ENV = "../envs/agents.yaml"
PEERS = config.get("peers", [])  # peer baselines (agents/peers/), built by the `peers` target
REPORT_OPTIONS = {"tolerance": config["verdict_tolerance"], "reps": config["bootstrap_reps"]}
LOG_NAMES = {"game": "-{game}", "variant": "-{variant}", "study": "-{study}"}  # a log per job: its wildcards
CONFIRMATORY = config.get("confirmatory")
CONFIRMATORY_REPORTS = CONFIRMATORY["reports_dir"] if CONFIRMATORY else "reports/confirmatory"


def wildcard_choices(names):
    """A wildcard constraint that accepts exactly ``names`` (game names contain "-")."""
    return "|".join(map(re.escape, names))


def summaries(runs):
    return [f"{run}/summary.json" for run in runs]


def train_outputs(agents=None):
    """summary.json of every (agent, game, seed) of the main grid (written last: a finished run)."""
    grid = [(a, g, s) for a in agents or config["agents"] for g in config["games"] for s in config["seeds"]]
    return summaries(run_path(RUNS, *cell) for cell in grid)


# -- training: the run table (agents/runtable.py) and its jobs, the one rule of train.smk.
RUN_TABLE = {run.path: run for run in run_table(config)}


def training_rules():
    """(name, seeds, {run} constraint) of each kind of training job: "train", one run, any of the
    table's or the main grid's that no lockstep job trains; one rule per seed tuple of the
    lockstep jobs, whose {run} is each cell it trains."""
    lockstep, members = {}, set()
    for job in training_jobs(RUN_TABLE.values(), config):
        if len(job) > 1:
            lockstep.setdefault(tuple(run.seed for run in job), []).append(cell_of(job[0].path))
            members.update(run.path for run in job)
    names = (wildcard_choices([*AGENTS, *PEER_LABELS]), wildcard_choices(all_games()))
    main = posixpath.join(re.escape(RUNS), *(f"(?:{choices})" for choices in names), r"s\d+")
    runs = "|".join([main, *(re.escape(path) for path in RUN_TABLE if path not in members)])
    not_lockstep = f"(?!(?:{wildcard_choices(members)})/summary)" if members else ""
    kinds = [("train", None, f"{not_lockstep}(?:{runs})")]
    for seeds, cells in lockstep.items():
        kinds.append((f"train_lockstep_s{'_'.join(map(str, seeds))}", seeds, wildcard_choices(cells)))
    return kinds


def training_command(wildcards, output):
    """The command of one training job: its run's, or its lockstep members' together."""
    runs = [find_run(RUN_TABLE, config, os.path.dirname(path)) for path in output]
    return runs[0].command(PYTHON) if len(runs) == 1 else lockstep_command(runs, PYTHON)


# -- the outputs of agents/outputs.py (agents/pipeline.py), built by reports.smk's rules.
def report_outputs():
    """Every report file of every output the config asks for, the interpretability figures of
    the i-DQN and attention runs included (the studies' are their own targets)."""
    return all_targets(config, "runs", "agreements", "game", "variant", "variants")


def attention_outputs():
    return all_targets(config, "game", agent=ATTENTION)


def study_reports(study):
    """Every table and figure of a study (targets `ablations` and `sensitivity`)."""
    found = [(n, o) for n, o in OUTPUTS.items() if o.study == study]
    return [path for name, output in found for path in targets(config, "study", output, name)]


def output_rule_name(needs, in_run, formats):
    head = {"runs": "report", "agreements": "report_agreements", "study": "study"}
    return "_".join([head.get(needs, f"interpret_{needs}"), *(["run"] if in_run else []), *formats])


def output_files(needs, in_run, formats, kinds):
    """The output files of a rule of reports.smk; the first of each format goes into the
    Snakemake report with the output's caption (a GIF once built: git never holds them)."""
    stem = place(config, OUTPUTS[kinds[0]], needs)
    subcategory = {"subcategory": "{game}"} if needs == "game" else {}
    files = []
    for fmt in formats:
        for index, suffix in enumerate(SUFFIXES[fmt]):
            path = stem + suffix
            options = dict(caption="../report/output.rst", category=lambda w: OUTPUTS[w.kind].category, **subcategory)
            if fmt == "gif":
                path = report_when_built(path, [p for p in report_outputs() if p.endswith(".gif")], **options)
            elif index == 0 and not in_run:
                path = report(path, **options)
            files.append(path)
    return files


def report_when_built(path, files, **options):
    """``path`` marked for the Snakemake report when every one of ``files`` exists (`snakemake
    --report` stops on a marked file that does not exist, and git never holds the GIFs)."""
    return report(path, **options) if files and all(os.path.exists(f) for f in files) else path


def report_caption(wildcards):
    """The output's caption (agents/outputs.py), filled from the config as the CLI fills it."""
    values = {"seeds": config["seeds"], "games": config["games"], "agents": config["agents"]}
    return OUTPUTS[wildcards.kind].caption_text(values | REPORT_OPTIONS)


def confirmatory_outputs():
    """summary.json of every pre-registered run (config/confirmatory.yaml; none without it), or
    its failed.json where it was collected as stopped on a non-finite loss: a finished run,
    scored as random play (docs/preregistration.md; amendment 8), never retrained."""
    return [
        failed if os.path.exists(failed := f"{run.path}/{FAILED_FILE}") else f"{run.path}/summary.json"
        for run in confirmatory_runs(config)
    ]
