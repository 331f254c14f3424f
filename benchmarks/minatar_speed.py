"""MinAtar speed: where one update's time goes, and steps/s beside Young & Tian's reference DQN.

Three measurements, all on one thread (as the MinAtar grid runs: two single-thread runs at once):

1. **One update, op by op.** Our DDQN and i-DQN updates on MinAtar-Breakout at batch 32 (the
   ``minatar`` presets): milliseconds per update, the FLOPs of one update (PyTorch's
   ``FlopCounterMode``: matmuls and convolutions, forward and backward), the achieved GFLOP/s,
   and the profiler's self time per op, grouped into matmul/conv kernels and everything else.
   The reference script's ``train()`` is measured the same way.
2. **This CPU's peak for the same shapes.** Each matmul shape the update runs (read off the
   profiler), timed alone in a loop, and a large 2048^3 matmul: what the kernels could reach.
3. **Steps/s, side by side.** Whole runs of ``--steps`` steps (5,000 warm-up steps included, as
   both scripts start learning there), one after another in fresh subprocesses, ``--rounds``
   rounds in alternating order: the reference ``examples/dqn.py`` at its own settings (an update
   every step, RMSProp), our DDQN at the same update rate (``train_freq=1``), and our DDQN and
   i-DQN presets (an update every 4 steps, Table 3's rate).

The reference script is not part of this project: clone https://github.com/kenjyoung/MinAtar and
pass ``--reference MinAtar/examples/dqn.py``. Its ``NUM_FRAMES`` is set to ``--steps`` when it is
loaded; nothing else of it is changed.

    python benchmarks/minatar_speed.py --reference ../MinAtar/examples/dqn.py [--steps 20000]

Time it only when nothing else runs on the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from common import print_machine
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

GAME = "MinAtar-Breakout"
BATCH = 32
KERNELS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::mkldnn_convolution")
KERNELS += ("aten::convolution_backward", "aten::_convolution", "aten::thnn_conv2d")


# -- the reference script ---------------------------------------------------------------------
def load_reference(path: Path, steps: int):
    """Young & Tian's examples/dqn.py as a module, its NUM_FRAMES set to ``steps``."""
    if not path.is_file():
        raise SystemExit(f"error: {path} is not a file; pass --reference <MinAtar>/examples/dqn.py")
    spec = importlib.util.spec_from_file_location("minatar_reference_dqn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.NUM_FRAMES = steps
    return module


def reference_update(module):
    """A callable doing one reference ``train()`` on a batch from a filled reference buffer."""
    from minatar import Environment

    env = Environment(GAME.removeprefix("MinAtar-").lower())
    policy = module.QNetwork(env.state_shape()[2], env.num_actions())
    target = module.QNetwork(env.state_shape()[2], env.num_actions())
    optimizer = torch.optim.RMSprop(
        policy.parameters(),
        lr=module.STEP_SIZE,
        alpha=module.SQUARED_GRAD_MOMENTUM,
        centered=True,
        eps=module.MIN_SQUARED_GRAD,
    )
    buffer = module.replay_buffer(1000)
    env.reset()
    state = module.get_state(env.state())
    for _ in range(1000):
        action = torch.tensor([[np.random.randint(env.num_actions())]])
        reward, done = env.act(action.item())
        following = module.get_state(env.state())
        buffer.add(
            state, following, action, torch.tensor([[reward]]).float(), torch.tensor([[done]])
        )
        state = following
        if done:
            env.reset()
            state = module.get_state(env.state())
    return lambda: module.train(buffer.sample(BATCH), policy, target, optimizer)


# -- our agents -------------------------------------------------------------------------------
def our_update(agent_name: str):
    """A callable doing one update of our agent (``minatar`` preset) on a fixed random batch."""
    from agents.config import build_config
    from agents.envs import env_spec, make_env
    from agents.registry import get_agent
    from agents.replay import Batch

    entry = get_agent(agent_name)
    config = build_config(entry.config, agent_name, "minatar", {})
    env = make_env(GAME, frame_stack=config.frame_stack, frame_skip=1, color=config.color)
    spec = env_spec(env, GAME, config.frame_stack)
    env.close()
    torch.manual_seed(0)
    agent = entry.agent(config, spec, torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    shape = (BATCH, *spec.obs_shape)
    batch = Batch(
        obs=torch.randint(0, 2, shape, dtype=torch.uint8, generator=generator),
        actions=torch.randint(0, spec.num_actions, (BATCH,), generator=generator),
        rewards=torch.randint(0, 2, (BATCH,), generator=generator).float(),
        terminated=torch.zeros(BATCH),
        next_obs=torch.randint(0, 2, shape, dtype=torch.uint8, generator=generator),
    )
    step = config.learning_starts + 1
    return lambda: agent.update(batch, step)


# -- measurement 1 and 2 ----------------------------------------------------------------------
def ms_per_call(function, calls: int, warmup: int = 50) -> float:
    for _ in range(warmup):
        function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return 1000 * (time.perf_counter() - start) / calls


def flops_of(function) -> int:
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()


def op_profile(function, calls: int) -> tuple[dict[str, tuple[float, float]], list[tuple]]:
    """Self CPU ms per call and calls per update of each op; the matmul shapes of one update."""
    for _ in range(20):
        function()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(calls):
            function()
    ops = {}
    for event in prof.key_averages():
        ops[event.key] = (event.self_cpu_time_total / 1000 / calls, event.count / calls)
    shapes = []
    for event in prof.key_averages(group_by_input_shape=True):
        if event.key in ("aten::mm", "aten::addmm") and event.input_shapes:
            dims = [tuple(s) for s in event.input_shapes if len(s) == 2]
            if len(dims) >= 2:
                (m, k), (_, n) = dims[-2], dims[-1]
                shapes.append(((m, k, n), event.count / calls))
    return ops, shapes


def matmul_gflops(m: int, k: int, n: int, seconds: float = 0.3) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        calls += 1
    return 2 * m * k * n * calls / (time.perf_counter() - start) / 1e9


def report_update(name: str, update, calls: int) -> None:
    ms = ms_per_call(update, calls)
    flops = flops_of(update)
    ops, shapes = op_profile(update, calls=min(calls, 200))
    total = sum(self_ms for self_ms, _ in ops.values())
    kernels = sum(ops[key][0] for key in KERNELS if key in ops)
    count = sum(n for _, n in ops.values())
    print(
        f"\n{name}: {ms:.3f} ms/update, {flops / 1e6:.2f} MFLOP/update, {flops / ms / 1e6:.1f} GFLOP/s"
    )
    print(
        f"  profiled ops: {count:.0f} op calls/update, self time {total:.3f} ms "
        f"(profiler overhead included); matmul/conv kernels {kernels:.3f} ms "
        f"({100 * kernels / total:.0f}%), everything else {total - kernels:.3f} ms "
        f"({100 * (total - kernels) / total:.0f}%)"
    )
    print(f"  in the kernels: {flops / kernels / 1e6:.1f} GFLOP/s")
    for key, (self_ms, n) in sorted(ops.items(), key=lambda item: -item[1][0])[:12]:
        print(f"    {key:40s} {self_ms:7.3f} ms  x{n:5.1f}")
    floor = 0.0
    for (m, k, n), repeats in sorted(set(shapes)):
        rate = matmul_gflops(m, k, n)
        floor += repeats * 2 * m * k * n / rate / 1e6
        if repeats >= 0.5:  # the reference's shapes vary with the batch's terminal count
            print(f"    mm {m}x{k} @ {k}x{n} (x{repeats:.0f}/update) alone: {rate:.1f} GFLOP/s")
    print(f"  the update's matmuls alone, at those rates: {floor:.3f} ms")


# -- measurement 3 ----------------------------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    """One whole run in this process (a subprocess of the parent); prints a JSON line."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        if args.child == "reference":
            from minatar import Environment

            module = load_reference(args.reference, args.steps)
            env = Environment(GAME.removeprefix("MinAtar-").lower())
            start = time.perf_counter()
            module.dqn(env, False, False, str(Path(out) / "reference"))
        else:
            from agents.runner import RunSpec, train

            agent, _, rate = args.child.partition(":")
            overrides = {"checkpoint_every_steps": 10 * args.steps, "checkpoint_replay": False}
            if rate:
                overrides["train_freq"] = int(rate)
            start = time.perf_counter()
            train(
                RunSpec(agent, GAME, 0, args.steps, "minatar"),
                Path(out),
                overrides,
                device="cpu",
                progress=False,
            )
        seconds = time.perf_counter() - start
    print(json.dumps({"run": args.child, "steps_per_s": args.steps / seconds}))


def side_by_side(args: argparse.Namespace) -> None:
    runs = ["reference", "ddqn:1", "ddqn", "idqn"]
    names = {
        "reference": "Young & Tian examples/dqn.py (update every step)",
        "ddqn:1": "our DDQN, train_freq=1 (update every step)",
        "ddqn": "our DDQN, minatar preset (update every 4 steps)",
        "idqn": "our i-DQN, minatar preset (update every 4 steps)",
    }
    rates = defaultdict(list)
    environment = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for round_index in range(args.rounds):
        order = runs if round_index % 2 == 0 else runs[::-1]
        for run in order:
            command = [sys.executable, __file__, "--child", run, "--steps", str(args.steps)]
            command += ["--reference", str(args.reference)]
            result = subprocess.run(command, capture_output=True, text=True, env=environment)
            if result.returncode != 0:
                raise SystemExit(f"error: {run} failed:\n{result.stderr[-2000:]}")
            rate = json.loads(result.stdout.strip().splitlines()[-1])["steps_per_s"]
            rates[run].append(rate)
            print(f"  round {round_index + 1}: {names[run]:50s} {rate:7.1f} steps/s", flush=True)
    reference = float(np.median(rates["reference"]))
    print(f"\nWhole runs of {args.steps} steps on {GAME}, median of {args.rounds} rounds:")
    for run in runs:
        median = float(np.median(rates[run]))
        print(f"  {names[run]:50s} {median:7.1f} steps/s  {median / reference:5.2f}x the reference")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="MinAtar's examples/dqn.py")
    parser.add_argument("--steps", type=int, default=20000, help="steps per whole run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--updates", type=int, default=500, help="updates timed per agent")
    parser.add_argument("--skip-runs", action="store_true", help="only measurements 1 and 2")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print_machine()
    torch.set_num_threads(1)
    print(f"one thread; large matmul 2048^3: {matmul_gflops(2048, 2048, 2048, 2.0):.1f} GFLOP/s")
    report_update(
        "Young & Tian train()", reference_update(load_reference(args.reference, 0)), args.updates
    )
    for agent_name in ("ddqn", "idqn"):
        report_update(f"our {agent_name} update", our_update(agent_name), args.updates)
    if not args.skip_runs:
        print()
        side_by_side(args)


if __name__ == "__main__":
    main()
