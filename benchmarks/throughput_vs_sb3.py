"""Training throughput of this suite's Double DQN against stable-baselines3's DQN.

Both learners train on the same Pong environment (this suite's ``make_env``: the paper's
preprocessing) with the same hyperparameters: replay 10K, batch 32, train every 4 steps, one
gradient step per update, target sync every 1000 steps, learning starts after 10K steps, Adam
2.5e-4, Huber loss, grad-norm clip 10, gamma 0.99 and a constant epsilon of 0.01 (the regime of 90%
of a paper run). They run back to back in one process on the same machine, on the CPU.

Two figures per learner, in environment steps per second, updates included:

* steady state: the steps after ``learning_starts``, where every 4th step trains (what a 10M-frame
  run spends >99% of its time in). SB3 is timed from a callback at ``learning_starts``; this
  suite is timed on a resume from a checkpoint taken at ``learning_starts`` (the load and the
  final checkpoint write are inside the timed span);
* whole run: warm-up included. SB3 acts at random before ``learning_starts`` while this suite's
  runner acts epsilon-greedily (a forward pass per step) from step 0, so this figure is, if
  anything, conservative for this suite.

This suite also runs with ``precision=bf16`` (convs and linears under bf16 autocast), reported
separately.

    python benchmarks/throughput_vs_sb3.py [--steps 20000] [--learning-starts 10000]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import print_machine, steady_and_whole_run
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback

from agents.envs import make_env
from agents.networks import native_bf16

HYPERPARAMETERS = dict(
    buffer=10_000, batch=32, train_freq=4, target_sync=1000, lr=2.5e-4, grad_clip=10.0
)


def time_ours(steps: int, learning_starts: int, seed: int, precision: str) -> tuple[float, float]:
    """(steady-state, whole-run) steps/s of this suite's DDQN."""
    overrides = {
        "replay_capacity": HYPERPARAMETERS["buffer"],
        "batch_size": HYPERPARAMETERS["batch"],
        "train_freq": HYPERPARAMETERS["train_freq"],
        "target_sync_steps": HYPERPARAMETERS["target_sync"],
        "lr": HYPERPARAMETERS["lr"],
        "grad_clip_norm": HYPERPARAMETERS["grad_clip"],
        "eps_start": 0.01,
        "eps_end": 0.01,
        "precision": precision,
    }
    return steady_and_whole_run("ddqn", "Pong", steps, learning_starts, overrides, seed)


class _StartClock(BaseCallback):
    def __init__(self, learning_starts: int):
        super().__init__()
        self.learning_starts, self.time = learning_starts, None

    def _on_step(self) -> bool:
        if self.time is None and self.num_timesteps >= self.learning_starts:
            self.time = time.perf_counter()
        return True


def time_sb3(steps: int, learning_starts: int, seed: int) -> tuple[float, float]:
    """(steady-state, whole-run) steps/s of stable-baselines3's DQN."""
    model = DQN(
        "CnnPolicy",
        make_env("Pong"),
        buffer_size=HYPERPARAMETERS["buffer"],
        batch_size=HYPERPARAMETERS["batch"],
        train_freq=HYPERPARAMETERS["train_freq"],
        gradient_steps=1,
        target_update_interval=HYPERPARAMETERS["target_sync"],
        learning_rate=HYPERPARAMETERS["lr"],
        max_grad_norm=HYPERPARAMETERS["grad_clip"],
        learning_starts=learning_starts,
        exploration_initial_eps=0.01,
        exploration_final_eps=0.01,
        gamma=0.99,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    clock = _StartClock(learning_starts)
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=clock)
    end = time.perf_counter()
    return (steps - learning_starts) / (end - clock.time), steps / (end - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="agent steps per learner")
    parser.add_argument("--learning-starts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps <= args.learning_starts:
        raise SystemExit("error: --steps must exceed --learning-starts")
    print_machine()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, Pong, {args.steps} agent steps, "
        f"learning starts {args.learning_starts}"
    )
    sb3 = time_sb3(args.steps, args.learning_starts, args.seed)
    rows = [("stable-baselines3 DQN", sb3)]
    # bf16 only where the CPU has it natively: elsewhere the runner refuses it (about 7x slower).
    precisions = ["fp32", "bf16"] if native_bf16("cpu") else ["fp32"]
    if len(precisions) == 1:
        print("bf16 skipped: this CPU has no native bf16")
    for precision in precisions:
        rows.append(
            (
                f"agents ddqn ({precision})",
                time_ours(args.steps, args.learning_starts, args.seed, precision),
            )
        )
    print(
        f"{'learner':26s} {'steady steps/s':>15s} {'ratio':>6s} {'whole-run steps/s':>18s} {'ratio':>6s}"
    )
    for name, (steady, whole) in rows:
        print(
            f"{name:26s} {steady:15.1f} {steady / sb3[0]:6.2f} {whole:18.1f} {whole / sb3[1]:6.2f}"
        )


if __name__ == "__main__":
    main()
