import re
import sys

from agents.config import build_config, parse_overrides
from agents.errors import UsageError
from agents.peers import sb3_dqn
from agents.outputs import OUTPUTS, STUDY_CAPTIONS, SUFFIXES, outputs_needing
from agents.registry import AGENTS, PEER_LABELS, get_agent
from agents.rundir import RunSpec, resolve
from agents.suites import all_games, suite_of


def rule_python():
    """The interpreter every rule runs ``-m agents`` with.

    Under ``--software-deployment-method conda`` (``--sdm conda``), ``python``: the interpreter
    of the rule's activated conda environment (workflow/envs/agents.yaml). Otherwise the one
    running Snakemake, the project's .venv (`make setup`), which has the package installed.
    """
    from snakemake.settings.types import DeploymentMethod

    settings = workflow.deployment_settings
    if settings is not None and DeploymentMethod.CONDA in settings.deployment_method:
        return "python"
    return sys.executable


PYTHON = rule_python()
RUNS = config["runs_dir"]
REPORTS = config["reports_dir"]
ENV = "../envs/agents.yaml"
INTERPRET_KINDS = ["keys", "maps", "tsne", "interpolation", "adversarial"]  # per-game figures
INTERPRETED = "idqn"  # the agent whose runs the interpretability figures (and Table 2) analyse
BESIDE = get_agent(INTERPRETED).baseline  # whose run t-SNE shows beside it, when trained
ATTENTION = "attention"  # the agent whose runs the attention strip and video show (issue 13)
ATTENTION_VIDEO_STEPS = config.get("attention_video_steps", 400)
SELECTION = (
    f"--games {' '.join(config['games'])} --seeds {' '.join(map(str, config['seeds']))} "
    f"--agents {' '.join(config['agents'])} --reference {config['reference']}"
)
# The config value of each report option an output of agents/outputs.py declares.
REPORT_OPTIONS = {"tolerance": config["verdict_tolerance"], "reps": config["bootstrap_reps"]}
TABLE2_REFERENCE = "data/paper/table2.csv"
SENSITIVITY_REFERENCE = "data/paper/sensitivity.csv"
PEERS = config.get("peers", [])  # peer baselines (agents/peers/), built by the `peers` target
PEER_SELECTION = (
    f"--games {' '.join(config['games'])} --seeds {' '.join(map(str, config['seeds']))} "
    f"--agents {' '.join(config['agents'] + PEERS)} --reference {config['reference']}"
)


def train_outputs():
    """summary.json of every (agent, game, seed): written last, so it marks a finished run."""
    return expand(
        f"{RUNS}/{{agent}}/{{game}}/s{{seed}}/summary.json",
        agent=config["agents"],
        game=config["games"],
        seed=config["seeds"],
    )


def peer_outputs():
    """summary.json of every (peer, game, seed) of config `peers`."""
    return expand(
        f"{RUNS}/{{peer}}/{{game}}/s{{seed}}/summary.json",
        peer=PEERS,
        game=config["games"],
        seed=config["seeds"],
    )


def runs_root(wildcards, input):
    """RUNS, from an input RUNS/<agent>/<game>/s<seed>/summary.json."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(input[0]))))


def overrides(wildcards):
    return " ".join(f"--set {item}" for item in config["overrides"].get(wildcards.agent, []))


def report_outputs():
    """Every file of every output of agents/outputs.py, the interpretability figures included.

    The outputs built from runs cover config agents; Table 2 and the figures of its MsPacman run
    come with the i-DQN runs (INTERPRETED).
    """
    names = outputs_needing("runs")
    if INTERPRETED in config["agents"]:
        names += outputs_needing("agreements")
    files = [f"{REPORTS}/{name}{suffix}" for name in names for suffix in OUTPUTS[name].suffixes]
    if INTERPRETED in config["agents"]:
        files += expand(f"{REPORTS}/interpret/adversarial-{first_variant()}.{{ext}}", ext=["png", "pdf"])
        files += expand(f"{REPORTS}/interpret/agreeing-{first_variant()}.{{ext}}", ext=["png", "pdf"])
        files += expand(f"{REPORTS}/interpret/reconstructions.{{ext}}", ext=["png", "pdf"])
    return files + interpret_outputs() + attention_outputs()


def table2_inputs():
    """Table 2's inputs, name -> --set items; an input set to null is left out (a config file
    that extends config.yaml, such as minatar.yaml, switches the colour and gray inputs off so)."""
    return {name: items for name, items in config["table2"]["inputs"].items() if items is not None}


def first_variant():
    """The Table 2 run the adversarial figure uses: table2.adversarial_run (ae-gray in the
    Atari configs, as the paper's Fig. 7), else the first variant on the first input."""
    default = f"{next(iter(config['table2']['variants']))}-{next(iter(table2_inputs()))}"
    return config["table2"].get("adversarial_run", default)


def report_groups():
    """The outputs of agents/outputs.py by the formats they write: ("table",) -> [names].

    reports.smk defines one Snakemake rule per group, since the output files of a rule are
    fixed patterns and outputs writing different file types cannot share them.
    """
    groups = {}
    for name, output in OUTPUTS.items():
        groups.setdefault(output.formats, []).append(name)
    return groups


def report_files(formats):
    """The output files of the report rule of ``formats``; the first of each format (the CSV,
    the PNG) goes into the Snakemake report, with the output's caption and category."""
    files = []
    for fmt in formats:
        for suffix in SUFFIXES[fmt]:
            path = f"{REPORTS}/{{kind}}{suffix}"
            if suffix == SUFFIXES[fmt][0]:
                category = lambda wildcards: OUTPUTS[wildcards.kind].category
                path = report(path, caption="../report/output.rst", category=category)
            files.append(path)
    return files


def report_inputs(wildcards):
    """What an output is built from: every selected run, or the Table 2 agreement results."""
    if OUTPUTS[wildcards.kind].needs == "agreements":
        return variant_outputs("agreement.json")
    return train_outputs()


def report_arguments(wildcards, input):
    """The CLI's input options for an output, then the options it declares, from the config."""
    output = OUTPUTS[wildcards.kind]
    if output.needs == "agreements":
        arguments = f"--agreements {' '.join(input)} --reference {TABLE2_REFERENCE}"
    else:
        arguments = f"--runs {runs_root(wildcards, input)} {SELECTION}"
    options = " ".join(f"--{name} {REPORT_OPTIONS[name]}" for name in output.options)
    return f"{arguments} {options}".strip()


def report_caption(wildcards):
    """The output's caption (agents/outputs.py), filled from the config as the CLI fills it."""
    values = {"seeds": config["seeds"], "games": config["games"], "agents": config["agents"]}
    return OUTPUTS[wildcards.kind].caption_text(values | REPORT_OPTIONS)


def variant_outputs(name):
    """One file per (variant, input) run of Table 2."""
    return expand(
        f"{RUNS}/table2/{{variant}}-{{input}}/{name}",
        variant=list(config["table2"]["variants"]),
        input=list(table2_inputs()),
    )


def variant_overrides(wildcards):
    t2 = config["table2"]
    items = t2["overrides"] + t2["variants"][wildcards.variant] + table2_inputs()[wildcards.input]
    return " ".join(f"--set {item}" for item in items)


def interpret_outputs():
    """Interpretability figures of each game's first-seed i-DQN run (needs the i-DQN runs)."""
    if INTERPRETED not in config["agents"]:
        return []
    return expand(
        f"{REPORTS}/interpret/{{game}}/{{kind}}.{{ext}}",
        game=config["games"],
        kind=INTERPRET_KINDS,
        ext=["png", "pdf"],
    ) + expand(f"{REPORTS}/interpret/{{game}}/embedding.json", game=config["games"])


def attention_outputs():
    """Each game's attention strip (PNG, PDF) and episode video (GIF) of the first-seed
    attention run, when the config trains the attention agent."""
    if ATTENTION not in config["agents"]:
        return []
    strips = expand(
        f"{REPORTS}/interpret/{{game}}/attention-strip.{{ext}}",
        game=config["games"],
        ext=["png", "pdf"],
    )
    return strips + expand(f"{REPORTS}/interpret/{{game}}/attention-video.gif", game=config["games"])


def report_when_built(path, files, **options):
    """``path`` marked for the Snakemake report (``report(path, **options)``) when every one of
    ``files`` exists, else unmarked.

    For outputs git never holds (the attention GIFs, .gitignore): `snakemake --report` stops on a
    marked file that does not exist, so on a clone of the committed runs the report is built
    without them, and once they are built (`snakemake attention`) it shows them.
    """
    if files and all(os.path.exists(f) for f in files):
        return report(path, **options)
    return path


def first_seed_run(agent, game):
    """The summary.json of ``agent``'s first-seed run of ``game``."""
    return f"{RUNS}/{agent}/{game}/s{min(config['seeds'])}/summary.json"


def interpret_inputs(wildcards):
    """The i-DQN run a figure analyses; for t-SNE also the baseline's run beside, when trained."""
    inputs = {"run": first_seed_run(INTERPRETED, wildcards.game)}
    if wildcards.kind == "tsne" and BESIDE in config["agents"]:
        inputs["beside"] = first_seed_run(BESIDE, wildcards.game)
    return inputs


def embedding_inputs(wildcards):
    """The i-DQN run the embedding statistics read, and the baseline's beside it when trained."""
    inputs = {"run": first_seed_run(INTERPRETED, wildcards.game)}
    if BESIDE in config["agents"]:
        inputs["beside"] = first_seed_run(BESIDE, wildcards.game)
    return inputs


def interpret_options(wildcards, input):
    """Per-kind CLI options: t-SNE's DDQN run beside, the maps' actions of interest."""
    if wildcards.kind == "tsne" and "beside" in input.keys():
        return f"--ddqn-run {os.path.dirname(input.beside)}"
    actions = config.get("saliency_actions", {}).get(wildcards.game)
    if wildcards.kind == "maps" and actions:
        return "--actions " + " ".join(actions)
    return ""


def preset_of(agent):
    """The preset an agent's runs use: config presets.<agent>, else the agent's own default."""
    if agent in config["presets"]:
        return config["presets"][agent]
    return AGENTS[agent].default_preset if agent in AGENTS else "paper"


def wildcard_choices(names):
    """A wildcard constraint that accepts exactly ``names`` (game names contain "-")."""
    return "|".join(map(re.escape, names))


def training_configs():
    """(where in the config, agent, preset, --set items, games, frames) of every kind of run."""
    runs = []
    for agent in dict.fromkeys([*config["agents"], *config["presets"], *config["overrides"]]):
        items = config["overrides"].get(agent, [])
        games = config["games"] if agent in config["agents"] else []
        where = f"presets.{agent} + overrides.{agent}"
        runs.append((where, agent, preset_of(agent), items, games, config["frames"]))
    t2 = config["table2"]
    for variant, variant_items in t2["variants"].items():
        for name, input_items in table2_inputs().items():
            items = t2["overrides"] + variant_items + input_items
            where = f"table2 run {variant}-{name} (presets.idqn + table2.overrides + variants.{variant} + inputs.{name})"
            runs.append((where, "idqn", preset_of("idqn"), items, [t2["game"]], t2["frames"]))
    for study in STUDIES:
        spec = config[study]
        for setting in spec["settings"]:
            where = f"{study}.settings.{setting} (presets.idqn + {study}.overrides + {study}.settings.{setting})"
            items = study_items(study, setting)
            runs.append((where, "idqn", preset_of("idqn"), items, [spec["game"]], spec["frames"]))
    return runs


def check_training_configs():
    """Resolve each run's agent, game, preset and --set items as `agents train` will, up front.

    A misspelled agent, game, preset, key or value, or a preset that does not fit a game's suite
    (MinAtar needs presets.<agent>: minatar), fails the whole workflow (a dry run included) with
    one line, instead of failing its training jobs one by one, hours in. sys.exit, not an
    exception: Snakemake would print a traceback under it.
    """
    if not table2_inputs():
        sys.exit("error: config table2.inputs: every input is null; at least one must remain")
    for where, names, check in (
        ("agents", config["agents"], get_agent),
        ("games", config["games"], suite_of),
        ("table2.game", [config["table2"]["game"]], suite_of),
        *((f"{study}.game", [config[study]["game"]], suite_of) for study in STUDIES),
    ):
        for name in names:
            try:
                check(name)
            except UsageError as exc:
                sys.exit(f"error: config {where}: {exc}")
    check_studies()
    for where, agent, preset, items, games, frames in training_configs():
        try:
            parsed = parse_overrides(items)
            build_config(get_agent(agent).config, agent, preset, parsed)
        except UsageError as exc:
            sys.exit(f"error: config {where}: {exc}")
        for game in games:
            try:
                resolve(RunSpec(agent, game, 0, frames, preset), parsed)
            except UsageError as exc:
                suite = suite_of(game)
                hint = "" if preset == suite.preset else f" ({suite.name} games want presets.{agent}: {suite.preset})"
                sys.exit(f"error: config {where}, game {game}: {exc}{hint}")


# -- studies of i-DQN settings (agents/studies.py): the loss ablation with the diversity study, and
# the sensitivity study. Each setting is a list of --set items on top of presets.idqn.
STUDIES = ("ablations", "sensitivity")


def check_studies():
    """The settings each study's reports name must exist (diversity pair, sensitivity default)."""
    ablations, sensitivity = config["ablations"], config["sensitivity"]
    for study, key in (("ablations", "diversity"), ("ablations", "diversity_states"), ("sensitivity", "default")):
        if key not in config[study]:
            sys.exit(f"error: config {study}.{key} is missing")
    for name in ablations["diversity"]:
        if name not in ablations["settings"]:
            sys.exit(f"error: config ablations.diversity: {name!r} is not one of ablations.settings")
    if sensitivity["default"] not in sensitivity["settings"]:
        sys.exit(f"error: config sensitivity.default: {sensitivity['default']!r} is not one of sensitivity.settings")


def reused_folder(study, setting):
    """The main grid's i-DQN runs folder when a study setting would train exactly those runs (no
    --set items, the same game, budget, preset and seeds), else None: they are read, not redone."""
    spec = config[study]
    same = (
        spec.get("reuse_main_runs", True)
        and not study_items(study, setting)
        and INTERPRETED in config["agents"]
        and not config["overrides"].get(INTERPRETED)
        and spec["game"] in config["games"]
        and spec["frames"] == config["frames"]
        and set(spec["seeds"]) <= set(config["seeds"])
    )
    return f"{RUNS}/{INTERPRETED}" if same else None


def study_outputs(study, settings=None):
    """summary.json of every (setting, seed) run of a study (all its settings by default)."""
    spec = config[study]
    files = []
    for setting in list(spec["settings"]) if settings is None else settings:
        folder = reused_folder(study, setting) or f"{RUNS}/{study}/{setting}"
        files += [f"{folder}/{spec['game']}/s{seed}/summary.json" for seed in spec["seeds"]]
    return files


def study_items(study, setting):
    """The --set items of a study run: the study's overrides, then its setting's."""
    return config[study]["overrides"] + config[study]["settings"][setting]


def study_overrides(wildcards):
    return " ".join(f"--set {item}" for item in study_items(wildcards.study, wildcards.setting))


def study_selection(study, settings):
    """The `python -m agents study` options of a study's runs, reused main-grid runs included."""
    spec = config[study]
    reuse = "".join(
        f" --reuse {setting}={reused_folder(study, setting)}"
        for setting in settings
        if reused_folder(study, setting)
    )
    return (
        f"--runs {RUNS}/{study} --game {spec['game']} --settings {' '.join(settings)} "
        f"--seeds {' '.join(map(str, spec['seeds']))}{reuse}"
    )


def study_reports():
    """Every table and figure of the two studies (targets `ablations` and `sensitivity`)."""
    return {
        "ablations": expand(f"{REPORTS}/ablations/{{kind}}.{{ext}}", kind=["ablation", "diversity"], ext=["csv", "md", "tex", "png", "pdf"]),
        "sensitivity": expand(f"{REPORTS}/sensitivity/sensitivity.{{ext}}", ext=["csv", "md", "tex"]),
    }


# -- the confirmatory MinAtar study (config/confirmatory.yaml, docs/preregistration.md): every arm
# under one protocol, each game at its own budget, with evaluation phases; its runs live apart
# from the pilot's (confirmatory.runs_dir).

CONFIRMATORY = config.get("confirmatory")
CONFIRMATORY_RUNS = CONFIRMATORY["runs_dir"] if CONFIRMATORY else "results/confirmatory/runs"
CONFIRMATORY_REPORTS = CONFIRMATORY["reports_dir"] if CONFIRMATORY else "reports/confirmatory"


def confirmatory_cells():
    """(arm, game, seed) of every pre-registered run, arm by arm, in the config's order."""
    if not CONFIRMATORY:
        return []
    every_game = list(CONFIRMATORY["budgets"])
    return [
        (arm, game, seed)
        for arm, spec in CONFIRMATORY["arms"].items()
        for game in spec.get("games", every_game)
        for seed in spec["seeds"]
    ]


def confirmatory_outputs():
    """summary.json of every pre-registered run: written last, so it marks a finished run."""
    return [f"{CONFIRMATORY_RUNS}/{arm}/{game}/s{seed}/summary.json" for arm, game, seed in confirmatory_cells()]


def arm_items(arm, game):
    """The --set items of one arm's runs on ``game``: the arm's overrides, then the evaluation
    protocol for the game's budget."""
    return CONFIRMATORY["arms"][arm].get("overrides", []) + evaluation_items(game)


def evaluation_items(game):
    """The --set items of the study's evaluation protocol for ``game``'s budget."""
    evaluation = CONFIRMATORY["evaluation"]
    every = CONFIRMATORY["budgets"][game] // evaluation["phases"]
    return [
        f"eval_every_steps={every}",
        f"eval_episodes={evaluation['episodes']}",
        f"eval_max_steps={evaluation['max_steps']}",
    ]


def check_confirmatory():
    """Resolve every arm on every game as its jobs will, before any job runs (one line, exit)."""
    for arm, spec in CONFIRMATORY["arms"].items():
        for game in spec.get("games", CONFIRMATORY["budgets"]):
            where = f"confirmatory.arms.{arm}, game {game}"
            if game not in CONFIRMATORY["budgets"]:
                sys.exit(f"error: config {where}: the game has no budget in confirmatory.budgets")
            budget = CONFIRMATORY["budgets"][game]
            if budget % CONFIRMATORY["evaluation"]["phases"]:
                sys.exit(f"error: config confirmatory.budgets.{game}: {budget} is not a multiple of the evaluation phases")
            try:
                parsed = parse_overrides(arm_items(arm, game))
                suite_of(game)
                if spec["agent"] in PEER_LABELS:
                    if spec["preset"] != suite_of(game).preset:
                        raise UsageError(f"the peer runs our DDQN's {suite_of(game).preset} settings, not {spec['preset']}")
                    sb3_dqn.settings(game, parsed)
                else:
                    resolve(RunSpec(spec["agent"], game, 0, budget, spec["preset"]), parsed)
            except UsageError as exc:
                sys.exit(f"error: config {where}: {exc}")


def confirmatory_command(wildcards):
    """The CLI call of one run: `agents train` for our agents, `agents peer` for a peer."""
    spec = CONFIRMATORY["arms"][wildcards.arm]
    sets = " ".join(f"--set {item}" for item in arm_items(wildcards.arm, wildcards.game))
    budget = CONFIRMATORY["budgets"][wildcards.game]
    out = f"{CONFIRMATORY_RUNS}/{wildcards.arm}/{wildcards.game}/s{wildcards.seed}"
    if spec["agent"] in PEER_LABELS:
        head = f"{PYTHON} -m agents peer {spec['agent']}"
    else:
        head = f"{PYTHON} -m agents train --agent {spec['agent']} --preset {spec['preset']} --no-progress"
    return f"{head} --game {wildcards.game} --seed {wildcards.seed} --frames {budget} {sets} --out {out}"
