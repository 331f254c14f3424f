import sys

from agents.config import build_config, parse_overrides
from agents.errors import UsageError
from agents.registry import get_agent

PYTHON = sys.executable  # the interpreter running Snakemake: the project's .venv
RUNS = config["runs_dir"]
REPORTS = config["reports_dir"]
ENV = "../envs/agents.yaml"
INTERPRET_KINDS = ["keys", "maps", "tsne", "interpolation", "adversarial"]  # per-game figures
SELECTION = (
    f"--games {' '.join(config['games'])} --seeds {' '.join(map(str, config['seeds']))} "
    f"--agents {' '.join(config['agents'])} --reference {config['reference']}"
)


def train_outputs():
    """summary.json of every (agent, game, seed): written last, so it marks a finished run."""
    return expand(
        f"{RUNS}/{{agent}}/{{game}}/s{{seed}}/summary.json",
        agent=config["agents"],
        game=config["games"],
        seed=config["seeds"],
    )


def runs_root(wildcards, input):
    """RUNS, from an input RUNS/<agent>/<game>/s<seed>/summary.json."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(input[0]))))


def overrides(wildcards):
    return " ".join(f"--set {item}" for item in config["overrides"].get(wildcards.agent, []))


def report_outputs():
    stems = ["table1", "verdict", "aggregate"]
    tables = expand(f"{REPORTS}/{{stem}}.{{ext}}", stem=stems, ext=["csv", "md", "tex"])
    figures = expand(f"{REPORTS}/{{stem}}.{{ext}}", stem=["figure8", "aggregate"], ext=["png", "pdf"])
    table2 = []
    if "idqn" in config["agents"]:
        table2 = expand(f"{REPORTS}/table2.{{ext}}", ext=["csv", "md", "tex"])
        table2 += expand(f"{REPORTS}/interpret/adversarial-{{variant}}.{{ext}}", variant=["ae-gray"], ext=["png", "pdf"])
    return tables + figures + interpret_outputs() + table2


def variant_outputs(name):
    """One file per (variant, input) run of Table 2."""
    return expand(
        f"{RUNS}/table2/{{variant}}-{{input}}/{name}",
        variant=list(config["table2"]["variants"]),
        input=list(config["table2"]["inputs"]),
    )


def variant_overrides(wildcards):
    t2 = config["table2"]
    items = t2["overrides"] + t2["variants"][wildcards.variant] + t2["inputs"][wildcards.input]
    return " ".join(f"--set {item}" for item in items)


def interpret_outputs():
    """Interpretability figures of each game's first-seed i-DQN run (needs both agents)."""
    if not {"idqn", "ddqn"} <= set(config["agents"]):
        return []
    return expand(
        f"{REPORTS}/interpret/{{game}}/{{kind}}.{{ext}}",
        game=config["games"],
        kind=INTERPRET_KINDS,
        ext=["png", "pdf"],
    )


def first_seed_run(agent):
    """The summary.json of ``agent``'s first-seed run of the rule's game."""
    return lambda wildcards: f"{RUNS}/{agent}/{wildcards.game}/s{min(config['seeds'])}/summary.json"


def interpret_options(wildcards, input):
    """Per-kind CLI options: t-SNE's DDQN run beside, the maps' actions of interest."""
    if wildcards.kind == "tsne":
        return f"--ddqn-run {os.path.dirname(input.ddqn)}"
    actions = config.get("saliency_actions", {}).get(wildcards.game)
    if wildcards.kind == "maps" and actions:
        return "--actions " + " ".join(actions)
    return ""


def training_configs():
    """(where in the config, agent, preset, --set items) of every kind of training run."""
    runs = []
    for agent in dict.fromkeys([*config["agents"], *config["presets"], *config["overrides"]]):
        preset = config["presets"].get(agent, "paper")
        items = config["overrides"].get(agent, [])
        runs.append((f"presets.{agent} + overrides.{agent}", agent, preset, items))
    t2 = config["table2"]
    for variant, variant_items in t2["variants"].items():
        for name, input_items in t2["inputs"].items():
            items = t2["overrides"] + variant_items + input_items
            where = f"table2 run {variant}-{name} (presets.idqn + table2.overrides + variants.{variant} + inputs.{name})"
            runs.append((where, "idqn", config["presets"].get("idqn", "paper"), items))
    return runs


def check_training_configs():
    """Resolve each run's preset and --set items as `agents train` will, before any job runs.

    A misspelled preset, key or value fails the whole workflow (a dry run included) with one
    line, instead of failing its training jobs one by one, hours in. sys.exit, not an exception:
    Snakemake would print a traceback under it.
    """
    for where, agent, preset, items in training_configs():
        try:
            build_config(get_agent(agent).config, agent, preset, parse_overrides(items))
        except UsageError as exc:
            sys.exit(f"error: config {where}: {exc}")
