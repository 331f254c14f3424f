"""How many lanes to run on this machine: the aggregate steady-state steps/s of K single-thread
training runs started together, for K = 1, 2, 3, 4 (tools/run_confirmatory.sh's ``LANES``).

Each run is one worker of ``benchmarks/lockstep.py`` (``--mode single``): it trains to
``--warmup`` steps, then resumes to ``--warmup + --steps``, and only the resumed phase is timed.
The rates of the K runs add up; the table gives them and their ratio to K = 2 (one run per core
on a 2-core machine). More runs than cores share each core; whether that gains or loses
throughput (waiting on memory against cache contention) is what this measures.

    python benchmarks/lanes.py [--agent idqn] [--lanes 1 2 3 4] [--warmup 2000] [--steps 8000]

Time it only when nothing else runs on the machine.
"""

from __future__ import annotations

import argparse

from common import print_machine
from lockstep import _run_workers, _worker_args, _worker_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", choices=["ddqn", "idqn"], default="idqn")
    parser.add_argument("--game", default="MinAtar-Breakout")
    parser.add_argument("--lanes", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--warmup", type=int, default=2000, help="steps before the timed phase")
    parser.add_argument("--steps", type=int, default=8000, help="timed steps per run")
    args = parser.parse_args()
    if any(k < 1 for k in args.lanes):
        raise SystemExit("error: --lanes takes whole numbers from 1")
    print_machine()
    print(f"{args.agent} minatar on {args.game}: {args.warmup} warmup, {args.steps} timed steps")
    rates = {}
    for k in args.lanes:
        commands = [
            _worker_command(
                _worker_args(
                    "single",
                    args.agent,
                    args.game,
                    "minatar",
                    [seed],
                    args.warmup,
                    args.steps,
                    "cpu",
                    None,
                ),
                threads=1,
            )
            for seed in range(k)
        ]
        rates[k] = _run_workers(commands)
        print(f"lanes {k}: {rates[k]:.0f} steps/s together", flush=True)
    base = rates.get(2)
    print("| lanes | steps/s together | per lane | ratio to 2 lanes |")
    print("|---|---|---|---|")
    for k, rate in rates.items():
        ratio = f"{rate / base:.2f}" if base else ""
        print(f"| {k} | {rate:.0f} | {rate / k:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
