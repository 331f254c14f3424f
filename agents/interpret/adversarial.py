"""Out-of-sample states (paper Figs 7, 13-15): made through the emulator, not by human play.

* :func:`edited_observations` edits the console's RAM (ale-py ``cloneState`` / ``setRAM``) at a
  state the agent reached, lets the game draw the change, and returns the observation with and
  without the edit, from the same emulator state.
* :func:`pixelwise_max` builds the paper's Fig. 14/15 state: the pixel-wise maximum over real
  states.

RAM addresses found and verified here (by rendering: the sprite's centroid moves by exactly the
edit, 2 frames after it; see ``tests/test_interpret.py``):

* MsPacman: RAM[10] is Ms. Pac-Man's x, RAM[16] her y (screen pixels, +1 = 1 px right / down).
"""

from __future__ import annotations

import numpy as np

MSPACMAN_PLAYER_X, MSPACMAN_PLAYER_Y = 10, 16


def edited_observations(
    env, edits: dict[int, int], noop_steps: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """(unedited, edited) observations after ``noop_steps`` NOOP agent steps from the env's state.

    ``edits`` maps RAM addresses to deltas (mod 256). The env (from :func:`agents.envs.make_env`)
    is left in the unedited continuation's state.
    """
    ale = env.unwrapped.ale
    start = ale.cloneState()
    outcomes = []
    for apply in (False, True):
        ale.restoreState(start)
        if apply:
            ram = ale.getRAM()
            for address, delta in edits.items():
                ale.setRAM(address, (int(ram[address]) + delta) % 256)
        obs = None
        for _ in range(noop_steps):
            obs, *_ = env.step(0)
        outcomes.append(obs)
    return outcomes[0], outcomes[1]


def pixelwise_max(states: np.ndarray) -> np.ndarray:
    """The pixel-wise maximum over states (n, C, H, W): a state no game ever shows."""
    return np.asarray(states).max(axis=0)
