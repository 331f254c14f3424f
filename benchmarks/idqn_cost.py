"""Cost of i-DQN per environment step against this suite's Double DQN (target: at most 1.3x).

Both agents train on Pong with their ``paper`` presets, back to back in one invocation, on the
GPU where CUDA is present and on the CPU otherwise (``--device`` chooses). DDQN uses a constant
epsilon of 0.01, so it runs a forward pass for nearly every action as i-DQN always does (directed
exploration has no random actions). The figure that matters is the
steady state after ``learning_starts``; the update alone is also timed on a fixed batch, to show
where the cost goes.

    python benchmarks/idqn_cost.py [--steps 16000] [--learning-starts 10000] [--precision fp32]
        [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import fields

import torch
from common import print_machine, steady_and_whole_run, synchronize

from agents.config import build_config
from agents.envs import EnvSpec
from agents.errors import UsageError
from agents.networks import check_precision
from agents.registry import get_agent
from agents.replay import Batch
from agents.rundir import select_device


def update_ms(agent_name: str, precision: str, device: torch.device, repeats: int = 30) -> float:
    """Milliseconds per update on a fixed random Pong-shaped batch of 32, already on ``device``."""
    entry = get_agent(agent_name)
    config = build_config(entry.config, agent_name, "paper", {"precision": precision})
    spec = EnvSpec("Pong", 6, (4, 84, 84), (84, 84), 4, ())
    agent = entry.agent(config, spec, device)
    gen = torch.Generator().manual_seed(0)
    batch = Batch(
        obs=torch.randint(0, 255, (32, 4, 84, 84), dtype=torch.uint8, generator=gen),
        actions=torch.randint(0, 6, (32,), generator=gen),
        rewards=torch.zeros(32),
        terminated=torch.zeros(32),
        next_obs=torch.randint(0, 255, (32, 4, 84, 84), dtype=torch.uint8, generator=gen),
    )
    batch = Batch(**{field.name: getattr(batch, field.name).to(device) for field in fields(batch)})
    for _ in range(5):
        agent.update(batch, 0)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        agent.update(batch, 0)
    synchronize(device)
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16_000)
    parser.add_argument("--learning-starts", type=int, default=10_000)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default: cuda if present)"
    )
    args = parser.parse_args()
    print_machine()
    try:
        device = select_device(args.device)
        check_precision(args.precision, device)
    except UsageError as exc:
        raise SystemExit(f"error: {exc}") from None
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"torch {torch.__version__}, {where}, {torch.get_num_threads()} threads, Pong, "
        f"{args.steps} steps, learning starts {args.learning_starts}, {args.precision}"
    )
    common = {"precision": args.precision}
    ddqn = steady_and_whole_run(
        "ddqn",
        "Pong",
        args.steps,
        args.learning_starts,
        {**common, "eps_start": 0.01, "eps_end": 0.01},
        device=str(device),
    )
    idqn = steady_and_whole_run(
        "idqn", "Pong", args.steps, args.learning_starts, common, device=str(device)
    )
    ddqn_update = update_ms("ddqn", args.precision, device)
    idqn_update = update_ms("idqn", args.precision, device)
    print(f"{'':8s} {'steady steps/s':>15s} {'whole-run steps/s':>18s} {'update ms':>10s}")
    print(f"{'ddqn':8s} {ddqn[0]:15.1f} {ddqn[1]:18.1f} {ddqn_update:10.1f}")
    print(f"{'idqn':8s} {idqn[0]:15.1f} {idqn[1]:18.1f} {idqn_update:10.1f}")
    print(
        f"i-DQN cost per environment step: {ddqn[0] / idqn[0]:.2f}x DDQN (steady state), "
        f"{ddqn[1] / idqn[1]:.2f}x (whole run); per update {idqn_update / ddqn_update:.2f}x"
    )


if __name__ == "__main__":
    main()
