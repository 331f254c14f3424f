"""Is it cheaper to batch the online net's passes over s and s' into one gradient pass?

Double DQN (and i-DQN) need the online net on s (with gradients) and on s' (only for the argmax).
Compares, for the Nature-DQN network at batch 32 on the CPU: a gradient pass on s plus a no-grad
pass on s' ("separate", what the agents do) against one gradient pass on [s; s'] ("batched").

    python benchmarks/batched_forward.py
"""

from __future__ import annotations

import time

import torch
from common import print_machine

from agents.ddqn import QNetwork
from agents.suites import ATARI


def bench(fn, repeats: int = 30) -> float:
    for _ in range(3):
        fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    print_machine()
    torch.manual_seed(0)
    net = QNetwork((4, 84, 84), 6, layers=ATARI.torso).to(memory_format=torch.channels_last)
    s = torch.randint(0, 255, (32, 4, 84, 84), dtype=torch.uint8)
    s_next = torch.randint(0, 255, (32, 4, 84, 84), dtype=torch.uint8)

    def separate() -> None:
        net.zero_grad()
        q = net(s)
        with torch.no_grad():
            net(s_next).argmax(dim=1)
        q.sum().backward()

    def batched() -> None:
        net.zero_grad()
        both = net(torch.cat([s, s_next]))
        both[32:].detach().argmax(dim=1)
        both[:32].sum().backward()

    for _ in range(3):
        a, b = bench(separate), bench(batched)
        print(f"separate {a:6.2f} ms   batched {b:6.2f} ms   batched/separate {b / a:.2f}")


if __name__ == "__main__":
    main()
