"""Command line: ``python -m agents train|evaluate|peer|pack|resume-point|confirmatory|confirmatory-summary|interpret-run|report|interpret|study|list``.

    python -m agents train --agent ddqn --game Pong --seed 0 --frames 10000000 --out DIR \\
        [--preset NAME] [--set key=value ...]
    python -m agents train --agent ddqn --game Pong --seeds 0 1 2 --frames N --out DIR
        (several seeds in lockstep, one process: DIR/s0, DIR/s1, DIR/s2; agents/lockstep.py)
    python -m agents evaluate --run DIR --episodes N

Bad input (a malformed option included) ends with a one-line ``error: ...`` on stderr and exit
status 2; a run that stops on its own (non-finite loss, full disk) ends with one such line and
exit status 1.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import NoReturn

from agents.errors import Interrupted, RunFailed, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as the CLI's other bad input: one ``error: ...`` line, exit 2.

    argparse would print its usage block (five lines for ``train``) before the error. Subcommand
    parsers are made of this class too (``add_subparsers`` uses the parent's class).
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{' '.join(message.split())} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m agents", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train (or resume) one run, or several seeds in lockstep")
    train.add_argument("--agent", required=True, help="agent name, e.g. ddqn")
    train.add_argument("--game", required=True, help="Atari game, e.g. Pong")
    train.add_argument("--seed", type=int, default=None, help="the run's seed (default 0)")
    train.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="train these seeds in lockstep in one process, into OUT/s<seed> (ddqn, idqn)",
    )
    train.add_argument(
        "--frames", type=int, required=True, help="emulator frames (4 per agent step)"
    )
    train.add_argument("--out", required=True, help="run directory; reusing it resumes")
    train.add_argument("--preset", default=None, help="preset name or path to a YAML preset")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    train.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default: cuda if present)"
    )
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    evaluate = sub.add_parser("evaluate", help="evaluate a trained run, writing RUN/eval.csv")
    evaluate.add_argument("--run", type=Path, required=True)
    evaluate.add_argument("--episodes", type=int, default=50)
    evaluate.add_argument("--seed", type=int, default=None)
    evaluate.add_argument("--device", default=None)
    evaluate.add_argument("--no-progress", action="store_true")

    peer = sub.add_parser("peer", help="train a peer baseline (another project's agent)")
    peer.add_argument("name", choices=["sb3-dqn"], help="sb3-dqn: stable-baselines3's DQN")
    peer.add_argument("--game", required=True)
    peer.add_argument("--seed", type=int, default=0)
    peer.add_argument("--frames", type=int, required=True, help="agent steps (MinAtar)")
    peer.add_argument("--out", type=Path, required=True, help="run directory (must be new)")
    peer.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    peer.add_argument("--device", default=None)

    pack = sub.add_parser("pack", help="compress finished runs' logs in place (xz), for committing")
    pack.add_argument(
        "runs", type=Path, nargs="+", help="run directories (with summary.json, or failed.json)"
    )
    pack.add_argument(
        "--half-weights", action="store_true", help="also store model.pt's weights as float16"
    )

    resume_point = sub.add_parser(
        "resume-point",
        help="write RUN/resume.pt from its checkpoint: small enough to commit, so that the run "
        "resumes (warm) where it stands on another machine",
    )
    resume_point.add_argument("runs", type=Path, nargs="+", help="run directories, unfinished")

    confirmatory = sub.add_parser(
        "confirmatory", help="the confirmatory study's tables, verdicts and figures"
    )
    confirmatory.add_argument(
        "--config", type=Path, nargs="+", required=True, help="config files, later ones on top"
    )
    confirmatory.add_argument("--out", type=Path, required=True, help="report folder")
    confirmatory.add_argument(
        "--no-progress", action="store_true", help="hide the interpretability measures' bar"
    )
    confirmatory.add_argument(
        "--measures-only",
        action="store_true",
        help="only take the finished runs' interpretability measures into OUT/interpret/runs, "
        "where the report reuses them; no table, figure or verdict",
    )

    summary = sub.add_parser(
        "confirmatory-summary",
        help="copy the confirmatory report's summary.md into a document's marked block",
    )
    summary.add_argument(
        "--report", type=Path, default=Path("reports/confirmatory"), help="the report folder"
    )
    summary.add_argument(
        "--doc", type=Path, nargs="+", required=True, help="e.g. docs/reproduction.md"
    )
    summary.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a block is not current"
    )

    measure = sub.add_parser(
        "interpret-run",
        help="a confirmatory run's interpretability measures (amendment 1) -> RUN/interpret.json",
    )
    measure.add_argument("run", type=Path, help="RUNS/<arm>/<game>/s<seed>")
    measure.add_argument("--ddqn-run", type=Path, default=None, help="claim 4's DDQN run")
    measure.add_argument("--reference-run", type=Path, default=None, help="claim 9's states' run")
    measure.add_argument("--out", type=Path, default=None, help="default RUN/interpret.json")

    health = sub.add_parser(
        "health",
        help="is a DDQN or i-DQN network still alive? dead ReLU units, Q spread and Q against "
        "the return, on its replay",
    )
    health.add_argument(
        "--run",
        type=Path,
        nargs="+",
        action="extend",
        required=True,
        help="the run directory, or several: one row each (their checkpoint.pt)",
    )
    health.add_argument(
        "--checkpoints",
        type=Path,
        nargs="+",
        default=None,
        help="checkpoints of a single --run to measure (copies kept from earlier frames); "
        "default RUN/checkpoint.pt",
    )
    health.add_argument(
        "--resume-points",
        type=Path,
        nargs="+",
        default=None,
        help="resume.pt files of a single --run (e.g. from git history): each network, measured "
        "on the last checkpoint's replay states",
    )
    health.add_argument(
        "--states", type=int, default=1000, help="replay states to measure on (default 1000)"
    )
    health.add_argument("--out", type=Path, default=None, help="also write STEM.csv and STEM.md")

    from agents.outputs import kinds_of  # light: no matplotlib until a builder runs

    report = sub.add_parser("report", help="build a table or figure from trained runs")
    report.add_argument("kind", choices=kinds_of("report"), help="an output of agents/outputs.py")
    report.add_argument("--runs", type=Path, help="runs root: RUNS/<agent>/<game>/s<seed>")
    report.add_argument(
        "--agents", nargs="+", default=["ddqn", "idqn"], help="agents to report, in table order"
    )
    report.add_argument("--games", nargs="+")
    report.add_argument("--seeds", nargs="+", type=int)
    report.add_argument("--agreements", nargs="+", type=Path, help="table2: agreement JSON files")
    report.add_argument("--reference", type=Path, default=Path("data/paper/table1.csv"))
    report.add_argument("--out", type=Path, required=True, help="output path without suffix")
    report.add_argument("--reps", type=int, default=2000, help="bootstrap repetitions (aggregate)")
    report.add_argument("--tolerance", type=float, default=0.1, help="relative tolerance (verdict)")
    report.add_argument(
        "--thresholds",
        nargs="+",
        type=float,
        default=[],
        help="milestones: the first frame the 100-episode average reaches each",
    )
    report.add_argument(
        "--reference-curves",
        type=Path,
        default=None,
        help="figure8: published curves drawn beside ours (data/atari/README.md)",
    )

    interpret = sub.add_parser(
        "interpret",
        help="interpretability figures of a trained i-DQN run (attention-*: an attention run)",
    )
    interpret.add_argument(
        "kind", choices=kinds_of("interpret"), help="an output of agents/outputs.py"
    )
    interpret.add_argument(
        "--run", type=Path, required=True, help="an i-DQN run (attention-*: an attention run)"
    )
    interpret.add_argument(
        "--ddqn-run", type=Path, default=None, help="tsne, embedding: a DDQN run to compare with"
    )
    interpret.add_argument(
        "--states",
        type=int,
        default=None,
        help="maps, interpolation: states shown; tsne: states embedded; attention-strip: steps",
    )
    interpret.add_argument(
        "--actions",
        nargs="+",
        default=None,
        help="maps: actions (names or indices) to draw saliency for; default the greedy one",
    )
    interpret.add_argument(
        "--variants",
        nargs="+",
        type=Path,
        default=[],
        help="reconstructions: more i-DQN runs (Table 2's variants) decoding the same states",
    )
    interpret.add_argument("--seed", type=int, default=0)
    interpret.add_argument("--rollouts", type=int, default=5, help="agreement, agreeing: episodes")
    interpret.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="agreement: steps per episode (default 27000); attention-video: steps (default 400)",
    )
    interpret.add_argument("--out", type=Path, required=True, help="output path without suffix")

    study = sub.add_parser("study", help="a table and figure of a study of i-DQN settings")
    study.add_argument("kind", choices=kinds_of("study"), help="an output of agents/outputs.py")
    study.add_argument("--runs", type=Path, required=True, help="RUNS/<setting>/<game>/s<seed>")
    study.add_argument("--game", required=True)
    study.add_argument("--settings", nargs="+", required=True, help="setting names, in order")
    study.add_argument("--seeds", nargs="+", type=int, required=True)
    study.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="SETTING=FOLDER",
        help="a setting whose runs are FOLDER/<game>/s<seed> (e.g. the main grid's i-DQN runs)",
    )
    study.add_argument("--default", help="sensitivity: the setting the drops are measured from")
    study.add_argument(
        "--reference", type=Path, default=Path("data/paper/sensitivity.csv"), help="sensitivity"
    )
    study.add_argument("--states", type=int, default=None, help="diversity: evaluation states")
    study.add_argument("--out", type=Path, required=True, help="output path without suffix")

    sub.add_parser("list", help="list agents, their presets and the games")
    return parser


def _given(args: argparse.Namespace, name: str) -> bool:
    """Whether the command line gave option ``name`` (its default is None or empty)."""
    value = getattr(args, name, None)
    return value is not None and value != []


def _options(args: argparse.Namespace, output) -> dict:
    """The builder's keywords: each option the output reads that the command line gave."""
    return {
        output.keywords.get(name, name): getattr(args, name)
        for name in output.options
        if _given(args, name)
    }


def _refuse_unused(args: argparse.Namespace, kind: str, names: tuple[str, ...]) -> None:
    """A one-line error for an option given that ``kind`` does not read, naming those that do."""
    from agents.outputs import OUTPUTS

    for name in names:
        if _given(args, name) and name not in OUTPUTS[kind].options:
            users = [
                k for k, o in OUTPUTS.items() if name in o.options and o.command == "interpret"
            ]
            option = "--" + name.replace("_", "-")
            raise UsageError(
                f"{option} is only used by interpret {' and '.join(users)}, not {kind}"
            )


def _interpret(args: argparse.Namespace) -> dict:
    """Build one per-run output of :data:`agents.outputs.OUTPUTS` from ``--run``."""
    from agents.interpret import figures
    from agents.outputs import get_output

    output = get_output(args.kind)
    for name in ("states", "max_steps", "rollouts"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive, got {value}")
    # Every input is checked before any work, so a bad one fails at once and writes nothing.
    _refuse_unused(args, args.kind, ("ddqn_run", "variants", "actions"))
    run, config = figures.check_run(args.run, output.agent)
    if args.ddqn_run is not None:
        figures.check_ddqn_beside(args.ddqn_run, run, config)
    for variant in args.variants:
        figures.check_run(variant, "idqn", "--variants")
    figures.check_output_stem(args.out, output.suffixes)
    paths = output.builder()(args.run, args.out, **_options(args, output))
    return {"wrote": [str(p) for p in paths]}


def _study(args: argparse.Namespace) -> dict:
    """Build one study output of :data:`agents.outputs.OUTPUTS` from its settings' runs."""
    from agents import studies
    from agents.outputs import get_output

    output = get_output(args.kind)
    reused = {}
    for item in args.reuse:
        setting, _, folder = item.partition("=")
        if not folder:
            raise UsageError(f"--reuse takes SETTING=FOLDER, got {item!r}")
        reused[setting] = Path(folder)
    if args.states is not None and args.states <= 0:
        raise UsageError(f"--states must be positive, got {args.states}")
    builder = output.builder()
    for name, parameter in inspect.signature(builder).parameters.items():
        if (
            name in output.options
            and parameter.default is parameter.empty
            and not _given(args, name)
        ):
            raise UsageError(f"study {args.kind} needs --{name}")
    study = studies.Study(args.runs, tuple(args.settings), args.game, tuple(args.seeds), reused)
    caption = output.caption_text(vars(args))
    paths = builder(study, args.out, caption, **_options(args, output))
    return {"wrote": [str(p) for p in paths]}


def _report(args: argparse.Namespace) -> dict:
    """Build one output of :data:`agents.outputs.OUTPUTS` with its declared builder and caption."""
    from agents import reports
    from agents.outputs import get_output

    output = get_output(args.kind)
    if not args.reference.is_file():
        raise UsageError(f"reference table {args.reference} does not exist")
    caption = output.caption_text(vars(args))
    options = {name: getattr(args, name) for name in output.options}
    summary: dict = {}
    if output.needs == "agreements":
        if not args.agreements:
            raise UsageError(f"report {args.kind} needs --agreements")
        paths = output.builder()(args.agreements, args.reference, args.out, caption, **options)
    else:
        if not (args.runs and args.games and args.seeds):
            raise UsageError(f"report {args.kind} needs --runs, --games and --seeds")
        runs = reports.load_runs(args.runs, args.agents, args.games, args.seeds, args.reference)
        paths = output.builder()(runs, args.out, caption, **options)
        short = runs.scores[runs.scores["best_100"].isna()]
        if len(short):
            # Said in the tables too; here so that the job's log shows it.
            summary["too_few_episodes"] = [
                f"{row.agent} {row.game} seed {row.seed}: {row.episodes} < 100"
                for row in short.itertuples()
            ]
    return {"wrote": [str(p) for p in paths]} | summary


def _health(args: argparse.Namespace) -> dict:
    """:func:`agents.health.health_table` of each run's checkpoints, one table with a ``run``
    column, printed (and written with --out
    as STEM.csv at full precision and STEM.md: a dead layer's Q spread is 1e-6, not 0.00)."""
    import pandas as pd

    from agents.files import atomic_write_text
    from agents.health import health_table

    if (args.checkpoints or args.resume_points) and len(args.run) > 1:
        raise UsageError(
            "--checkpoints and --resume-points take the files of one --run, got several runs"
        )
    table = pd.concat(
        [
            health_table(run, args.checkpoints, args.states, args.resume_points).assign(
                run=str(run)
            )
            for run in args.run
        ],
        ignore_index=True,
    )
    # Runs of different agents name different layers: all layers first, then the shared measures.
    measures = table.columns.drop(["run", "checkpoint", "frames", "states"])
    layers_first = sorted(measures, key=lambda column: not column.startswith("active "))
    table = table[["run", "checkpoint", "frames", "states", *layers_first]]
    shown = table.drop(columns="checkpoint").assign(frames=table["frames"].map("{:,}".format))
    markdown = shown.to_markdown(index=False, floatfmt=".4g")
    print(markdown, file=sys.stderr)
    summary: dict = {"rows": table.drop(columns="checkpoint").to_dict(orient="records")}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        csv, md = args.out.with_suffix(".csv"), args.out.with_suffix(".md")
        atomic_write_text(csv, table.to_csv(index=False))
        caption = (
            f"Network health of {', '.join(f'`{run}`' for run in args.run)}: per ReLU layer of the online network, the fraction "
            "of its units positive on at least one of the replay states; Q spread, the largest "
            "standard deviation of an action's Q across them; the distinct greedy actions; for "
            "i-DQN, the fraction of them whose directed action (argmax Q + lambda_exp U) is not "
            "the greedy one; on "
            "the states whose episode ended inside the replay, the mean Q of the action taken "
            "and the mean discounted return that followed (`python -m agents health`). A row "
            "whose checkpoint is a resume point (`--resume-points`) is that network on the "
            "last checkpoint's replay states, with no Q against the return."
        )
        atomic_write_text(md, f"{caption}\n\n{markdown}\n")
        summary["wrote"] = [str(csv), str(md)]
    return summary


def _pack(run_dirs: list[Path], half_weights: bool = False) -> dict:
    """Compress each finished run's logs (and halve its weights), holding its lock (never a run that
    is still training)."""
    from agents.files import RunLock, pack_logs
    from agents.rundir import MODEL_FILE, halve_model
    from agents.runtable import FAILED_FILE

    for run_dir in run_dirs:  # all checked before any is packed
        if not any((run_dir / name).is_file() for name in ("summary.json", FAILED_FILE)):
            raise UsageError(f"{run_dir} is not a finished run (no summary.json or {FAILED_FILE})")
    packed = []
    for run_dir in run_dirs:
        with RunLock(run_dir):
            packed += [str(p) for p in pack_logs(run_dir)]
            if half_weights and (run_dir / MODEL_FILE).is_file():
                packed.append(str(halve_model(run_dir)))
    return {"packed": packed}


def _resume_points(run_dirs: list[Path]) -> dict:
    """Write each unfinished run's resume point, holding its lock (never a run that is training)."""
    from agents.files import RunLock
    from agents.rundir import resume_point, write_resume_point

    for run_dir in run_dirs:  # all checked before any is written
        if (run_dir / "summary.json").is_file():
            raise UsageError(f"{run_dir} is finished (summary.json): its model.pt is what to keep")
        resume_point(run_dir)
    written = []
    for run_dir in run_dirs:
        with RunLock(run_dir):
            written.append(str(write_resume_point(run_dir)))
    return {"wrote": written}


def _confirmatory(args: argparse.Namespace) -> dict:
    from agents import confirmatory_report
    from agents.config import load_yaml

    config: dict = {}
    for path in args.config:
        if not path.is_file():
            raise UsageError(f"config file {path} does not exist")
        document = load_yaml(path.read_text(), str(path))
        if not isinstance(document, dict):
            raise UsageError(f"config file {path} is not a mapping")
        config |= document
    from agents import confirmatory_interpret

    study = confirmatory_report.Study.from_config(config)
    # The runs' interpretability measures first (kept for the report, each checked): a run the
    # rules do not cover stops the command before it writes a table.
    measured = confirmatory_interpret.measure_runs(
        study, args.out / "interpret" / "runs", progress=not args.no_progress
    )
    if args.measures_only:
        return {"measured": measured}
    # Amendment 15: which groups of claims are read, once, for both halves of the report.
    reading = confirmatory_report.reading_table(study)
    # Amendment 1's tests, from the same runs; the attention agent's maps from the pilot's runs.
    # Computed before either half is written (amendment 17): a case the rules do not cover stops
    # the command with both halves as they were.
    pilot = Path(config["runs_dir"]) if "runs_dir" in config else None
    interpret = confirmatory_interpret.compute(
        study,
        pilot,
        args.out / "interpret",
        progress=not args.no_progress,
        withheld=confirmatory_report.withheld_texts(reading),
    )
    paths = confirmatory_report.build(config, args.out, reading)
    paths += confirmatory_interpret.write(interpret, args.out / "interpret")
    from agents.confirmatory_summary import write_summary

    paths.append(write_summary(args.out))
    return {"wrote": [str(p) for p in paths]}


def _confirmatory_summary(args: argparse.Namespace) -> dict:
    """The report's summary (or, before it is built, the placeholder) into each ``--doc``'s
    blocks. Every document is read and checked before any is written."""
    from agents import confirmatory_summary as cs
    from agents.files import atomic_write_text

    if missing := [doc for doc in args.doc if not doc.is_file()]:
        raise UsageError(f"{missing[0]} is not a file")
    body = cs.expected_body(args.report)
    changed = {}
    for doc in args.doc:
        try:
            document = doc.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{doc} is not UTF-8 text") from None
        updated = cs.embed(document, body, cs.report_from(doc, args.report))
        if updated != document:
            changed[doc] = updated
    if args.check:
        if changed:
            doc = next(iter(changed))
            raise RunFailed(
                f"{doc}'s confirmatory summary is not {args.report}/summary.md's: run "
                f"python -m agents confirmatory-summary --doc {doc}"
            )
        return {"current": [str(doc) for doc in args.doc]}
    for doc, updated in changed.items():
        atomic_write_text(doc, updated)
    return {"wrote": [str(doc) for doc in changed]}


def _interpret_run(args: argparse.Namespace) -> dict:
    from agents.interpret import run_measures

    result = run_measures.compute(args.run, args.ddqn_run, args.reference_run)
    out = run_measures.write(args.out or args.run / run_measures.INTERPRET_FILE, result)
    return {"wrote": [str(out)], "measures": sorted(result["measures"])}


def _train(args: argparse.Namespace) -> dict:
    """One run (``--seed``), or several seeds in lockstep (``--seeds``)."""
    from agents import runner
    from agents.config import parse_overrides
    from agents.registry import get_agent

    if not args.out.strip():
        raise UsageError("--out must not be empty")
    preset = args.preset or get_agent(args.agent).default_preset
    options = {"device": args.device, "progress": not args.no_progress}
    overrides = parse_overrides(args.overrides)
    if args.seeds is None:
        seed = 0 if args.seed is None else args.seed
        spec = runner.RunSpec(args.agent, args.game, seed, args.frames, preset)
        return runner.train(spec, Path(args.out), overrides, **options)
    if args.seed is not None:
        raise UsageError("give --seed (one run) or --seeds (lockstep), not both")
    from agents.lockstep import train_lockstep

    specs = [runner.RunSpec(args.agent, args.game, s, args.frames, preset) for s in args.seeds]
    return train_lockstep(specs, Path(args.out), overrides, **options)


def _evaluate(args: argparse.Namespace) -> dict:
    from agents import runner

    return runner.evaluate(
        args.run, args.episodes, seed=args.seed, device=args.device, progress=not args.no_progress
    )


def _peer(args: argparse.Namespace) -> dict:
    from agents.config import parse_overrides
    from agents.peers import sb3_dqn
    from agents.suites import suite_of

    suite_of(args.game)  # an unknown game fails with the usual one line
    if args.frames <= 0:
        raise UsageError(f"--frames must be positive, got {args.frames}")
    overrides = parse_overrides(args.overrides)
    return sb3_dqn.train_peer(
        args.game, args.seed, args.frames, args.out, overrides, device=args.device
    )


def _list(args: argparse.Namespace) -> dict:
    from agents.config import preset_names
    from agents.registry import AGENTS
    from agents.suites import describe_games

    return {"agents": {name: preset_names(name) for name in AGENTS}, "games": describe_games()}


#: Each command's handler: its parsed arguments -> the summary printed as JSON.
HANDLERS = {
    "train": _train,
    "evaluate": _evaluate,
    "peer": _peer,
    "pack": lambda args: _pack(args.runs, args.half_weights),
    "resume-point": lambda args: _resume_points(args.runs),
    "health": _health,
    "confirmatory": _confirmatory,
    "confirmatory-summary": _confirmatory_summary,
    "interpret-run": _interpret_run,
    "report": _report,
    "interpret": _interpret,
    "study": _study,
    "list": _list,
}


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        summary = HANDLERS[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(f"interrupted by {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(
            "interrupted; rerun the same command to resume from the last checkpoint",
            file=sys.stderr,
        )
        return 130
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
