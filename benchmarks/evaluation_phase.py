"""What one evaluation phase of the confirmatory protocol costs (docs/preregistration.md).

Plays one phase (20 episodes, each cut at 10,000 steps, greedy with eval_epsilon) with the
committed pilot's seed-0 DDQN and i-DQN models on each MinAtar game, one torch thread, and prints
its seconds and steps: a run of the study plays 10 such phases.

    python benchmarks/evaluation_phase.py [--episodes 20] [--max-steps 10000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import print_machine

from agents.rollout import evaluation_phase
from agents.rundir import load_agent, make_run_env
from agents.suites import MINATAR_GAMES

PILOT = Path(__file__).resolve().parent.parent / "results" / "minatar" / "runs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--max-steps", type=int, default=10_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print_machine()
    print("| agent | game | seconds per phase | steps | mean return |\n|---|---|---|---|---|")
    for agent in ("ddqn", "idqn"):
        for game in MINATAR_GAMES:
            run, config, policy = load_agent(PILOT / agent / game / "s0", device="cpu")
            env = make_run_env(run, config)
            start = time.perf_counter()
            rows = evaluation_phase(env, policy.act_eval, 0, 10, args.episodes, args.max_steps)
            seconds = time.perf_counter() - start
            env.close()
            steps = sum(length for _, _, length in rows)
            mean = sum(total for _, total, _ in rows) / len(rows)
            print(f"| {agent} | {game} | {seconds:.1f} | {steps} | {mean:.2f} |", flush=True)


if __name__ == "__main__":
    main()
