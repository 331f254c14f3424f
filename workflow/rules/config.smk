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
