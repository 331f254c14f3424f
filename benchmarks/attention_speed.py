"""The attention agent's cost on this machine: steps/s on MinAtar and on Atari (84x84), and
where a vector step's time goes; beside it the same agent without attention (issue 25's
baseline), on MinAtar.

Two measurements, on one torch thread (as the MinAtar runs train), on the GPU where CUDA is
present and on the CPU otherwise (``--device`` chooses):

1. **Whole runs through the CLI**, fresh subprocesses, ``--rounds`` rounds, the settings in
   alternating order: MinAtar-Breakout with ``--minatar-preset`` (default ``minatar-v2``, the
   confirmatory study's: 16 environments, unrolls of 5) for each of ``--agents``, and Atari
   Breakout with the attention agent's ``paper`` preset (32 environments, unrolls of 50, 84x84
   gray, frame skip 4; left out with ``--atari-steps 0``). Steps/s are agent steps (environment
   steps summed over the environments) per second of training, as the runner's summary gives
   them.
2. **Where the time goes**, in this process: the training run's vector loop
   (:class:`agents.vector_runner.VectorEpisodes`: act, step the environments, observe and learn)
   with each part timed, over ``--updates`` updates after one warm-up update, and the profiler's
   top ops of one update (BPTT over the unroll, GAE, the loss, RMSProp).

    python benchmarks/attention_speed.py [--minatar-steps 20000] [--atari-steps 6400] [--rounds 2]
        [--minatar-preset minatar-v2] [--agents attention no-attention] [--device cpu|cuda]

Time it only when nothing else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from common import print_machine, synchronize
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from agents.envs import env_spec
from agents.errors import UsageError
from agents.registry import get_agent
from agents.rollout import TRAIN_STREAM, episode_seed
from agents.rundir import RunSpec, make_run_env, resolve, select_device
from agents.vector_runner import VectorEpisodes, make_vector_env


class Setting(NamedTuple):
    agent: str
    game: str
    preset: str
    frame_skip: int

    @property
    def label(self) -> str:
        return f"{self.agent}, {self.game}, `{self.preset}`"


def whole_run(setting: Setting, frames: int, device: str) -> float:
    """Agent steps per second of one fresh CLI run (its summary's steps over train seconds)."""
    agent, game, preset, _ = setting
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        cmd = [sys.executable, "-m", "agents", "train", "--agent", agent, "--game", game]
        cmd += ["--preset", preset, "--frames", str(frames), "--out", str(out), "--no-progress"]
        cmd += ["--device", device]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        summary = json.loads((out / "summary.json").read_text())
        return summary["agent_steps"] / summary["train_seconds"]


def _agent(setting: Setting, device: str):
    """A fresh agent of ``setting``, its run and config."""
    run = RunSpec(
        agent=setting.agent, game=setting.game, seed=0, frames=10**9, preset=setting.preset
    )
    config = resolve(run, {})
    env = make_run_env(run, config)
    spec = env_spec(env, setting.game, config.frame_stack)
    env.close()
    torch.manual_seed(0)
    return run, config, get_agent(setting.agent).agent(config, spec, torch.device(device))


def _episodes(run, config, n: int) -> VectorEpisodes:
    """The package's vector loop over ``n`` environments, seeded as a training run's."""
    envs = make_vector_env(run, config, n)
    return VectorEpisodes(envs, lambda index: episode_seed(run.seed, index, TRAIN_STREAM))


def breakdown(setting: Setting, updates: int, device: str) -> dict[str, float]:
    """Seconds per agent step in acting, stepping the environments and observing/learning."""
    torch.set_num_threads(1)
    run, config, agent = _agent(setting, device)
    rng = np.random.default_rng(0)
    stepper = _episodes(run, config, agent.num_envs)
    totals = {"act (forward, no grad)": 0.0, "environments": 0.0, "learn (BPTT + RMSProp)": 0.0}
    steps, done_updates, warm = 0, 0, False
    while done_updates < updates + 1:
        t0 = time.perf_counter()
        actions = agent.act_vector(stepper.obs, steps, rng)
        t1 = time.perf_counter()
        transition, _ = stepper.step(actions)
        t2 = time.perf_counter()
        learned = agent.observe_vector(transition, steps, rng) is not None
        synchronize(device)
        t3 = time.perf_counter()
        if warm:
            totals["act (forward, no grad)"] += t1 - t0
            totals["environments"] += t2 - t1
            totals["learn (BPTT + RMSProp)"] += t3 - t2
            steps += stepper.n
        if learned:
            done_updates += 1
            warm = True  # the first update is warm-up
    stepper.envs.close()
    return {name: seconds / steps for name, seconds in totals.items()}


def update_profile(setting: Setting, device: str) -> list[tuple[str, float]]:
    """The profiler's self time (ms) of the top ops of one update, after a warm-up update: CPU
    time on the CPU, kernel time on a GPU."""
    torch.set_num_threads(1)
    run, config, agent = _agent(setting, device)
    gpu = device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    rng = np.random.default_rng(0)
    stepper = _episodes(run, config, agent.num_envs)

    def one_unroll(profiled: bool):
        for t in range(config.unroll_length):
            transition, _ = stepper.step(agent.act_vector(stepper.obs, 0, rng))
            if t == config.unroll_length - 1 and profiled:
                with profile(activities=activities) as prof:
                    agent.observe_vector(transition, 0, rng)
                    synchronize(device)
                return prof
            agent.observe_vector(transition, 0, rng)
        return None

    one_unroll(False)
    prof = one_unroll(True)
    stepper.envs.close()

    if not gpu:
        events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        return [(e.key, e.self_cpu_time_total / 1000) for e in events[:10]]
    # On a GPU, the kernels alone: an op's row would count its kernels' time a second time.
    kernels = [e for e in prof.key_averages() if e.device_type == DeviceType.CUDA]
    kernels.sort(key=lambda e: -e.self_device_time_total)
    return [(e.key, e.self_device_time_total / 1000) for e in kernels[:10]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minatar-steps", type=int, default=20_000)
    parser.add_argument("--atari-steps", type=int, default=6_400, help="agent steps (x4 frames)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--updates", type=int, default=10, help="breakdown: timed updates")
    parser.add_argument("--minatar-preset", default="minatar-v2")
    parser.add_argument(
        "--agents", nargs="+", default=["attention", "no-attention"], help="on MinAtar"
    )
    parser.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default: cuda if present)"
    )
    args = parser.parse_args()
    try:
        args.device = str(select_device(args.device))
    except UsageError as exc:
        raise SystemExit(f"error: {exc}") from None
    print_machine()
    gpu = args.device.startswith("cuda")
    where = torch.cuda.get_device_name(torch.device(args.device)) if gpu else "CPU"
    print(f"torch {torch.__version__}, {where}, one thread per run")
    budgets = {
        Setting(agent, "MinAtar-Breakout", args.minatar_preset, 1): args.minatar_steps
        for agent in args.agents
    }
    if args.atari_steps > 0:
        budgets[Setting("attention", "Breakout", "paper", 4)] = args.atari_steps * 4
    rates: dict[Setting, list[float]] = {setting: [] for setting in budgets}
    for round_index in range(args.rounds):
        order = list(budgets) if round_index % 2 == 0 else list(reversed(budgets))
        for setting in order:
            rates[setting].append(whole_run(setting, budgets[setting], args.device))
            print(
                f"round {round_index + 1}: {setting.label} {rates[setting][-1]:.1f} steps/s",
                flush=True,
            )
    print("\n| setting | steps/s (median) | rounds |")
    print("|---|---|---|")
    for setting, frames in budgets.items():
        values = ", ".join(f"{v:.1f}" for v in rates[setting])
        print(
            f"| {setting.label} ({frames // setting.frame_skip} agent steps) | "
            f"{np.median(rates[setting]):.1f} | {values} |"
        )
    for setting in budgets:
        parts = breakdown(setting, args.updates, args.device)
        total = sum(parts.values())
        print(f"\n{setting.label}: {1000 * total:.3f} ms per agent step", flush=True)
        for part, seconds in parts.items():
            print(f"  {part:28s} {1000 * seconds:.3f} ms ({100 * seconds / total:.0f}%)")
        kind = "GPU kernel" if gpu else "self CPU"
        print(f"  one update's top ops ({kind} ms):")
        for key, ms in update_profile(setting, args.device):
            print(f"    {key:40s} {ms:8.2f}")


if __name__ == "__main__":
    main()
