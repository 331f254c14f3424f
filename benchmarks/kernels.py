"""Where bf16 autocast pays: kernel timings in fp32 and bf16, side by side in one invocation.

At batch 32 on Atari-shaped (4x84x84) input: the Nature-CNN conv trunk forward, its 3136x512
linear, and the i-DQN decoder's forward+backward. Each pair is timed in alternating rounds and
the median is reported, because this machine's speed drifts.

    python benchmarks/kernels.py [--repeats 10] [--rounds 9]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from common import print_machine
from torch import nn

from agents.networks import (
    bf16_autocast,
    conv_decoder,
    conv_torso,
    to_channels_last,
)
from agents.suites import ATARI

BATCH = 32
OBS_SHAPE = (4, 84, 84)


def milliseconds(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000


def interleaved(fns: dict[str, object], repeats: int, rounds: int) -> dict[str, float]:
    """Median ms per call of each function, timed in alternating rounds (the machine drifts)."""
    for fn in fns.values():
        milliseconds(fn, 5)  # warm-up
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(milliseconds(fn, repeats))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="calls per timing")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds; median reported")
    args = parser.parse_args()
    print_machine()
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
        f"median of {args.rounds} alternating rounds of {args.repeats} calls"
    )

    trunk = conv_torso(OBS_SHAPE, layers=ATARI.torso).to(memory_format=torch.channels_last)
    linear = nn.Linear(3136, 512)
    x = to_channels_last(torch.rand(BATCH, *OBS_SHAPE))
    features = torch.randn(BATCH, 3136)

    def forward(module, inputs, bf16):
        def run():
            with torch.no_grad(), bf16_autocast("cpu", bf16):
                module(inputs)

        return run

    print(f"{'forward (no grad)':32s} {'fp32 ms':>9s} {'bf16 ms':>9s} {'speed-up':>9s}")
    for name, module, inputs in [
        ("Nature-CNN trunk", trunk, x),
        ("linear 3136x512", linear, features),
    ]:
        times = interleaved(
            {bf16: forward(module, inputs, bf16) for bf16 in (False, True)},
            args.repeats,
            args.rounds,
        )
        print(
            f"{name:32s} {times[False]:9.2f} {times[True]:9.2f} {times[False] / times[True]:8.2f}x"
        )

    embedding = torch.randn(BATCH, 256)
    target = torch.randn(BATCH, *OBS_SHAPE)
    decoder = conv_decoder(OBS_SHAPE, 256, layers=ATARI.torso).to(memory_format=torch.channels_last)

    def train_step(bf16):
        def run():
            with bf16_autocast("cpu", bf16):
                out = decoder(embedding)
            F.mse_loss(out.float(), target, reduction="sum").backward()

        return run

    times = interleaved(
        {bf16: train_step(bf16) for bf16 in (False, True)}, args.repeats, args.rounds
    )
    name = "i-DQN decoder forward+backward"
    print(f"{name:32s} {times[False]:9.2f} {times[True]:9.2f} {times[False] / times[True]:8.2f}x")


if __name__ == "__main__":
    main()
