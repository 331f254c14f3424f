"""Where an agent looks, against MinAtar's ground truth: the share of a map's mass on the objects.

MinAtar gives what no Atari study has: every state's object channels. For a map over the 10x10
cells (i-DQN's attention-weighted saliency, DDQN's perturbation saliency, the attention agent's
spatial attention), the share of its mass on the cells holding the objects that matter says
whether it looks at them. Two references say what the share would be by chance: uniform mass
gives exactly the objects' occupancy (the share of cells they fill), and a map equal to the
objects gives 1.
"""

from __future__ import annotations

import numpy as np

#: Per MinAtar game, the object channels an agent must watch to act (a decision of this suite,
#: pre-registered in docs/preregistration-amendments.md before any measurement): the controlled
#: object and what can hit it or be collected; trails, gauges and speed markers are left out.
RELEVANT_CHANNELS = {
    "MinAtar-Breakout": ("paddle", "ball"),
    "MinAtar-Freeway": ("chicken", "car"),
    "MinAtar-SpaceInvaders": ("cannon", "alien", "enemy_bullet"),
    "MinAtar-Seaquest": ("sub_front", "enemy_bullet", "enemy_fish", "enemy_sub", "diver"),
    "MinAtar-Asterix": ("player", "enemy", "gold"),
}


def object_mask(frame: np.ndarray, channel_names: tuple[str, ...], relevant: tuple[str, ...]):
    """(H, W) bool: the cells of one MinAtar frame (C, H, W) holding any ``relevant`` channel."""
    unknown = sorted(set(relevant) - set(channel_names))
    if unknown:
        raise ValueError(f"no channel named {unknown} among {channel_names}")
    chosen = [channel_names.index(name) for name in relevant]
    return np.asarray(frame)[chosen].any(axis=0)


def mass_on_objects(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per state, the share of a non-negative map's mass on the masked cells: (B, H, W) -> (B,).

    NaN for a map with no mass, or a state with no object (nothing to look at)."""
    maps, masks = np.asarray(maps, dtype=float), np.asarray(masks, dtype=bool)
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (a saliency's magnitude, an attention)")
    total = maps.sum(axis=(1, 2))
    on = (maps * masks).sum(axis=(1, 2))
    valid = (total > 0) & masks.any(axis=(1, 2))
    return np.where(valid, on / np.where(total > 0, total, 1.0), np.nan)


def occupancy(masks: np.ndarray) -> np.ndarray:
    """Per state, the share of cells the objects fill: what uniform mass puts on them."""
    masks = np.asarray(masks, dtype=bool)
    return masks.mean(axis=(1, 2))


def run_shares(run_dir, count: int = 200, seed: int = 0) -> dict:
    """Where a DDQN or i-DQN run looks (amendment 1, A1.4): over ``count`` states its greedy
    policy visits (the states stream of ``seed``), the mean share of the greedy action's
    perturbation saliency on the game's relevant objects, and the objects' mean occupancy (what
    uniform mass gives); :func:`agents.interpret.run_measures.grounding_measures`."""
    from agents.interpret.run_measures import Settings, grounding_measures
    from agents.rundir import load_agent

    run, config, agent = load_agent(run_dir, device="cpu")
    settings = Settings(grounding_states=count, grounding_examples=0)
    found = grounding_measures(run, config, agent, seed, settings, attention=False)
    return {"agent": run.agent, "game": run.game, "seed": run.seed} | found["q_saliency"]
