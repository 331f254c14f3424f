# The config's start check, before anything reads the config: the values given with --config are
# coerced to the types the schema asks for, then the schema is checked, and a failure is one line.
import math
import sys

import yaml
from jsonschema import validators
from jsonschema.exceptions import best_match


def coerced(value, schema, definitions):
    """``value`` with the numbers and booleans the schema wants where --config gave text.

    Snakemake reads a --config value with YAML's BaseLoader inside lists and mappings, so
    ``seeds=[0]`` arrives as ``["0"]``, and with ``float`` at the top, so ``frames=8000.0``
    arrives as 8000.0, which would reach ``agents train --frames 8000.0``. A number in text
    becomes a number, a whole float an integer where the schema wants one, "true" or "false" a
    boolean. Anything else is left as it is, for the schema to refuse with its reason.
    """
    if "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    for branch in schema.get("oneOf", []):  # table2.inputs: a list of --set items, or null
        if branch.get("type") == "array" and isinstance(value, list):
            schema = branch
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        properties, other = schema.get("properties", {}), schema.get("additionalProperties")
        other = other if isinstance(other, dict) else {}
        return {
            key: coerced(item, properties.get(key, other), definitions)
            for key, item in value.items()
        }
    if kind == "array" and isinstance(value, list):
        return [coerced(item, schema.get("items", {}), definitions) for item in value]
    if kind in ("integer", "number") and isinstance(value, str):
        whole = kind == "integer" and value.strip().lstrip("+-").isdigit()
        try:
            value = int(value) if whole else float(value)
        except ValueError:
            return value
    if kind == "integer" and isinstance(value, float) and math.isfinite(value):
        return int(value) if value.is_integer() else value
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def config_key(path):
    """A place in the config as its keys read: ``seeds[0]``, ``table2.frames``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else f".{key}" if text else str(key)
    return text


def check_config(config, schema_path):
    """Coerce ``config`` in place, then validate it against the schema; one line on failure.

    The line names the key and the schema's reason (``error: config seeds[0]: -1 is less than
    the minimum of 0``). sys.exit, not Snakemake's validate: that prints the schema under the
    reason, where words such as "minimum" appear whatever the reason is.
    """
    with open(os.path.join(workflow.basedir, schema_path)) as f:
        schema = yaml.safe_load(f)
    config.update(coerced(dict(config), schema, schema.get("definitions", {})))
    error = best_match(validators.validator_for(schema)(schema).iter_errors(config))
    if error is not None:
        key = config_key(error.absolute_path) or "(top level)"
        sys.exit(f"error: config {key}: {error.message}")


# -- the runs' checks, after common.smk: each kind of run resolved as its jobs will resolve it.
def training_configs():
    """(where in the config, agent, preset, --set items, games, frames) of every kind of run."""
    runs = []
    for agent in dict.fromkeys([*config["agents"], *config["presets"], *config["overrides"]]):
        items = config["overrides"].get(agent, [])
        games = config["games"] if agent in config["agents"] else []
        where = f"presets.{agent} + overrides.{agent}"
        runs.append((where, agent, preset_of(config, agent), items, games, config["frames"]))
    t2 = config["table2"]
    for variant, variant_items in t2["variants"].items():
        for name, input_items in table2_inputs(config).items():
            items = t2["overrides"] + variant_items + input_items
            where = f"table2 run {variant}-{name} (presets.idqn + table2.overrides + variants.{variant} + inputs.{name})"
            runs.append((where, "idqn", preset_of(config, "idqn"), items, [t2["game"]], t2["frames"]))
    for study in STUDIES:
        spec = config[study]
        for setting in spec["settings"]:
            where = f"{study}.settings.{setting} (presets.idqn + {study}.overrides + {study}.settings.{setting})"
            items = study_items(config, study, setting)
            runs.append((where, "idqn", preset_of(config, "idqn"), items, [spec["game"]], spec["frames"]))
    return runs


def check_training_configs():
    """Resolve each run's agent, game, preset and --set items as `agents train` will, up front.

    A misspelled agent, game, preset, key or value, or a preset that does not fit a game's suite
    (MinAtar needs presets.<agent>: minatar), fails the whole workflow (a dry run included) with
    one line, instead of failing its training jobs one by one, hours in. sys.exit, not an
    exception: Snakemake would print a traceback under it.
    """
    if not table2_inputs(config):
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
    try:
        check_lockstep(config)
    except UsageError as exc:
        sys.exit(f"error: {exc}")
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


def check_confirmatory():
    """Resolve every arm on every game as its jobs will, before any job runs (one line, exit)."""
    try:
        attention_showcase(config)
    except UsageError as exc:
        sys.exit(f"error: {exc}")
    for arm, spec in CONFIRMATORY["arms"].items():
        for game in spec.get("games", CONFIRMATORY["budgets"]):
            where = f"confirmatory.arms.{arm}, game {game}"
            if game not in CONFIRMATORY["budgets"]:
                sys.exit(f"error: config {where}: the game has no budget in confirmatory.budgets")
            budget = CONFIRMATORY["budgets"][game]
            if budget % CONFIRMATORY["evaluation"]["phases"]:
                sys.exit(f"error: config confirmatory.budgets.{game}: {budget} is not a multiple of the evaluation phases")
            try:
                parsed = parse_overrides(spec.get("overrides", []) + evaluation_items(CONFIRMATORY, game))
                suite_of(game)
                agent = spec["agent"]
                if agent in PEER_LABELS:  # the peer trains with our DDQN's preset (sb3_dqn.settings)
                    if spec["preset"] != suite_of(game).preset:
                        raise UsageError(f"the peer runs our DDQN's {suite_of(game).preset} settings, not {spec['preset']}")
                    agent = "ddqn"
                resolve(RunSpec(agent, game, 0, budget, spec["preset"]), parsed)
            except UsageError as exc:
                sys.exit(f"error: config {where}: {exc}")


