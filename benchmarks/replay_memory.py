"""Memory of a 1M-transition Atari replay (84x84 gray, 4-frame stacks): target under 8 GB.

Fills a :class:`agents.replay.FrameReplay` of capacity 1M completely (every page touched, with
episode boundaries every 1000 steps), samples from it, and reports the process's peak resident
memory against the naive layout that stores (s, s') stacks per transition.

    python benchmarks/replay_memory.py [--capacity 1000000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch
from common import print_machine

from agents.replay import FrameReplay


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--episode-length", type=int, default=1000)
    args = parser.parse_args()
    print_machine()

    baseline = peak_rss_gb()
    start = time.perf_counter()
    replay = FrameReplay(args.capacity, (84, 84), frame_stack=4)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (84, 84), dtype=np.uint8)
    replay.start_episode(frame)
    for step in range(args.capacity):
        replay.add(step % 18, 1.0, False, frame)
        if (step + 1) % args.episode_length == 0:
            replay.start_episode(frame)
    fill_seconds = time.perf_counter() - start
    batch = replay.sample(32, rng, torch.device("cpu"))
    assert batch.obs.shape == (32, 4, 84, 84)
    used = peak_rss_gb() - baseline
    naive = args.capacity * 2 * 4 * 84 * 84 / 1e9
    print(f"capacity {args.capacity:,} transitions, filled in {fill_seconds:.0f} s")
    print(
        f"replay arrays       : {sum(a.nbytes for a in (replay.frames, replay.actions, replay.rewards, replay.terminated, replay.has_action, replay.episode_pos)) / 1e9:.2f} GB"
    )
    print(f"peak RSS increase   : {used:.2f} GB (target < 8 GB)")
    print(f"naive (s, s') stacks: {naive:.2f} GB")
    if used >= 8.0:
        raise SystemExit("FAILED: replay exceeds 8 GB")


if __name__ == "__main__":
    main()
