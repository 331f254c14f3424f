"""Where a training step's time goes: the runner's loop, taken apart and timed piece by piece.

Replays the runner's steady state (act, env step, replay add, sample, update, target sync) for
one agent on Pong with a constant epsilon of 0.01, and prints milliseconds per agent step for
each part.

    python benchmarks/profile_loop.py [--agent ddqn] [--steps 6000] [--precision fp32]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import torch
from common import print_machine

from agents.config import build_config
from agents.envs import env_spec, make_env, newest_frame
from agents.errors import UsageError
from agents.networks import check_precision
from agents.registry import get_agent
from agents.replay import FrameReplay


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
    overrides = {"precision": args.precision}
    if args.agent == "ddqn":
        overrides |= {"eps_start": 0.01, "eps_end": 0.01}
    config = build_config(entry.config, args.agent, "paper", overrides)
    env = make_env("Pong")
    spec = env_spec(env, "Pong", config.frame_stack)
    torch.manual_seed(0)
    agent = entry.agent(config, spec, torch.device("cpu"))
    replay = FrameReplay(config.replay_capacity, spec.frame_shape, config.frame_stack)
    rng = np.random.default_rng(0)
    seconds: dict[str, float] = defaultdict(float)

    def timed(name: str, since: float) -> float:
        now = time.perf_counter()
        seconds[name] += now - since
        return now

    obs, _ = env.reset(seed=0)
    replay.start_episode(newest_frame(obs, spec))
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        if step == args.warmup:
            seconds.clear()
            start = time.perf_counter()
        t = time.perf_counter()
        action = agent.act(obs, step, rng)
        t = timed("act (forward pass)", t)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        t = timed("env step", t)
        replay.add(action, reward, terminated, newest_frame(next_obs, spec))
        obs = next_obs
        t = timed("replay add", t)
        if step % config.train_freq == 0 and step > args.warmup // 2:
            batch = replay.sample(config.batch_size, rng, torch.device("cpu"))
            t = timed("replay sample", t)
            agent.update(batch, step)
            t = timed("update", t)
        if step % config.target_sync_steps == 0:
            agent.sync_target()
        if terminated or truncated:
            obs, _ = env.reset()
            replay.start_episode(newest_frame(obs, spec))
            timed("reset", t)
    timed_steps = args.steps - args.warmup + 1
    total = time.perf_counter() - start
    print(
        f"{args.agent} ({args.precision}): {timed_steps / total:.1f} steps/s over {timed_steps} steps"
    )
    for name, value in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {name:20s} {1000 * value / timed_steps:6.3f} ms/step")


if __name__ == "__main__":
    main()
