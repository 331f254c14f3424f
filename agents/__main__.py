"""Command line: ``python -m agents train|evaluate|peer|pack|confirmatory|report|interpret|study|list``.

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
import json
import sys
from pathlib import Path
from typing import NoReturn

from agents.errors import RunFailed, UsageError


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

    pack = sub.add_parser("pack", help="gzip finished runs' logs in place, for committing")
    pack.add_argument("runs", type=Path, nargs="+", help="run directories (with summary.json)")
    pack.add_argument(
        "--half-weights", action="store_true", help="also store model.pt's weights as float16"
    )

    confirmatory = sub.add_parser(
        "confirmatory", help="the confirmatory study's tables, verdicts and figures"
    )
    confirmatory.add_argument(
        "--config", type=Path, nargs="+", required=True, help="config files, later ones on top"
    )
    confirmatory.add_argument("--out", type=Path, required=True, help="report folder")

    from agents.outputs import OUTPUTS  # light: no matplotlib until a builder runs

    report = sub.add_parser("report", help="build a table or figure from trained runs")
    report.add_argument("kind", choices=list(OUTPUTS), help="an output of agents/outputs.py")
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

    interpret = sub.add_parser(
        "interpret",
        help="interpretability figures of a trained i-DQN run (attention-*: an attention run)",
    )
    interpret.add_argument(
        "kind",
        choices=[
            "keys",
            "maps",
            "tsne",
            "interpolation",
            "agreement",
            "adversarial",
            "reconstructions",
            "agreeing",
            "embedding",
            "attention-strip",
            "attention-video",
        ],
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

    from agents.outputs import STUDY_KINDS

    study = sub.add_parser("study", help="a table and figure of a study of i-DQN settings")
    study.add_argument("kind", choices=STUDY_KINDS)
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
    study.add_argument("--states", type=int, default=200, help="diversity: evaluation states")
    study.add_argument("--out", type=Path, required=True, help="output path without suffix")

    sub.add_parser("list", help="list agents, their presets and the games")
    return parser


def _agreement(args: argparse.Namespace) -> dict:
    from agents.interpret.agreement import agreement_score, variant_label
    from agents.rundir import load_agent, make_run_env
    from agents.suites import suite_of

    run, config, agent = load_agent(args.run, device="cpu")  # an i-DQN run: _interpret checked
    result = agreement_score(
        agent, lambda: make_run_env(run, config), args.rollouts, args.max_steps, args.seed
    )
    result |= {
        "run": str(args.run),
        "game": run.game,
        "variant": variant_label(config),
        "input": suite_of(run.game).input_name(config.color),
    }
    return _write_json(args.out, result)


def _write_json(stem: Path, result: dict) -> dict:
    """``stem.json``, atomically; a one-line error when it cannot be written."""
    from agents.files import atomic_write_json

    out = stem.with_suffix(".json")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out, result)
    except OSError as exc:
        raise UsageError(f"cannot write --out {stem}: {exc.strerror or exc}") from exc
    return result


def _interpret(args: argparse.Namespace) -> dict:
    from agents.interpret import figures

    if args.states is not None and args.states <= 0:
        raise UsageError(f"--states must be positive, got {args.states}")
    if args.max_steps is not None and args.max_steps <= 0:
        raise UsageError(f"--max-steps must be positive, got {args.max_steps}")
    if args.kind.startswith("attention-"):
        return _interpret_attention(args)
    # Every input is checked before any work, so a bad one fails at once and writes nothing.
    run, config = figures.check_run(args.run, "idqn")
    if args.ddqn_run is not None:
        if args.kind not in ("tsne", "embedding"):
            raise UsageError(
                f"--ddqn-run is only used by interpret tsne and embedding, not {args.kind}"
            )
        figures.check_ddqn_beside(args.ddqn_run, run, config)
    if args.variants and args.kind != "reconstructions":
        raise UsageError(f"--variants is only used by interpret reconstructions, not {args.kind}")
    for variant in args.variants:
        figures.check_run(variant, "idqn", "--variants")
    if args.kind in ("agreement", "agreeing") and args.rollouts <= 0:
        raise UsageError(f"--rollouts must be positive, got {args.rollouts}")
    args.max_steps = args.max_steps or 27_000
    json_kinds = ("agreement", "embedding")
    figures.check_output_stem(
        args.out, (".json",) if args.kind in json_kinds else figures.FIGURE_SUFFIXES
    )
    if args.kind == "agreement":
        return _agreement(args)
    if args.kind == "embedding":
        return _write_json(
            args.out,
            figures.embedding_statistics(args.run, args.ddqn_run, args.states or 500, args.seed),
        )
    if args.kind == "keys":
        paths = figures.key_grid(args.run, args.out)
    elif args.kind == "adversarial":
        paths = figures.adversarial(args.run, args.out, seed=args.seed)
    elif args.kind == "maps":
        paths = figures.attention_and_saliency(
            args.run, args.out, args.states or 3, args.seed, args.actions
        )
    elif args.kind == "interpolation":
        paths = figures.interpolation(args.run, args.out, args.states or 4, args.seed)
    elif args.kind == "reconstructions":
        paths = figures.reconstructions(
            [args.run, *args.variants], args.out, args.states or 4, args.seed
        )
    elif args.kind == "agreeing":
        paths = figures.agreeing(
            args.run, args.out, args.states or 4, args.rollouts, args.max_steps, args.seed
        )
    else:
        paths = figures.tsne_figure(
            args.run, args.out, args.ddqn_run, args.states or 500, args.seed
        )
    return {"wrote": [str(p) for p in paths]}


def _interpret_attention(args: argparse.Namespace) -> dict:
    """The attention agent's figures: a strip of consecutive steps, or an episode's GIF."""
    from agents.interpret import attention_maps, figures

    for option, used in (("--ddqn-run", args.ddqn_run), ("--variants", args.variants)):
        if used:
            raise UsageError(f"{option} is not used by interpret {args.kind}")
    figures.check_run(args.run, "attention")
    if args.kind == "attention-strip":
        paths = attention_maps.attention_strip(args.run, args.out, args.states or 8, args.seed)
    else:
        paths = attention_maps.attention_video(args.run, args.out, args.max_steps or 400, args.seed)
    return {"wrote": [str(p) for p in paths]}


def _study(args: argparse.Namespace) -> dict:
    from agents import studies
    from agents.outputs import STUDY_CAPTIONS

    caption = STUDY_CAPTIONS[args.kind]
    reused = {}
    for item in args.reuse:
        setting, _, folder = item.partition("=")
        if not folder:
            raise UsageError(f"--reuse takes SETTING=FOLDER, got {item!r}")
        reused[setting] = Path(folder)
    study = studies.Study(args.runs, tuple(args.settings), args.game, tuple(args.seeds), reused)
    if args.kind == "ablation":
        paths = studies.write_ablation(study, args.out, caption)
    elif args.kind == "diversity":
        if args.states <= 0:
            raise UsageError(f"--states must be positive, got {args.states}")
        paths = studies.write_diversity(study, args.out, caption, states=args.states)
    else:
        if args.default is None:
            raise UsageError(
                "study sensitivity needs --default, the setting drops are measured from"
            )
        paths = studies.write_sensitivity(study, args.default, args.reference, args.out, caption)
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


def _pack(run_dirs: list[Path], half_weights: bool = False) -> dict:
    """Gzip each finished run's logs (and halve its weights), holding its lock (never a run that
    is still training)."""
    from agents.files import RunLock, pack_logs
    from agents.rundir import MODEL_FILE, halve_model

    for run_dir in run_dirs:  # all checked before any is packed
        if not (run_dir / "summary.json").is_file():
            raise UsageError(f"{run_dir} is not a finished run (no summary.json)")
    packed = []
    for run_dir in run_dirs:
        with RunLock(run_dir):
            packed += [str(p) for p in pack_logs(run_dir)]
            if half_weights and (run_dir / MODEL_FILE).is_file():
                packed.append(str(halve_model(run_dir)))
    return {"packed": packed}


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
    paths = confirmatory_report.build(config, args.out)
    return {"wrote": [str(p) for p in paths]}


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        # Imported here so that `--help` stays fast.
        from agents import runner
        from agents.config import parse_overrides, preset_names
        from agents.registry import AGENTS, get_agent
        from agents.suites import describe_games

        if args.command == "train":
            if not args.out.strip():
                raise UsageError("--out must not be empty")
            preset = args.preset or get_agent(args.agent).default_preset
            if args.seeds is not None:
                if args.seed is not None:
                    raise UsageError("give --seed (one run) or --seeds (lockstep), not both")
                from agents.lockstep import train_lockstep

                specs = [
                    runner.RunSpec(args.agent, args.game, seed, args.frames, preset)
                    for seed in args.seeds
                ]
                summary = train_lockstep(
                    specs,
                    Path(args.out),
                    parse_overrides(args.overrides),
                    device=args.device,
                    progress=not args.no_progress,
                )
            else:
                seed = 0 if args.seed is None else args.seed
                spec = runner.RunSpec(args.agent, args.game, seed, args.frames, preset)
                summary = runner.train(
                    spec,
                    Path(args.out),
                    parse_overrides(args.overrides),
                    device=args.device,
                    progress=not args.no_progress,
                )
        elif args.command == "evaluate":
            summary = runner.evaluate(
                args.run,
                args.episodes,
                seed=args.seed,
                device=args.device,
                progress=not args.no_progress,
            )
        elif args.command == "peer":
            from agents.peers import sb3_dqn
            from agents.suites import suite_of

            suite_of(args.game)  # an unknown game fails with the usual one line
            if args.frames <= 0:
                raise UsageError(f"--frames must be positive, got {args.frames}")
            summary = sb3_dqn.train_peer(
                args.game,
                args.seed,
                args.frames,
                args.out,
                parse_overrides(args.overrides),
                device=args.device,
            )
        elif args.command == "pack":
            summary = _pack(args.runs, args.half_weights)
        elif args.command == "confirmatory":
            summary = _confirmatory(args)
        elif args.command == "report":
            summary = _report(args)
        elif args.command == "interpret":
            summary = _interpret(args)
        elif args.command == "study":
            summary = _study(args)
        else:
            summary = {
                "agents": {name: preset_names(name) for name in AGENTS},
                "games": describe_games(),
            }
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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
