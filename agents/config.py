"""Config presets: typed, validated hyperparameters loaded from YAML files.

Every agent has a pydantic model listing its keys with their types and ranges. Presets are YAML
files under ``agents/presets/<agent>/<name>.yaml``; each value carries a comment naming its source
(the paper's Table 3, the authors' code, or a documented decision). A preset may ``extends:``
another preset of the same agent and list only what differs. ``--set key=value`` overrides a key
after the preset is loaded; values are parsed as YAML scalars and then validated by the model.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.errors import UsageError

UnitFloat = Field(ge=0.0, le=1.0)


class TrainConfig(BaseModel):
    """Keys shared by every value-based agent: environment protocol, replay and update schedule.

    All step counts are agent steps (one agent step = ``frame_skip`` emulator frames).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # Environment protocol.
    color: bool
    frame_stack: int = Field(gt=0)
    frame_skip: int = Field(gt=0)
    noop_max: int = Field(ge=0)
    clip_rewards: bool  # clip what the learner sees to [-1, 1]; logged returns stay raw
    # Learning.
    gamma: float = Field(gt=0.0, le=1.0)
    batch_size: int = Field(gt=0)
    replay_capacity: int = Field(gt=0)
    learning_starts: int = Field(ge=0)
    train_freq: int = Field(gt=0)
    target_sync_steps: int = Field(gt=0)
    lr: float = Field(gt=0.0)
    adam_eps: float = Field(gt=0.0)
    grad_clip_norm: float = Field(gt=0.0)
    # bf16 runs convs and linears under autocast (softmax and losses stay fp32): faster on CPUs
    # with native bf16 and on recent GPUs. fp32 is the faithful default.
    precision: Literal["fp32", "bf16"]
    # Runner.
    checkpoint_every_steps: int = Field(gt=0)
    checkpoint_replay: bool
    log_loss_every_updates: int = Field(gt=0)
    eval_epsilon: float = UnitFloat


def preset_names(agent: str) -> list[str]:
    """Names of the presets shipped for ``agent``."""
    folder = resources.files("agents") / "presets" / agent
    if not folder.is_dir():
        return []
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def _read_preset(agent: str, preset: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a preset by name (or path to a YAML file), following ``extends:`` chains."""
    if preset in seen:
        raise UsageError(f"preset {preset!r} extends itself through {' -> '.join(seen)}")
    path = Path(preset)
    if path.suffix in {".yaml", ".yml"}:
        if not path.is_file():
            raise UsageError(f"preset file {preset} does not exist")
        text = path.read_text()
    else:
        resource = resources.files("agents") / "presets" / agent / f"{preset}.yaml"
        if not resource.is_file():
            valid = ", ".join(preset_names(agent)) or "none"
            raise UsageError(f"unknown preset {preset!r} for agent {agent}; valid presets: {valid}")
        text = resource.read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"preset {preset} is not valid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise UsageError(f"preset {preset} must be a mapping of key: value")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    return {**_read_preset(agent, str(parent), (*seen, preset)), **data}


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["lr=1e-4", "color=true"]`` into ``{"lr": "1e-4", "color": True}``."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects key=value, got {pair!r}")
        try:
            overrides[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise UsageError(f"--set {pair!r}: value is not a valid scalar") from exc
    return overrides


def build_config(
    model: type[TrainConfig], agent: str, preset: str, overrides: dict[str, Any]
) -> TrainConfig:
    """Load ``preset`` for ``agent``, apply ``overrides`` and validate against ``model``."""
    values = _read_preset(agent, preset)
    valid = sorted(model.model_fields)
    for key in list(values) + list(overrides):
        if key not in model.model_fields:
            raise UsageError(
                f"unknown config key {key!r} for agent {agent}; valid keys: {', '.join(valid)}"
            )
    values.update(overrides)
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise UsageError(f"invalid config value for {where}: {first['msg']}") from exc
