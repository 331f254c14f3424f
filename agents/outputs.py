"""Every table and figure that ``python -m agents report`` builds, declared once.

An :class:`Output` names its builder function, the file types it writes, its caption and what it
is built from. The CLI's ``report`` choices and its dispatch, the Snakemake targets and rules
(``workflow/rules/reports.smk``) and the HTML report's captions are all read from
:data:`OUTPUTS`, so adding a table or figure is one entry here plus its builder function.

This module imports nothing heavy (no matplotlib, pandas or torch): Snakemake imports it to
build the DAG, and the builders are imported only when one runs.

Captions are reStructuredText, rendered as such in the Snakemake report and turned into
Markdown and LaTeX captions for the ``.md`` and ``.tex`` tables (:mod:`agents.reports`). They may
name, in ``str.format`` fields, the values a report is made with: ``{seeds}``, ``{games}``,
``{agents}`` and the output's :attr:`Output.options` (``{tolerance}``, ``{reps}``); the CLI
fills them from its arguments, the workflow from the config, so both print the same text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Literal

from agents.errors import UsageError

TABLE_SUFFIXES = (".csv", ".md", ".tex")
FIGURE_SUFFIXES = (".png", ".pdf")
SUFFIXES = {"table": TABLE_SUFFIXES, "figure": FIGURE_SUFFIXES}
Format = Literal["table", "figure"]
# What an output is built from; how the CLI loads each kind of input is in agents.__main__:
#   runs: the episode logs of every (agent, game, seed) selected by --agents, --games, --seeds;
#   agreements: the agreement JSONs of the Table 2 variant runs (--agreements).
Needs = Literal["runs", "agreements"]


@dataclass(frozen=True)
class Output:
    """One report output: ``<out>.csv/.md/.tex`` for a table, ``<out>.png/.pdf`` for a figure.

    Args:
        build: the builder, as ``"module:function"`` (imported when it runs) or a function. For ``needs="runs"`` it is called as
            ``build(runs, out, caption, **options)`` with an :class:`agents.reports.Runs`; for
            ``needs="agreements"`` as ``build(agreements, reference, out, caption)``. It writes
            every file of :attr:`suffixes` next to the path ``out`` (no suffix) and returns them.
        formats: ``("table",)``, ``("figure",)`` or both, in the order the files are listed.
        caption: the one caption (reStructuredText, ``str.format`` fields as above).
        category: the section of the Snakemake report that shows it.
        needs: what it is built from (:data:`Needs`).
        options: the CLI options it reads besides the inputs, e.g. ``("tolerance",)`` for
            ``--tolerance``; the workflow passes each from its config (``REPORT_OPTIONS`` in
            ``workflow/rules/common.smk``).
    """

    build: str | Callable[..., list]
    formats: tuple[Format, ...]
    caption: str
    category: str
    needs: Needs = "runs"
    options: tuple[str, ...] = ()

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Every file suffix it writes, in :attr:`formats` order."""
        return tuple(suffix for fmt in self.formats for suffix in SUFFIXES[fmt])

    @property
    def reported(self) -> tuple[str, ...]:
        """The suffixes the Snakemake report shows, one per format (``.csv``, ``.png``)."""
        return tuple(SUFFIXES[fmt][0] for fmt in self.formats)

    def builder(self) -> Callable[..., list]:
        """The builder function, imported now."""
        if callable(self.build):
            return self.build
        module, _, name = self.build.partition(":")
        return getattr(import_module(module), name)

    def caption_text(self, values: Mapping[str, object]) -> str:
        """The caption with its fields filled from ``values`` (extra keys are ignored)."""
        return self.caption.format_map(dict(values))


_TABLE1 = """\
**Table 1.** Training reward of the agents we trained (the "(ours)" columns) beside the paper's
reported columns. The headline statistic is the paper's: the 100-episode moving average of the
training return, its best point in each seed, averaged over seeds. Only full windows count: a
seed with fewer than 100 episodes has no statistic, its agent's cells are left empty and the
``note`` column says so ("too few episodes (N < 100)"). Beside it: the mean and standard
deviation over seeds of the final 100-episode average, on the same rule. The paper's columns
(its DDQN and i-DQN at 10M frames; the DDQN, Distributional DQN, Q-ensemble, Bootstrap DQN and
Noisy DQN scores its Table 1 quotes from the literature, "DDQN (paper, reported 200M)" being
Hessel et al.'s DDQN after 200M frames) are transcribed in ``data/paper/table1.csv`` with their
sources. Seeds: {seeds}.
"""

_VERDICT = """\
**Reproduction verdicts.** Each of our cells ('ours': per seed, the best full 100-episode moving
average of the training return, windows of fewer than 100 episodes never counting; mean over the
n seeds; 'seed sd': its standard deviation over seeds) against the paper's value at 10M frames
('paper'). Threshold T = paper - {tolerance:g} * abs(paper). Bounds L, U = mean -/+
t(0.95; n-1) * sd / sqrt(n), the one-sided 95% Student-t confidence bounds of the mean over
seeds, so the verdict weighs the seed spread, not only the mean. Rule: "reproduced" if L >= T (the mean clears
T by more than the seed spread allows for chance); "within spread" if L < T <= U (the seeds
cannot tell); "not reproduced" if U < T; "inconclusive (1 seed)" with a single seed, which has
no spread to weigh; "too few episodes" when a seed has fewer than 100 episodes (no statistic, no
verdict; the ``reason`` column names the seeds); "no reference" when the paper gives no value
for that agent and game.
"""

_FIGURE8 = """\
**Figure 8.** Training curves: the 100-episode moving average of the training return against
emulator frames, one line per agent, one panel per game. Lines are the mean over seeds, bands
one standard deviation. Only full windows count, so a curve starts once every seed has 100
episodes; a panel whose runs have fewer says so instead.
"""

_AGGREGATE = """\
**Aggregate (rliable).** Scores are each seed's best full 100-episode moving average, normalised
by random and the paper's DDQN, (score - random) / (paper DDQN - random), or by random and the
paper's i-DQN; on games the paper never ran (MinAtar), by our own runs instead: the mean over
seeds of our random agent, and of our DDQN or our i-DQN ("our DDQN", "our i-DQN"); there the
normalising agent's IQM is about 1 and random's about 0 by construction, and the ``note`` column
says so. Table: the interquartile mean (IQM) over runs and games under both
normalisations, with 95% stratified-bootstrap confidence intervals ({reps} repetitions), and,
for each agent whose baseline was trained too, the probability that it improves on its baseline,
P(agent > baseline) (Agarwal et al. 2021), with its CI. Figure: left, the IQM normalised by the
paper's DDQN with its CI; right, performance profiles, the fraction of runs whose normalised
score exceeds tau, with bootstrap bands. When any run has fewer than 100 episodes, or a game has
no paper score to normalise by, the aggregate is undefined: every estimate is left empty, the
``note`` column names those runs and the figure says so. rliable takes no missing score, and
dropping the short runs would bias it.
"""

_TABLE2 = """\
**Table 2.** Agreement between the actions of trained i-DQN variants (AE, VAE with beta 0 and
0.01, Dense VAE) on one game (the paper's: MsPacman, in colour and gray; MinAtar's object channels
are one input, "channels", with no paper value), and the actions suggested by their decoded
keys: each state's cosine similarity to every decoded key gives an image-space attention, hence
Q', U' and a' = argmax Q' + lambda_exp U'. Agreement is the percentage of steps where a' equals
the agent's action over the configured rollouts; random agreement is 100 / (number of actions),
11.1% for MsPacman's 9 actions, 33.3% for MinAtar Breakout's 3. ``chance (action shares)``: the
agreement of a suggestion that ignores the state but takes each action as often as a' does,
100 * sum_a p(a) q(a), with p and q the shares of each action among the agent's actions and the
suggested ones; when either is skewed it is the rate to beat (a constant a' agrees exactly as
often as the agent takes that action). Steps within a rollout are correlated, so the steps are
not independent trials. The paper's numbers are transcribed in ``data/paper/table2.csv``.
"""

_CLAIMS = """\
**Score claims.** The numbers docs/reproduction.md judges the paper's score claims by, per agent
and game over seeds {seeds}: ``final_100``, the mean over seeds of the last 100 episodes' average
training return, with its two-sided 95% Student-t interval [``final_low``, ``final_high``] =
mean -/+ t(0.975; n-1) * sd / sqrt(n) (Table 1's claim that i-DQN is competitive with DDQN);
``early_100``, the same of each seed's 100-episode moving average at its last full window by
``early_frame``, one third of the budget (Fig 8's claim that directed exploration reaches
competitive scores quickly). A cell is empty where a seed has no full 100-episode window.
``early_last10`` [``early_last10_low``, ``early_last10_high``]: the same of each seed's mean
return over its last 10 episodes ending by ``early_frame``, for games whose episodes are too
long to fill a 100-episode window by then (empty where a seed has fewer than 10).
"""

OUTPUTS: dict[str, Output] = {
    "table1": Output("agents.reports:write_table1", ("table",), _TABLE1, "Table 1"),
    "verdict": Output(
        "agents.reports:write_verdict", ("table",), _VERDICT, "Verdict", options=("tolerance",)
    ),
    "figure8": Output("agents.reports:write_figure8", ("figure",), _FIGURE8, "Figure 8"),
    "aggregate": Output(
        "agents.reports:write_aggregate",
        ("table", "figure"),
        _AGGREGATE,
        "Aggregate",
        options=("reps",),
    ),
    "claims": Output("agents.reports:write_claims", ("table",), _CLAIMS, "Claims"),
    "table2": Output(
        "agents.reports:write_table2", ("table",), _TABLE2, "Table 2", needs="agreements"
    ),
}


# The studies of agents/studies.py (`python -m agents study KIND`): their captions, declared here
# so that Snakemake reads them without importing the builders.
STUDY_KINDS = ("ablation", "diversity", "sensitivity")

STUDY_CAPTIONS = {
    "ablation": """\
**Loss ablation (Fig 9a).** i-DQN settings on one game, each a list of ``--set`` items on top of
the i-DQN preset (config ``ablations.settings``): the paper keeps the diversity loss and adds
the others one by one (bellman-diversity, bellman-distributional-diversity, all-losses = the
preset); beyond the paper, no-bellman drops only the Bellman loss, and no-diversity (lambda_4 = 0)
is the diversity study's other half. Table: per setting, the mean and standard deviation over
seeds of the final and the best 100-episode average of the training return (Table 1's
statistics; empty where a seed has fewer than 100 episodes), and the final's two-sided 95%
Student-t interval over seeds [``final_100 low``, ``final_100 high``]. Figure: the 100-episode moving
average against frames, mean over seeds with a one-sd band, as Figure 8.
""",
    "diversity": """\
**Diversity (Figs 9b/c).** How spread out the attention over each action's keys is with the
diversity loss (lambda_4 = 0.01) and without it (lambda_4 = 0), on one fixed set of evaluation
states (those the first setting's seed-0 agent visits, evenly spaced; the same states for every
run). Per setting, seed and action: the mean attention entropy in nats (0 for one key, ``entropy
max`` = log N for uniform attention) and the mean number of keys holding at least 1% of the
attention (1 to ``keys max`` = N). The paper's loss ||A A^T - I|| works across the batch, so the
construct it targets has two sides, also given: across states, the number of distinct argmax keys
over the states and the entropy of the state-averaged attention (how many keys the states use
between them); per state, the top weight and the effective number of keys exp(entropy) (how
peaked each state's attention is). "mean over actions" rows average each, and the rows with seed
"all" give their mean over seeds with its two-sided 95% Student-t interval (``low``, ``high``).
The paper's claim: without the diversity loss the agent attends over a small set of keys; with
it, states spread over more keys while each state's attention stays peaked. Figure: the attention heat-maps (actions x keys sorted by value) of the
same states under each setting, seed 0.
""",
    "sensitivity": """\
**Sensitivity (the paper's MsPacman study).** Each setting changes the loss weights (lambda_1
bellman, lambda_2 distributional, lambda_3 reconstruction; lambda_4 = 0.01 kept) or lambda_exp of
the i-DQN preset. ``ours``: the best 100-episode average of the training return, mean over seeds
(sd beside it); ``ours drop %``: 100 * (default - setting) / default. ``paper``: the score the
paper's text reports (``data/paper/sensitivity.csv``; the default's is its Table 1 value, our
reading), ``paper drop %`` computed the same way, and the drop the text states, where it states
one. The paper reports no number for lambda_exp in {0.1, 0.001}, only "no significant effect".
""",
}


def get_output(name: str) -> Output:
    """Look up an output by name, or raise a one-line :class:`UsageError` listing the valid ones."""
    if name not in OUTPUTS:
        raise UsageError(f"unknown report output {name!r}; valid outputs: {', '.join(OUTPUTS)}")
    return OUTPUTS[name]


def outputs_needing(needs: Needs) -> list[str]:
    """The names of the outputs built from ``needs``, in declaration order."""
    return [name for name, output in OUTPUTS.items() if output.needs == needs]
