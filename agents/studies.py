"""The paper's studies of its own loss design, as grids of i-DQN settings.

* **Loss ablation** (Fig 9a, the paper's Pong): keep the diversity loss and add the others one by
  one; beyond the paper, every loss but the Bellman one.
* **Diversity** (Figs 9b/c): lambda_4 = 0.01 against lambda_4 = 0, on the ablation's runs: the
  attention heat-maps of the same states side by side, and the spread of attention as numbers
  (:mod:`agents.interpret.diversity`).
* **Sensitivity** (the paper's MsPacman study): the loss weights and lambda_exp, one at a time,
  against the default setting, beside the paper's scores (``data/paper/sensitivity.csv``).

A study is one game, seeds, a budget and named settings, each a list of ``--set`` items on top of
the i-DQN preset (config keys ``ablations`` and ``sensitivity``). Its runs live in
``RUNS/<study>/<setting>/<game>/s<seed>/``, so :func:`agents.reports.load_episodes` reads them
with the setting in the agent's place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from agents.errors import UsageError
from agents.reports import (
    figure8,
    load_episodes,
    per_seed_scores,
    run_dir,
    t_interval,
    write_table,
)
from agents.rundir import load_run

STUDY_SCORES = ("final_100", "best_100")  # the statistics of Table 1, per seed


@dataclass(frozen=True)
class Study:
    """A study's runs: ``root/<setting>/<game>/s<seed>/``, except the settings in ``reused``,
    whose runs are another grid's (setting -> the folder holding ``<game>/s<seed>/``): a setting
    equal to the main grid's i-DQN runs (no --set items, same game, budget and seeds) reads
    those instead of training them again."""

    root: Path
    settings: tuple[str, ...]
    game: str
    seeds: tuple[int, ...]
    reused: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self):
        if len(set(self.settings)) != len(self.settings):
            raise UsageError(f"a study's settings must be distinct, got {list(self.settings)}")
        unknown = set(self.reused) - set(self.settings)
        if unknown:
            raise UsageError(f"reused settings {sorted(unknown)} are not among the settings")

    def folder(self, setting: str) -> Path:
        """The folder holding ``<game>/s<seed>/`` of ``setting``'s runs."""
        return Path(self.reused.get(setting, Path(self.root) / setting))

    def run(self, setting: str, seed: int) -> Path:
        folder = self.folder(setting)
        return run_dir(folder.parent, folder.name, self.game, seed)

    def load(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Episode logs (``agent`` = setting) and per-seed scores of every run."""
        logs = []
        for setting in self.settings:
            folder = self.folder(setting)
            log = load_episodes(folder.parent, [folder.name], [self.game], self.seeds)
            logs.append(log.assign(agent=setting))
        episodes = pd.concat(logs, ignore_index=True)
        return episodes, per_seed_scores(episodes)


def setting_table(scores: pd.DataFrame, settings: Sequence[str]) -> pd.DataFrame:
    """Per setting: seeds, and the mean and sd over seeds of the final and best 100-episode
    averages with the final's two-sided 95% Student-t interval (NaN where a seed has fewer than
    100 episodes)."""
    rows = []
    for setting in settings:
        mine = scores[scores["agent"] == setting]
        row = {"setting": setting, "seeds": len(mine)}
        for column in STUDY_SCORES:
            values = mine[column]
            row[f"{column} mean"] = values.mean() if values.notna().all() else np.nan
            row[f"{column} sd"] = values.std(ddof=1) if values.notna().all() else np.nan
        _, row["final_100 low"], row["final_100 high"] = t_interval(mine["final_100"], 0.975)
        rows.append(row)
    return pd.DataFrame(rows)


def write_ablation(study: Study, out: Path, caption: str) -> list[Path]:
    """Fig 9a: training curves per setting with seed bands, and the table of final and best."""
    episodes, scores = study.load()
    paths = write_table(setting_table(scores, study.settings), out, caption)
    figures = [Path(out).with_suffix(suffix) for suffix in (".png", ".pdf")]
    labels = {name: name for name in study.settings}
    figure8(
        episodes,
        [study.game],
        figures,
        labels=labels,
        title=f"Fig 9a, loss ablation on {study.game}:",
    )
    return paths + figures


WEIGHTS = (
    "lambda_bellman",
    "lambda_distributional",
    "lambda_reconstruction",
    "lambda_diversity",
    "exploration_lambda",
)


def loss_weights(run: Path) -> dict[str, str]:
    """The loss weights and lambda_exp a run trained with, from its resolved config, as text:
    the tables print floats to 2 decimals, and lambda_exp = 0.001 must not read 0.00."""
    _, config = load_run(run)
    return {name: f"{getattr(config, name):g}" for name in WEIGHTS}


def sensitivity_table(study: Study, default: str, reference: pd.DataFrame) -> pd.DataFrame:
    """Per setting: its weights, our score (the best 100-episode average, Table 1's statistic;
    mean and sd over seeds), its drop against ``default`` in percent, and the paper's score and
    drop where the paper gives them (``reference``, indexed by setting)."""
    if default not in study.settings:
        raise UsageError(
            f"the sensitivity default {default!r} is not among the settings {list(study.settings)}"
        )
    _, scores = study.load()
    table = setting_table(scores, study.settings).set_index("setting")
    ours_default = table.loc[default, "best_100 mean"]
    paper_default = reference["score"].get(default, np.nan)
    rows = []
    for setting in study.settings:
        paper = reference["score"].get(setting, np.nan)
        ours = table.loc[setting, "best_100 mean"]
        rows.append(
            {"setting": setting}
            | loss_weights(study.run(setting, study.seeds[0]))
            | {
                "seeds": int(table.loc[setting, "seeds"]),
                "ours": ours,
                "ours sd": table.loc[setting, "best_100 sd"],
                "ours drop %": 100 * (ours_default - ours) / abs(ours_default),
                "paper": paper,
                "paper drop %": 100 * (paper_default - paper) / abs(paper_default),
                "paper stated drop %": reference["drop_percent"].get(setting, np.nan),
            }
        )
    return pd.DataFrame(rows)


def read_sensitivity_reference(path: Path) -> pd.DataFrame:
    """``data/paper/sensitivity.csv``, indexed by setting."""
    if not Path(path).is_file():
        raise UsageError(f"sensitivity reference {path} does not exist")
    return pd.read_csv(path).set_index("setting")


def write_sensitivity(
    study: Study, out: Path, caption: str, default: str, reference: Path
) -> list[Path]:
    table = sensitivity_table(study, default, read_sensitivity_reference(reference))
    return write_table(table, out, caption)


# -- diversity (Figs 9b/c) ------------------------------------------------------------------------
#: The diversity table's columns -> the key of :func:`agents.interpret.diversity.attention_spread`:
#: per state (entropy, keys >= 1%), then the paper's construct across states and per state.
DIVERSITY_COLUMNS = {
    "entropy": "entropy",
    "keys": "keys",
    "distinct argmax keys": "distinct_keys",
    "state-averaged entropy": "averaged_entropy",
    "top weight": "top_weight",
    "effective keys": "effective_keys",
}


def diversity_table(study: Study, states: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Attention entropy and keys holding >= 1% per (setting, seed, action), over one fixed set
    of evaluation states: those the first setting's first seed visits under its evaluation
    policy (seed ``seed``), so every run is measured on the same states. Also returns them."""
    from agents.interpret.diversity import DEFAULT_MASS, attention_spread
    from agents.interpret.figures import load_idqn
    from agents.interpret.run_measures import fixed_states

    settings, seeds = study.settings, study.seeds
    run, config, agent = load_idqn(study.run(settings[0], seeds[0]))
    observations = fixed_states(run, config, agent, states, seed)
    rows = []
    for setting in settings:
        for run_seed in seeds:
            _, _, agent = load_idqn(study.run(setting, run_seed))
            spread = attention_spread(agent, observations, DEFAULT_MASS)
            bounds = {"entropy max": spread["entropy_max"], "keys max": spread["keys_max"]}
            names = [*agent.spec.action_meanings, "mean over actions"]
            for index, name in enumerate(names):
                values = {
                    column: float(
                        spread[key].mean() if index == len(names) - 1 else spread[key][index]
                    )
                    for column, key in DIVERSITY_COLUMNS.items()
                }
                rows.append(
                    {"setting": setting, "seed": run_seed, "action": name} | values | bounds
                )
    table = pd.DataFrame(rows)
    # Per setting, over seeds: the mean over actions with its two-sided 95% Student-t interval.
    summary = []
    for setting in settings:
        mine = table[(table["setting"] == setting) & (table["action"] == "mean over actions")]
        row = {"setting": setting, "seed": "all", "action": "mean over actions"}
        for column in DIVERSITY_COLUMNS:
            mean, low, high = t_interval(mine[column], 0.975)
            row |= {column: mean, f"{column} low": low, f"{column} high": high}
        summary.append(
            row | {"entropy max": mine["entropy max"].iloc[0], "keys max": mine["keys max"].iloc[0]}
        )
    return pd.concat([table, pd.DataFrame(summary)], ignore_index=True), observations


def write_diversity(
    study: Study,
    out: Path,
    caption: str,
    states: int = 200,
    shown: int = 3,
) -> list[Path]:
    """The table, and a figure: ``shown`` of the states, each setting's attention (seed 0)."""
    from agents.interpret.figures import load_idqn, run_renderer, save

    table, observations = diversity_table(study, states)
    paths = write_table(table, out, caption)
    settings, game, seeds = study.settings, study.game, study.seeds
    agents = [load_idqn(study.run(setting, seeds[0])) for setting in settings]
    renderer = run_renderer(*agents[0][:2])
    picked = observations[:: max(1, len(observations) // shown)][:shown]
    columns = 1 + len(settings)
    fig, axes = plt.subplots(
        len(picked), columns, figsize=(3.3 * columns, 2.9 * len(picked)), squeeze=False
    )
    for row, obs in enumerate(picked):
        renderer.show(axes[row, 0], renderer.newest(obs))
        axes[row, 0].set_title("state", fontsize=9)
        for column, (setting, (_, config, agent)) in enumerate(zip(settings, agents, strict=True)):
            ax = axes[row, column + 1]
            order = agent.values.argsort()
            weights = agent.inspect(obs[None]).attention[0][:, order].cpu().numpy()
            ax.imshow(weights, cmap="Greys", aspect="auto", vmin=0, vmax=1)
            ax.set_title(f"{setting} (lambda_4 = {config.lambda_diversity:g})", fontsize=9)
            ax.set_yticks(range(agent.spec.num_actions), agent.spec.action_meanings, fontsize=7)
            ax.set_xlabel("values (sorted)", fontsize=8)
    fig.suptitle(f"Attention w_a(s) over the keys, {game}, seed {seeds[0]}", fontsize=10)
    renderer.add_legend(fig)
    return paths + save(fig, Path(out))
