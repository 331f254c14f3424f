"""Where a training step's time goes: the real training loop, timed piece by piece.

Runs :func:`agents.rollout.rollout` with the agent's own ``observe`` (the same calls the runner
makes) for one agent on Pong, with a constant epsilon of 0.01 for DDQN, and prints milliseconds
per agent step for each part: the action's forward pass, the emulator step, the agent's
``observe`` split into replay work, sampling and the update, and episode resets.

    python benchmarks/profile_loop.py [--agent ddqn] [--steps 6000] [--precision fp32]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import gymnasium as gym
import numpy as np
import torch
from common import print_machine

from agents.config import build_config
from agents.envs import env_spec, make_env
from agents.errors import UsageError
from agents.networks import check_precision
from agents.registry import get_agent
from agents.rollout import TRAIN_STREAM, episode_seed, rollout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="ddqn", choices=["ddqn", "idqn"])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--warmup", type=int, default=2000, help="steps before timing starts")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = parser.parse_args()
    print_machine()
    try:
        check_precision(args.precision, torch.device("cpu"))
    except UsageError as exc:
        raise SystemExit(f"error: {exc}") from None

    entry = get_agent(args.agent)
    overrides = {"precision": args.precision, "learning_starts": args.warmup // 2}
    if args.agent == "ddqn":
        overrides |= {"eps_start": 0.01, "eps_end": 0.01}
    config = build_config(entry.config, args.agent, "paper", overrides)
    seconds: dict[str, float] = defaultdict(float)

    def timed(name: str, function):
        def wrapper(*a, **k):
            since = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                seconds[name] += time.perf_counter() - since

        return wrapper

    class TimedEnv(gym.Wrapper):
        step = timed("env step", gym.Wrapper.step)
        reset = timed("reset", gym.Wrapper.reset)

    env = TimedEnv(make_env("Pong"))
    spec = env_spec(env, "Pong", config.frame_stack)
    torch.manual_seed(0)
    agent = entry.agent(config, spec, torch.device("cpu"))
    # Time the parts of observe() by wrapping what it calls; the total is observe() itself.
    agent.update = timed("  of which update", agent.update)
    agent.replay.sample = timed("  of which replay sample", agent.replay.sample)
    observe = timed("observe (replay, learn)", agent.observe)
    act = timed("act (forward pass)", agent.act)
    rng = np.random.default_rng(0)

    step = 0
    steps = rollout(
        env,
        lambda obs: act(obs, step, rng),
        lambda index: episode_seed(0, index, TRAIN_STREAM),
        begin_episode=agent.begin_episode,
    )
    start = time.perf_counter()
    for transition in steps:
        step += 1
        if step == args.warmup:
            seconds.clear()
            start = time.perf_counter()
        observe(transition, step, rng)
        if step >= args.steps:
            break
    steps.close()
    timed_steps = args.steps - args.warmup
    total = time.perf_counter() - start
    print(
        f"{args.agent} ({args.precision}): {timed_steps / total:.1f} steps/s over {timed_steps} steps"
    )
    for name, value in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {name:26s} {1000 * value / timed_steps:6.3f} ms/step")


if __name__ == "__main__":
    main()
