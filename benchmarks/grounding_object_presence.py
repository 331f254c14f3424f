"""How often a MinAtar state has none of its game's relevant objects (amendment 17). No agent.

The grounding measure (`agents.interpret.run_measures._shares`) averages each map's share of
mass on the relevant objects over the states that have an object and a map with mass, and the
objects' occupancy over every state. The two are like for like only if states without an object
are rare. This plays each game's uniform random policy (the environments the runs use,
`agents.envs.make_env`) and counts, on the newest frame of each observation, the states with no
relevant object and those without the controlled object (the first relevant channel).

    python benchmarks/grounding_object_presence.py [--steps 20000] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from agents.envs import make_env
from agents.interpret.grounding import RELEVANT_CHANNELS, object_mask
from agents.rollout import rollout
from agents.suites import suite_of


def count_absent(game: str, steps: int, seed: int) -> tuple[int, int]:
    """(states with no relevant object, states without the controlled object) over ``steps``
    states the uniform random policy visits (the suite's episode loop, `agents.rollout`)."""
    from itertools import islice

    env = make_env(game)
    names = suite_of(game).channel_names(env)
    relevant = RELEVANT_CHANNELS[game]
    rng = np.random.default_rng(seed)
    no_object = no_controlled = 0
    play = rollout(env, lambda _: int(rng.integers(env.action_space.n)), lambda i: seed + i)
    for step in tqdm(islice(play, steps), total=steps, desc=game, leave=False):
        newest = np.asarray(step.obs)[-len(names) :] > 0
        no_object += not object_mask(newest, names, relevant).any()
        no_controlled += not object_mask(newest, names, relevant[:1]).any()
    env.close()
    return no_object, no_controlled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"uniform random policy, {args.steps} steps per game, seed {args.seed}")
    for game, relevant in RELEVANT_CHANNELS.items():
        no_object, no_controlled = count_absent(game, args.steps, args.seed)
        print(
            f"{game}: no relevant object in {no_object}/{args.steps} states; "
            f"no {relevant[0]} in {no_controlled}/{args.steps}"
        )


if __name__ == "__main__":
    main()
