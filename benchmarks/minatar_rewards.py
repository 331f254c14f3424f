"""Which MinAtar games ever pay more than 1 in one step? (The confirmatory study's reward rule.)

The paper clips DDQN's rewards to [-1, 1] and not i-DQN's (Table 3). On a game whose every step
pays 0 or 1, clipping is the identity and the difference cannot matter. This script counts the
per-step rewards each game pays under two policies: uniform random, and the committed pilot's
seed-0 DDQN (``results/minatar/runs/ddqn/<game>/s0/model.pt``) acting epsilon-greedily with the
training floor epsilon 0.01, a policy that reaches the states a learner reaches.

    python benchmarks/minatar_rewards.py [--steps 50000] [--out reports/confirmatory/rewards.csv]

Writes one row per (game, policy, reward value): how many steps paid it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from common import print_machine
from tqdm import tqdm

from agents.files import atomic_write_csv
from agents.rollout import RANDOM_POLICY_STREAM, episode_seed, rollout
from agents.rundir import load_agent, make_run_env
from agents.suites import MINATAR_GAMES

ROOT = Path(__file__).resolve().parent.parent
PILOT = ROOT / "results" / "minatar" / "runs" / "ddqn"
EPSILON = 0.01


def reward_counts(game: str, policy: str, steps: int, seed: int = 0) -> Counter:
    """Per-step reward value -> number of steps, over ``steps`` steps of ``policy`` on ``game``."""
    run, config, agent = load_agent(PILOT / game / "s0", device="cpu")
    env = make_run_env(run, config)
    rng = np.random.default_rng(seed)
    n = env.action_space.n

    def act(obs: np.ndarray) -> int:
        if policy == "random" or rng.random() < EPSILON:
            return int(rng.integers(n))
        return agent.act_eval(obs, rng)

    counts: Counter = Counter()
    stream = rollout(env, act, lambda i: episode_seed(seed, i, RANDOM_POLICY_STREAM))
    for _ in tqdm(range(steps), desc=f"{game} {policy}", unit="step", mininterval=2):
        counts[next(stream).reward] += 1
    stream.close()
    env.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=ROOT / "reports/confirmatory/rewards.csv")
    args = parser.parse_args()
    print_machine()
    rows = []
    for game in MINATAR_GAMES:
        for policy in ("random", "pilot-ddqn"):
            counts = reward_counts(game, policy, args.steps)
            rows += [[game, policy, value, counts[value]] for value in sorted(counts)]
            paid = {v: c for v, c in sorted(counts.items()) if v != 0}
            print(f"{game:22s} {policy:10s} max {max(counts):4g}  nonzero {paid}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(args.out, ["game", "policy", "reward", "steps"], rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
