"""Command line: ``python -m agents train|evaluate|list``.

    python -m agents train --agent ddqn --game Pong --seed 0 --frames 10000000 --out DIR \\
        [--preset NAME] [--set key=value ...]
    python -m agents evaluate --run DIR --episodes N

Bad input ends with a one-line ``error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agents.errors import UsageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agents", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train (or resume) one run")
    train.add_argument("--agent", required=True, help="agent name, e.g. ddqn")
    train.add_argument("--game", required=True, help="Atari game, e.g. Pong")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--frames", type=int, required=True, help="emulator frames (4 per agent step)"
    )
    train.add_argument("--out", type=Path, required=True, help="run directory; reusing it resumes")
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

    sub.add_parser("list", help="list agents, their presets and the games")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        # Imported here so that `--help` stays fast.
        from agents import runner
        from agents.config import parse_overrides, preset_names
        from agents.envs import GAMES
        from agents.registry import AGENTS, get_agent

        if args.command == "train":
            preset = args.preset or get_agent(args.agent).default_preset
            spec = runner.RunSpec(args.agent, args.game, args.seed, args.frames, preset)
            summary = runner.train(
                spec,
                args.out,
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
        else:
            summary = {
                "agents": {name: preset_names(name) for name in AGENTS},
                "games": list(GAMES),
            }
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
