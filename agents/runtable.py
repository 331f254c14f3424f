"""Every training run the workflow's config asks for, as one table: what the Snakefile reads.

A :class:`Run` is one row: agent (or peer), preset, ``--set`` items, game, seed, budget and run
directory. :func:`run_table` lists them for a config (the main grid, the peers, Table 2's
variants, the studies' settings and the confirmatory arms), :func:`run_path` is the one place a
run directory's name is made, and :func:`training_jobs` groups the rows into the jobs of the one
training rule (``workflow/rules/train.smk``): one run each, or, with config ``lockstep``, the
unfinished seeds of a cell together in one ``python -m agents train --seeds`` process.

This module imports no torch, gymnasium or pandas (nothing but :mod:`agents.registry` and the
standard library): Snakemake imports it to build the job graph.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.errors import UsageError
from agents.registry import AGENTS, PEER_LABELS

INTERPRETED = "idqn"  # the agent whose runs Table 2, the studies and the figures analyse
STUDIES = ("ablations", "sensitivity")  # config keys of the studies of i-DQN settings


def run_path(root: str | os.PathLike, name: str, game: str, seed: int) -> str:
    """The directory of ``name``'s run of ``game`` with ``seed`` under ``root``:
    ``root/<name>/<game>/s<seed>``, where ``name`` is an agent, a peer, a study setting
    (``<study>/<setting>``) or a confirmatory arm."""
    return f"{root}/{name}/{game}/s{seed}"


def cell_of(path: str) -> str:
    """The folder holding a run directory ``.../s<seed>`` and its sibling seeds."""
    return os.path.dirname(path)


@dataclass(frozen=True)
class Run:
    """One training run of the workflow.

    Args:
        agent: a registry agent (``agents train``) or a peer (``agents peer``).
        preset: the preset name (peers: the suite's, unused on their command line).
        overrides: the ``--set`` items, in order.
        game, seed: what it trains on.
        frames: the budget, ``--frames``.
        path: the run directory; its ``summary.json`` marks a finished run.
        frozen: the pre-registered confirmatory runs' command line, whose argument order was
            fixed before the first of them started and must not change.
    """

    agent: str
    preset: str
    overrides: tuple[str, ...]
    game: str
    seed: int
    frames: int
    path: str
    frozen: bool = False

    @property
    def peer(self) -> bool:
        return self.agent in PEER_LABELS

    def cell(self) -> tuple:
        """What lockstep members share: all but the seed, and the folder of their runs."""
        return (self.agent, self.preset, self.overrides, self.game, self.frames, cell_of(self.path))

    def command(self, python: str) -> str:
        """The CLI call that trains this run into :attr:`path`."""
        sets = " ".join(f"--set {item}" for item in self.overrides)
        game = f"--game {self.game} --seed {self.seed} --frames {self.frames}"
        if self.peer:
            head = f"{python} -m agents peer {self.agent}"
            if self.frozen:
                return f"{head} {game} {sets} --out {self.path}"
            return f"{head} {game} --out {self.path}"
        if self.frozen:
            head = f"{python} -m agents train --agent {self.agent} --preset {self.preset} --no-progress"
            return f"{head} {game} {sets} --out {self.path}"
        return (
            f"{python} -m agents train --agent {self.agent} {game} --preset {self.preset} "
            f"{sets} --out {self.path} --no-progress"
        )


def lockstep_command(runs: Sequence[Run], python: str) -> str:
    """The one CLI call that trains ``runs`` (one cell's seeds) in lockstep, each into its
    ordinary run directory ``<cell>/s<seed>``."""
    first = runs[0]
    if len({run.cell() for run in runs}) != 1:
        raise UsageError("lockstep members differ in more than their seed")
    sets = " ".join(f"--set {item}" for item in first.overrides)
    seeds = " ".join(str(run.seed) for run in runs)
    return (
        f"{python} -m agents train --agent {first.agent} --game {first.game} --seeds {seeds} "
        f"--frames {first.frames} --preset {first.preset} {sets} --out {cell_of(first.path)} "
        "--no-progress"
    )


def preset_of(config: Mapping, agent: str) -> str:
    """The preset an agent's runs use: config ``presets.<agent>``, else the agent's default."""
    if agent in config["presets"]:
        return config["presets"][agent]
    return AGENTS[agent].default_preset if agent in AGENTS else "paper"


def table2_inputs(config: Mapping) -> dict[str, list[str]]:
    """Table 2's inputs, name -> --set items; an input set to null is left out."""
    return {name: items for name, items in config["table2"]["inputs"].items() if items is not None}


def study_items(config: Mapping, study: str, setting: str) -> list[str]:
    """The --set items of a study run: the study's overrides, then its setting's."""
    return config[study]["overrides"] + config[study]["settings"][setting]


def reused_folder(config: Mapping, study: str, setting: str) -> str | None:
    """The main grid's i-DQN runs folder when a study setting would train exactly those runs (no
    --set items, the same game, budget, preset and seeds), else None: they are read, not redone."""
    spec = config[study]
    same = (
        spec.get("reuse_main_runs", True)
        and not study_items(config, study, setting)
        and INTERPRETED in config["agents"]
        and not config["overrides"].get(INTERPRETED)
        and spec["game"] in config["games"]
        and spec["frames"] == config["frames"]
        and set(spec["seeds"]) <= set(config["seeds"])
    )
    return f"{config['runs_dir']}/{INTERPRETED}" if same else None


def evaluation_items(confirmatory: Mapping, game: str) -> list[str]:
    """The --set items of the confirmatory evaluation protocol for ``game``'s budget."""
    evaluation = confirmatory["evaluation"]
    every = confirmatory["budgets"][game] // evaluation["phases"]
    return [
        f"eval_every_steps={every}",
        f"eval_episodes={evaluation['episodes']}",
        f"eval_max_steps={evaluation['max_steps']}",
    ]


def main_run(config: Mapping, agent: str, game: str, seed: int) -> Run:
    """The main grid's (or a peer's) run of ``agent`` on ``game`` with ``seed``."""
    items = () if agent in PEER_LABELS else tuple(config["overrides"].get(agent, []))
    path = run_path(config["runs_dir"], agent, game, seed)
    return Run(agent, preset_of(config, agent), items, game, seed, config["frames"], path)


def run_table(config: Mapping) -> list[Run]:
    """Every run the config asks for, in the config's order: the main grid (agents x games x
    seeds), the peers, Table 2's variant runs, the studies' runs (settings equal to main-grid
    runs read those) and the confirmatory arms' runs."""
    runs, root = [], config["runs_dir"]
    for agent in [*config["agents"], *config.get("peers", [])]:
        runs += [main_run(config, agent, g, s) for g in config["games"] for s in config["seeds"]]
    t2 = config["table2"]
    for variant, variant_items in t2["variants"].items():
        for name, input_items in table2_inputs(config).items():
            items = tuple(t2["overrides"] + variant_items + input_items)
            path = f"{root}/table2/{variant}-{name}"
            preset = preset_of(config, INTERPRETED)
            runs.append(Run(INTERPRETED, preset, items, t2["game"], t2["seed"], t2["frames"], path))
    for study in STUDIES:
        spec = config[study]
        for setting in spec["settings"]:
            if reused_folder(config, study, setting):
                continue
            items = tuple(study_items(config, study, setting))
            for seed in spec["seeds"]:
                path = run_path(root, f"{study}/{setting}", spec["game"], seed)
                preset = preset_of(config, INTERPRETED)
                runs.append(
                    Run(INTERPRETED, preset, items, spec["game"], seed, spec["frames"], path)
                )
    return runs + confirmatory_runs(config)


def confirmatory_runs(config: Mapping) -> list[Run]:
    """The pre-registered runs of config ``confirmatory`` (none without it), arm by arm."""
    study = config.get("confirmatory")
    if not study:
        return []
    runs = []
    for arm, spec in study["arms"].items():
        for game in spec.get("games", list(study["budgets"])):
            items = tuple(spec.get("overrides", []) + evaluation_items(study, game))
            budget = study["budgets"][game]
            for seed in spec["seeds"]:
                path = run_path(study["runs_dir"], arm, game, seed)
                runs.append(
                    Run(spec["agent"], spec["preset"], items, game, seed, budget, path, True)
                )
    return runs


#: A study's marker of a run that stopped on a non-finite loss (:func:`record_failure`).
FAILED_FILE = "failed.json"
#: What the runner's one-line error says when it stops a run on a non-finite loss.
NON_FINITE = "non-finite"


def is_failed_run(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` was collected as stopped on a non-finite loss (its ``failed.json``,
    written by :func:`record_failure`): a finished input of its study, with no trained agent."""
    return os.path.isfile(os.path.join(run_dir, FAILED_FILE))


def record_failure(run_dir: Path) -> Path | None:
    """Write ``failed.json`` into a run that stopped on a non-finite loss, from its
    ``train.log`` (the runner's one-line error, kept as ``reason``), and return its path; None
    when the run has finished or its log reports no such stop. docs/preregistration.md scores a
    failed run as random play; the marker makes it a finished input of the study's report."""
    log = run_dir / "train.log"
    if (run_dir / "summary.json").is_file() or not log.is_file():
        return None
    lines = [line for line in log.read_text(errors="replace").splitlines() if NON_FINITE in line]
    if not lines:
        return None
    path = run_dir / FAILED_FILE
    from agents.files import atomic_write_text  # torch: not at import (the Snakefile imports this)

    atomic_write_text(path, json.dumps({"reason": lines[-1].strip()}, indent=2) + "\n")
    return path


def attention_showcase(config: Mapping) -> dict[str, str]:
    """Per game, the confirmatory run whose attention strip and GIF the report draws
    (docs/preregistration-amendments.md, amendment 7): seed 0 of the attention agent's arm,
    fixed before any score of its arms was read, never the best seed. Its committed float16
    weights are what the figures are drawn from, so a clone draws the same ones. A run collected
    as failed (its ``failed.json``) has no weights: its game gets no figure (amendment 8)."""
    runs = [
        run
        for run in confirmatory_runs(config)
        if run.agent == "attention" and run.seed == 0 and not is_failed_run(run.path)
    ]
    showcase = {run.game: run.path for run in runs}
    if len(showcase) != len(runs):
        raise UsageError(
            "config confirmatory.arms: two attention arms train seed 0 of one game, "
            "and amendment 7 draws one run per game"
        )
    return showcase


def lockstep_size(config: Mapping, agent: str) -> int | None:
    """How many seeds of ``agent``'s cells one job trains (config ``lockstep``): None for all of
    them, 1 (the default) for one run per job. An agent whose registry entry has no lockstep
    learner always trains one run per job."""
    setting = config.get("lockstep", 1)
    if isinstance(setting, Mapping):
        setting = setting.get(agent, 1)
    elif agent not in AGENTS or not AGENTS[agent].lockstep:
        return 1  # a single value applies to the agents that can train in lockstep
    return None if setting == "all" else int(setting)


def check_lockstep(config: Mapping) -> None:
    """Refuse, with one line, a per-agent ``lockstep`` for an agent without a lockstep learner."""
    setting = config.get("lockstep", 1)
    if not isinstance(setting, Mapping):
        return
    able = [name for name, entry in AGENTS.items() if entry.lockstep]
    for agent, size in setting.items():
        if size not in (1, "all") and (agent not in AGENTS or not AGENTS[agent].lockstep):
            raise UsageError(
                f"config lockstep.{agent}: {agent} cannot train in lockstep "
                f"(agents that can: {', '.join(able)})"
            )


def training_jobs(runs: Iterable[Run], config: Mapping, exists=os.path.exists) -> list[list[Run]]:
    """The runs grouped into training jobs: one run each, except that with config ``lockstep``
    the unfinished runs of a cell (same agent, preset, --set items, game, budget and folder)
    are chunked, by seed, into jobs of the configured size.

    A finished run (its ``summary.json`` exists) always stays a job of its own, exactly the job
    it was without lockstep, so switching lockstep on never retrains it; Table 2's runs (no
    ``s<seed>`` folder), peers and the confirmatory study's runs (pre-registered as single runs,
    docs/preregistration.md) always train alone.
    """
    study = (config.get("confirmatory") or {}).get("runs_dir")
    jobs: list[list[Run]] = []
    cells: dict[tuple, list[Run]] = {}
    for run in runs:
        size = 1 if run.peer else lockstep_size(config, run.agent)
        alone = (
            size == 1
            or not os.path.basename(run.path).startswith("s")
            or (study is not None and run.path.startswith(study.rstrip("/") + "/"))
            or exists(os.path.join(run.path, "summary.json"))
        )
        if alone:
            jobs.append([run])
        else:
            cells.setdefault((run.cell(), size), []).append(run)
    for (_, size), members in cells.items():
        members = sorted(members, key=lambda run: run.seed)
        step = size or len(members)
        jobs += [members[start : start + step] for start in range(0, len(members), step)]
    return jobs


def find_run(table: Mapping[str, Run], config: Mapping, path: str) -> Run:
    """The run whose directory is ``path``: a row of the table, else a main-grid run outside
    the config's games or seeds (``snakemake RUNS/ddqn/MinAtar-Freeway/s0/summary.json``)."""
    if path in table:
        return table[path]
    agent, game, seed = path.removeprefix(f"{config['runs_dir']}/").split("/")
    return main_run(config, agent, game, int(seed.removeprefix("s")))
