"""Config presets: typed, validated hyperparameters loaded from YAML files.

Every agent has a pydantic model listing its keys with their types and ranges. Presets are YAML
files under ``agents/presets/<agent>/<name>.yaml``; each value carries a comment naming its source
(the paper's Table 3, the authors' code, or a documented decision). A preset may ``extends:``
another preset of the same agent and list only what differs. ``--set key=value`` overrides a key
after the preset is loaded; values are parsed as YAML scalars and then validated by the model.

The models live here, not beside their agents, and :func:`resolve` checks a whole run (agent,
game, seed, budget, preset, overrides): this module imports only pydantic, YAML and the light
catalogues (:mod:`agents.registry`, :mod:`agents.suites`), no torch, so the workflow validates
every run while it builds its job graph without loading an agent (``tests/test_config.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agents.errors import UsageError
from agents.registry import get_agent
from agents.suites import suite_named, suite_of

UnitFloat = Field(ge=0.0, le=1.0)
#: Keys that schedule evaluation only: a run's trajectory does not depend on them.
EVALUATION_KEYS = ("eval_every_steps", "eval_episodes", "eval_max_steps")


class RunConfig(BaseModel):
    """Keys every agent has: the environment protocol, precision and the runner's schedule.

    All step counts are agent steps (one agent step = ``frame_skip`` emulator frames).
    """

    # No inf or nan anywhere: a learning rate of inf trains nothing and says nothing.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    # Environment protocol.
    color: bool
    frame_stack: int = Field(gt=0, le=16)  # the replay and the first conv scale with it
    frame_skip: int = Field(gt=0)
    noop_max: int = Field(ge=0)
    # bf16 runs convs and linears under autocast (softmax and losses stay fp32): faster on CPUs
    # with native bf16 and on recent GPUs. fp32 is the faithful default.
    precision: Literal["fp32", "bf16"]
    # Runner.
    checkpoint_every_steps: int = Field(gt=0)
    log_loss_every_updates: int = Field(gt=0)
    # Evaluation phases (the confirmatory protocol, docs/preregistration.md): after every
    # ``eval_every_steps`` agent steps, ``eval_episodes`` episodes of the evaluation policy, each
    # cut at ``eval_max_steps``, into evals.csv. 0 turns them off. They leave training untouched,
    # so they are not part of a run's identity (EVALUATION_KEYS).
    eval_every_steps: int = Field(default=0, ge=0)
    eval_episodes: int = Field(default=20, gt=0)
    eval_max_steps: int = Field(default=10_000, gt=0)
    #: Keys added after runs were committed, each with a default that is the behaviour before it:
    #: left out of a run's identity while at that default, so those runs keep their digest
    #: (:func:`agents.rundir.identity_digest`) and their weights still load.
    LATE_KEYS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, values: Any) -> Any:
        """pydantic would read ``true`` as 1 for a number; a bool there is a mistake."""
        if isinstance(values, dict):
            for key, value in values.items():
                field = cls.model_fields.get(key)
                if isinstance(value, bool) and field is not None and field.annotation is not bool:
                    raise ValueError(f"{key} expects a number, got the bool {value}")
        return values


class TrainConfig(RunConfig):
    """Keys of every value-based agent (:mod:`agents.value_based`): replay and update schedule."""

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
    checkpoint_replay: bool  # the replay goes into checkpoints: needed for a bit-exact resume
    eval_epsilon: float = UnitFloat

    @model_validator(mode="after")
    def _replay_holds_a_transition(self) -> TrainConfig:
        if self.replay_capacity <= self.frame_stack + 1:
            raise ValueError(
                f"replay_capacity ({self.replay_capacity}) must exceed frame_stack + 1 "
                f"({self.frame_stack + 1}) to hold one transition"
            )
        return self


# The agents' models (agents/registry.py names each agent's). ------------------------------


class RandomConfig(RunConfig):
    """The environment protocol and the runner's schedule; nothing to learn."""


class DDQNConfig(TrainConfig):
    """Double-DQN keys on top of :class:`~agents.config.TrainConfig`."""

    hidden_dim: int = Field(gt=0)
    eps_start: float = UnitFloat
    eps_end: float = UnitFloat
    eps_decay_steps: int = Field(gt=0)
    loss: Literal["huber", "mse"]
    grad_clip_per_layer: bool  # the authors' code clips each layer's gradient norm separately
    init: Literal["xavier", "torch-default"]


class IDQNConfig(TrainConfig):
    """i-DQN keys on top of :class:`~agents.config.TrainConfig`."""

    # Model.
    embedding_dim: int = Field(gt=0)
    keys_per_action: int = Field(gt=1)
    value_min: float
    value_max: float
    values: Literal[
        "uniform-random", "linspace"
    ]  # paper: sampled once per seed; code: evenly spaced
    key_init_std: float = Field(gt=0.0)  # keys ~ N(0, std^2): 0.1 (paper), 1.0 (authors' code)
    linear_init_std: float = Field(ge=0.0)  # 0: PyTorch's default init for linear layers
    embedding: Literal["ae", "vae"]
    vae_beta: float = Field(ge=0.0)
    decoder: Literal["conv", "dense"]
    dense_hidden: int = Field(ge=0)
    input_normalization: Literal["none", "mean-image"]
    mean_image_steps: int = Field(gt=0)
    # Losses: total = l_bellman * Bellman + l_distributional * CE + l_reconstruction * recon
    #                 + l_diversity * diversity + vae_beta * KL.
    bellman_loss: Literal["mse", "huber"]
    lambda_bellman: float = Field(ge=0.0)
    lambda_distributional: float = Field(ge=0.0)
    lambda_reconstruction: float = Field(ge=0.0)
    lambda_diversity: float = Field(ge=0.0)
    diversity_actions: Literal[
        "taken", "all"
    ]  # rows of A: w_{a_t}(s) (paper) or all actions (code)
    diversity_per_sample: bool  # divide ||AA^T - I||^2 by the batch size (code)
    # Exploration and optimisation.
    exploration_lambda: float = Field(ge=0.0)
    lr_halve_every_steps: int = Field(ge=0)  # 0: constant learning rate
    lr_min: float = Field(ge=0.0)
    grad_clip_per_layer: bool

    @model_validator(mode="after")
    def _value_range_is_ordered(self) -> IDQNConfig:
        if self.value_min >= self.value_max:
            raise ValueError(
                f"value_min ({self.value_min}) must be less than value_max ({self.value_max})"
            )
        return self


class AttentionConfig(RunConfig):
    """Keys of the attention agent: learner, unrolls and network sizes (presets give sources)."""

    # Learner.
    num_envs: int = Field(gt=0, le=256)
    unroll_length: int = Field(gt=0)
    gamma: float = Field(gt=0.0, le=1.0)
    gae_lambda: float = Field(ge=0.0, le=1.0)
    lr: float = Field(gt=0.0)
    rmsprop_alpha: float = Field(gt=0.0, lt=1.0)
    rmsprop_eps: float = Field(gt=0.0)
    entropy_cost: float = Field(ge=0.0)
    baseline_cost: float = Field(gt=0.0)
    grad_clip_norm: float = Field(gt=0.0)
    # "sum" over the T x N steps of an unroll, as TorchBeast's losses (RMSProp's eps of 0.01 is
    # tuned to gradients that large); "mean" as A2C implementations such as stable-baselines3.
    loss_reduction: Literal["sum", "mean"]
    clip_rewards: bool  # what the learner and the policy LSTM see; logged returns stay raw
    # Network.
    torso: str  # the suite whose attention torso fits the frames (agents.suites.Suite.name)
    core_channels: int = Field(gt=0)
    key_channels: int = Field(gt=0)
    value_channels: int = Field(gt=0)
    basis_u: int = Field(gt=0)
    basis_v: int = Field(gt=0)
    num_queries: int = Field(gt=0)
    policy_hidden: int = Field(gt=0)
    answer_hidden: int = Field(gt=0)
    # "torch": PyTorch's default initialisation (as [L]); "orthogonal": stable-baselines3's
    # actor-critic one (agents.attention.orthogonal_init). Added after the pilot's runs, whose
    # configs lack it: a late key (RunConfig.LATE_KEYS).
    init: Literal["torch", "orthogonal"] = "torch"
    # "none": the readout reads the ConvLSTM's maps as they are (as [L]); "layer": each
    # location's channels layer-normalised first (agents.attention.AttentionNet), issue 25.
    # A late key, as init.
    core_norm: Literal["none", "layer"] = "none"
    # What the attention scores (keys . queries) are multiplied by before the spatial softmax:
    # 1 is Mott et al.'s unscaled dot product; larger starts the maps less uniform. A late key.
    attention_scale: float = Field(default=1.0, gt=0.0)
    LATE_KEYS: ClassVar[tuple[str, ...]] = ("init", "core_norm", "attention_scale")

    @field_validator("torso")
    @classmethod
    def _known_suite(cls, torso: str) -> str:
        try:
            suite_named(torso)
        except UsageError as exc:
            raise ValueError(str(exc).replace("suite", "torso", 1)) from None
        return torso

    @model_validator(mode="after")
    def _fp32_only(self) -> AttentionConfig:
        if self.precision != "fp32":
            raise ValueError("the attention agent runs in fp32 only (precision: fp32)")
        return self


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice (PyYAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(text: str, what: str) -> Any:
    """Parse YAML with unique keys, or raise a one-line :class:`UsageError` naming ``what``."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise UsageError(f"{what} is not valid YAML: {detail}") from exc


def _read_text(path, what: str) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {what}: {exc.strerror}") from exc


def preset_names(agent: str) -> list[str]:
    """Names of the presets shipped for ``agent``."""
    folder = resources.files("agents") / "presets" / agent
    if not folder.is_dir():
        return []
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def _read_preset(
    agent: str, preset: str, seen: tuple[str, ...] = (), base: Path | None = None
) -> dict[str, Any]:
    """Read a preset by name (or path to a YAML file), following ``extends:`` chains.

    A relative path in ``extends:`` is resolved from the folder of the file that names it.
    """
    path = Path(preset)
    is_file = path.suffix in {".yaml", ".yml"}
    if is_file and base is not None and not path.is_absolute():
        path = base / path
    key = str(path.resolve()) if is_file else preset
    if key in seen:
        raise UsageError(f"preset {preset!r} extends itself through {' -> '.join(seen)}")
    if is_file:
        if not path.is_file():
            raise UsageError(f"preset file {path} does not exist")
        text, where, folder = _read_text(path, f"preset file {path}"), str(path), path.parent
    else:
        resource = resources.files("agents") / "presets" / agent / f"{preset}.yaml"
        if not resource.is_file():
            valid = ", ".join(preset_names(agent)) or "none"
            raise UsageError(f"unknown preset {preset!r} for agent {agent}; valid presets: {valid}")
        # A shipped preset's relative ``extends:`` starts from its own folder, so one agent's
        # preset can extend another agent's (``no-attention`` extends ``attention``).
        folder = resource.parent if isinstance(resource, Path) else base
        text, where = _read_text(resource, f"preset {preset}"), f"preset {preset}"
    data = load_yaml(text, where)
    if data is None:
        raise UsageError(f"{where} is empty; a preset is a mapping of key: value")
    if not isinstance(data, dict):
        raise UsageError(f"{where} must be a mapping of key: value")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    return {**_read_preset(agent, str(parent), (*seen, key), folder), **data}


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["lr=1e-4", "color=true"]`` into ``{"lr": "1e-4", "color": True}``."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects key=value, got {pair!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise UsageError(f"--set {pair!r}: value is not a valid scalar") from exc
        if isinstance(value, dict | list):
            raise UsageError(f"--set {pair!r}: value must be a single scalar")
        overrides[key.strip()] = value
    return overrides


def build_config(
    model: type[RunConfig], agent: str, preset: str, overrides: dict[str, Any]
) -> RunConfig:
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
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        prefix = f"invalid config value for {where}" if where else "invalid config"
        raise UsageError(f"{prefix}: {message}") from exc


# A whole run, checked before anything is written. ------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """What to train: the identity of a run, apart from its hyperparameters."""

    agent: str
    game: str
    seed: int
    frames: int  # emulator frames; agent steps = frames // frame_skip
    preset: str


MAX_SEED = 2**63 - 1  # torch.manual_seed takes up to 2^64 - 1; pandas and JSON readers int64


def check_seed(seed: int) -> None:
    """Refuse a seed that numpy, torch or a log reader would reject (or, for a bool, misread)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer in [0, 2^63 - 1], got {seed}")


def resolve(run: RunSpec, overrides: dict[str, Any]) -> RunConfig:
    """Validate everything about a run before anything is written."""
    entry = get_agent(run.agent)
    suite = suite_of(run.game)
    check_seed(run.seed)
    if run.frames <= 0:
        raise UsageError(f"--frames must be positive, got {run.frames}")
    config = build_config(entry.config, run.agent, run.preset, overrides)
    suite.check_config(config)
    if run.frames < config.frame_skip:
        raise UsageError(
            f"--frames {run.frames} is less than one agent step ({config.frame_skip} frames)"
        )
    return config
