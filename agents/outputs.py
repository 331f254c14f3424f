"""Every table and figure the suite builds, declared once: from runs, per run, per study.

An :class:`Output` names its builder function, the file types it writes, its caption, what it
is built from (:data:`Needs`) and the options it reads. The CLI's choices and its dispatch
(``python -m agents report|interpret|study KIND``), the Snakemake targets and rules
(``workflow/rules/reports.smk``: one generic rule per kind of input and file types), the HTML
report's captions and docs/interpretability.md's map (:func:`markdown_map`) are all read from
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

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Literal

from agents.errors import UsageError

TABLE_SUFFIXES = (".csv", ".md", ".tex")
FIGURE_SUFFIXES = (".png", ".pdf")
SUFFIXES = {
    "table": TABLE_SUFFIXES,
    "figure": FIGURE_SUFFIXES,
    "json": (".json",),
    "gif": (".gif",),
}
Format = Literal["table", "figure", "json", "gif"]
# What an output is built from; how the CLI loads each kind of input is in agents.__main__:
#   runs: the episode logs of every (agent, game, seed) selected by --agents, --games, --seeds;
#   agreements: the agreement JSONs of the Table 2 variant runs (--agreements);
#   game: one game's first-seed run of Output.agent (--run), per game of the config;
#   variant: one Table 2 variant run (--run); variants: all of them (--run, --variants);
#   study: the runs of a study's settings (--runs, --settings, --game, --seeds).
Needs = Literal["runs", "agreements", "game", "variant", "variants", "study"]
#: The CLI command that builds the outputs of each kind of input.
COMMANDS = {
    "runs": "report",
    "agreements": "report",
    "game": "interpret",
    "variant": "interpret",
    "variants": "interpret",
    "study": "study",
}


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
            ``--tolerance``, passed to the builder as keywords of the same name (or of the name
            :attr:`keywords` gives). A per-run or study builder is called as
            ``build(run, out, **options)`` / ``build(study, out, caption, **options)`` with the
            options the command line gave.
        config: the config key the workflow passes each option from (``{game}`` filled in;
            a key the config lacks passes nothing, so the builder's default holds).
        keywords: option -> the builder's keyword, where they differ.
        agent: for per-run outputs, the agent whose run it reads.
        beside: per-game outputs that also read the baseline's run (``--ddqn-run``) when trained.
        study: for study outputs, the config key of the study (its folder under the reports).
        settings: for study outputs, the config key listing the settings it reads (default all).
        paper: the paper's figure or table it reproduces (docs/interpretability.md's map).
        functions: the analysis functions behind it, for that map.
        in_run: a per-run result written into the run's own folder (Table 2's agreement JSON,
            which Table 2 reads), not into the reports.
    """

    build: str | Callable[..., list]
    formats: tuple[Format, ...]
    caption: str
    category: str
    needs: Needs | tuple[Needs, ...] = "runs"
    options: tuple[str, ...] = ()
    config: Mapping[str, str] = field(default_factory=dict)
    keywords: Mapping[str, str] = field(default_factory=dict)
    agent: str = "idqn"
    beside: bool = False
    study: str = ""
    settings: str = ""
    paper: str = ""
    functions: str = ""
    in_run: bool = False

    @property
    def inputs(self) -> tuple[Needs, ...]:
        """Every kind of input it is built from (the adversarial figure: per game and per Table
        2 variant run)."""
        return self.needs if isinstance(self.needs, tuple) else (self.needs,)

    @property
    def command(self) -> str:
        """The CLI command that builds it: ``report``, ``interpret`` or ``study``."""
        return COMMANDS[self.inputs[0]]

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
episodes; a panel whose runs have fewer says so instead. Published curves, where a config gives
them (Pong: Dopamine's DQN, ``data/atari/README.md``), are dashed: their mean over runs at the
middle of each stretch of frames, the band their range; ours trail them by about half a window.
"""

_MILESTONES = """\
**Learning milestones.** How each run's training return developed, on the statistic of Table 1
(the 100-episode moving average of the training return, full windows only): the emulator frames
and episodes the run has, its best average and the frame at the end of that window, its final
average (the last 100 episodes), and, for each threshold the config names (``milestones``; Pong:
0 and 15), the first frame at which the average reached it, empty where it never did. Read from
the episode logs alone, so it describes a run still training too (``python -m agents report
milestones``). One row per run: no mean over seeds.
"""

_DIAGNOSTICS = """\
**Training diagnostics.** What to look at when a run does not learn, per game (a column) against
emulator frames, a line per seed: the 100-episode training average (Figure 8's statistic), the
training loss, the mean Q-value of the actions taken and DDQN's ε, each where an agent logs it
(``losses.csv``: one row every ``log_loss_every_updates`` updates; loss and Q drawn as the
moving mean of 5 rows; the loss is an agent's own total, the four weighted losses for i-DQN),
the loss on a log scale (symlog, linear within ±0.01, where an agent's loss goes below 0).
Whether ε has decayed, the loss settled or diverged, and Q reached the scale of the returns
(discounted at γ = 0.99) tells an exploration, optimisation or value-scale problem apart.
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

_KEYS = """\
**Key inversion.** Each key decoded to an image: actions x the supports nearest 25, 3, -11, -25.
"""
_TSNE = """\
**t-SNE.** Visited states, coloured by their most attended key, keys as stars, beside DDQN's
penultimate layer.
"""
_MAPS = """\
**Attention and saliency.** Attention heat maps (actions x values) and perturbation saliency
(Greydanus et al. 2017), one map per action of interest (``--actions``, or ``saliency_actions``
in the config; default the chosen action).
"""
_ADVERSARIAL = """\
**Out-of-sample states.** RAM edits through ale-py (MsPacman: Ms. Pac-Man moved, an eaten pellet
put back; SpaceInvaders: the formation mirrored) and the pixel-wise max over visited states, with
saliency for each action chosen in them (Fig 15); per game, and for the Table 2 run
``table2.adversarial_run``.
"""
_AGREEMENT = """\
**Agreement.** One Table 2 variant run's agreement score over its rollouts (Table 2 reads it).
"""
_AGREEING = """\
**Agreeing examples.** States where the agent's action equals the action its decoded keys
suggest, each beside the decoded key that action's image-space attention weighs most, picked by
the steps Table 2's score counts.
"""
_RECONSTRUCTIONS = """\
**Reconstructions by variant.** The same states decoded by the AE, VAE beta=0, VAE beta=0.01 and
Dense-VAE runs of Table 2, a block of rows per input (colour, gray; MinAtar: channels).
"""
_EMBEDDING = """\
**Embedding statistics.** Fig 2's claims as numbers: the keys' distance to the states, and the
top-key purity against DDQN's penultimate layer.
"""
_INTERPOLATION = """\
**Latent interpolation.** Decode (1 - lambda) key + lambda h(s), lambda = 0, 0.2, ..., 1, from the
chosen action's most attended key to a visited state, drawn last as the channel-wise max of its 4
frames (as the paper does).
"""
_ATTENTION_STRIP = """\
**Attention strip.** Consecutive steps of one episode of a game's first-seed attention run: each
query's spatial attention over the frame, and the chosen action's perturbation saliency.
"""
_ATTENTION_VIDEO = """\
**Attention video.** One episode of a game's first-seed attention run as a GIF, the maps
overlaid.
"""
_ABLATION = """\
**Loss ablation (Fig 9a).** i-DQN settings on one game, each a list of ``--set`` items on top of
the i-DQN preset (config ``ablations.settings``): the paper keeps the diversity loss and adds
the others one by one (bellman-diversity, bellman-distributional-diversity, all-losses = the
preset); beyond the paper, no-bellman drops only the Bellman loss, and no-diversity (lambda_4 = 0)
is the diversity study's other half. Table: per setting, the mean and standard deviation over
seeds of the final and the best 100-episode average of the training return (Table 1's
statistics; empty where a seed has fewer than 100 episodes), and the final's two-sided 95%
Student-t interval over seeds [``final_100 low``, ``final_100 high``]. Figure: the 100-episode moving
average against frames, mean over seeds with a one-sd band, as Figure 8.
"""
_DIVERSITY = """\
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
"""
_SENSITIVITY = """\
**Sensitivity (the paper's MsPacman study).** Each setting changes the loss weights (lambda_1
bellman, lambda_2 distributional, lambda_3 reconstruction; lambda_4 = 0.01 kept) or lambda_exp of
the i-DQN preset. ``ours``: the best 100-episode average of the training return, mean over seeds
(sd beside it); ``ours drop %``: 100 * (default - setting) / default. ``paper``: the score the
paper's text reports (``data/paper/sensitivity.csv``; the default's is its Table 1 value, our
reading), ``paper drop %`` computed the same way, and the drop the text states, where it states
one. The paper reports no number for lambda_exp in {{0.1, 0.001}}, only "no significant effect".
"""

_FIG = ("figure",)


OUTPUTS: dict[str, Output] = {
    "table1": Output("agents.reports:write_table1", ("table",), _TABLE1, "Table 1"),
    "verdict": Output(
        "agents.reports:write_verdict",
        ("table",),
        _VERDICT,
        "Verdict",
        options=("tolerance",),
        config={"tolerance": "verdict_tolerance"},
    ),
    "figure8": Output(
        "agents.reports:write_figure8",
        ("figure",),
        _FIGURE8,
        "Figure 8",
        options=("reference_curves",),
        config={"reference_curves": "reference_curves"},
    ),
    "milestones": Output(
        "agents.reports:write_milestones",
        ("table",),
        _MILESTONES,
        "Figure 8",
        options=("thresholds",),
        config={"thresholds": "milestones"},
    ),
    "diagnostics": Output(
        "agents.reports:write_diagnostics", ("figure",), _DIAGNOSTICS, "Figure 8"
    ),
    "aggregate": Output(
        "agents.reports:write_aggregate",
        ("table", "figure"),
        _AGGREGATE,
        "Aggregate",
        options=("reps",),
        config={"reps": "bootstrap_reps"},
    ),
    "claims": Output("agents.reports:write_claims", ("table",), _CLAIMS, "Claims"),
    "table2": Output(
        "agents.reports:write_table2",
        ("table",),
        _TABLE2,
        "Table 2",
        needs="agreements",
        paper="Table 2",
        functions="agreement.agreement_score, reports.table2",
    ),
    # -- per run: python -m agents interpret KIND --run RUN
    "keys": Output(
        "agents.interpret.figures:key_grid",
        _FIG,
        _KEYS,
        "Interpretability",
        needs="game",
        paper="Figs 3, 4, 10, 11, 12",
        functions="inversion.invert_keys, figures.key_grid",
    ),
    "maps": Output(
        "agents.interpret.figures:attention_and_saliency",
        _FIG,
        _MAPS,
        "Interpretability",
        needs="game",
        options=("states", "seed", "actions"),
        config={"actions": "saliency_actions.{game}"},
        paper="Figs 9b/c, 14",
        functions="saliency.perturbation_saliency, figures.attention_and_saliency",
    ),
    "tsne": Output(
        "agents.interpret.figures:tsne_figure",
        _FIG,
        _TSNE,
        "Interpretability",
        needs="game",
        options=("ddqn_run", "states", "seed"),
        beside=True,
        paper="Fig 2",
        functions="tsne.tsne_2d, figures.tsne_figure",
    ),
    "interpolation": Output(
        "agents.interpret.figures:interpolation",
        _FIG,
        _INTERPOLATION,
        "Interpretability",
        needs="game",
        options=("states", "seed"),
        paper="Fig 16",
        functions="inversion.interpolate_to_state, figures.interpolation",
    ),
    "adversarial": Output(
        "agents.interpret.figures:adversarial",
        _FIG,
        _ADVERSARIAL,
        "Interpretability",
        needs=("game", "variant"),
        options=("seed",),
        paper="Figs 7, 13, 15",
        functions="adversarial.edited_observations, adversarial.pixelwise_max, figures.adversarial",
    ),
    "embedding": Output(
        "agents.interpret.figures:write_embedding",
        ("json",),
        _EMBEDDING,
        "Interpretability",
        needs="game",
        options=("ddqn_run", "states", "seed"),
        beside=True,
        paper="Fig 2 (numbers)",
        functions="embedding.key_to_state_ratio, embedding.neighbour_purity, figures.embedding_statistics",
    ),
    "agreement": Output(
        "agents.interpret.agreement:write_agreement",
        ("json",),
        _AGREEMENT,
        "Interpretability",
        needs="variant",
        options=("rollouts", "max_steps", "seed"),
        config={"rollouts": "table2.rollouts", "max_steps": "table2.max_steps"},
        in_run=True,
    ),
    "agreeing": Output(
        "agents.interpret.figures:agreeing",
        _FIG,
        _AGREEING,
        "Interpretability",
        needs="variant",
        options=("states", "rollouts", "max_steps", "seed"),
        config={"rollouts": "table2.rollouts", "max_steps": "table2.max_steps"},
        keywords={"states": "count"},
        paper="Fig 5",
        functions="agreement.agreement_steps, agreement.agreeing_examples, figures.agreeing",
    ),
    "reconstructions": Output(
        "agents.interpret.figures:variant_reconstructions",
        _FIG,
        _RECONSTRUCTIONS,
        "Interpretability",
        needs="variants",
        options=("variants", "states", "seed"),
        paper="Fig 6",
        functions="figures.reconstructions",
    ),
    "attention-strip": Output(
        "agents.interpret.attention_maps:attention_strip",
        _FIG,
        _ATTENTION_STRIP,
        "Attention agent",
        needs="game",
        options=("states", "seed"),
        keywords={"states": "steps"},
        agent="attention",
        paper="Mott et al. 2019, Fig 3",
        functions="attention_maps.attention_strip",
    ),
    "attention-video": Output(
        "agents.interpret.attention_maps:attention_video",
        ("gif",),
        _ATTENTION_VIDEO,
        "Attention agent",
        needs="game",
        options=("max_steps", "seed"),
        config={"max_steps": "attention_video_steps"},
        agent="attention",
        functions="attention_maps.attention_video",
    ),
    # -- per study: python -m agents study KIND
    "ablation": Output(
        "agents.studies:write_ablation",
        ("figure", "table"),
        _ABLATION,
        "Studies",
        needs="study",
        study="ablations",
        paper="Fig 9a",
        functions="studies.write_ablation",
    ),
    "diversity": Output(
        "agents.studies:write_diversity",
        ("figure", "table"),
        _DIVERSITY,
        "Studies",
        needs="study",
        options=("states",),
        config={"states": "ablations.diversity_states"},
        study="ablations",
        settings="ablations.diversity",
        paper="Figs 9b/c",
        functions="diversity.attention_spread, diversity.across_states, studies.write_diversity",
    ),
    "sensitivity": Output(
        "agents.studies:write_sensitivity",
        ("table",),
        _SENSITIVITY,
        "Studies",
        needs="study",
        options=("default", "reference"),
        config={"default": "sensitivity.default"},
        study="sensitivity",
        paper="Sensitivity to hyperparameters",
        functions="studies.write_sensitivity",
    ),
}


def get_output(name: str) -> Output:
    """Look up an output by name, or raise a one-line :class:`UsageError` listing the valid ones."""
    if name not in OUTPUTS:
        raise UsageError(f"unknown report output {name!r}; valid outputs: {', '.join(OUTPUTS)}")
    return OUTPUTS[name]


def outputs_needing(needs: Needs) -> list[str]:
    """The names of the outputs built from ``needs``, in declaration order."""
    return [name for name, output in OUTPUTS.items() if needs in output.inputs]


def kinds_of(command: str) -> list[str]:
    """The outputs ``python -m agents COMMAND KIND`` builds: the CLI's choices of KIND."""
    return [name for name, output in OUTPUTS.items() if output.command == command]


#: Where each kind of input's outputs go, under the reports folder ({kind}: the output's name).
PLACES = {
    "runs": "{kind}",
    "agreements": "{kind}",
    "game": "interpret/{game}/{kind}",
    "variant": "interpret/{kind}-{variant}",
    "variants": "interpret/{kind}",
    "study": "{study}/{kind}",
}


def markdown_map() -> str:
    """docs/interpretability.md's map: each output with a paper figure, what it shows, the
    functions behind it and the files the pipeline writes (under the default reports folder)."""
    rows = ["| paper | what | function | pipeline output |", "|---|---|---|---|"]
    for name, output in OUTPUTS.items():
        if not output.paper:
            continue
        text = " ".join(output.caption.split()).split("** ", 1)[-1]
        what = re.split(r"(?<=[a-z]{3})\. (?=[A-Z])", text)[0].rstrip(".")  # its first sentence
        suffixes = ",".join(suffix.lstrip(".") for suffix in output.suffixes)
        places = [
            PLACES[needs].format(kind=name, game="<game>", variant="<run>", study=output.study)
            for needs in output.inputs
        ]
        files = ", ".join(f"`reports/{place}.{{{suffixes}}}`" for place in places)
        functions = ", ".join(f"`{item.strip()}`" for item in output.functions.split(","))
        rows.append(f"| {output.paper} | {what} | {functions} | {files} |")
    return "\n".join(rows) + "\n"
