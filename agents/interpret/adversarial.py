"""Out-of-sample states (paper Figs 7, 13-15): made through the emulator, not by human play.

* :func:`edited_observations` edits the console's RAM (ale-py ``cloneState`` / ``setRAM``) at a
  state the agent reached, lets the game draw the change, and returns the observation with and
  without the edit, from the same emulator state.
* Edits: :func:`moved_player` and :func:`extra_pellet` (MsPacman), :func:`mirrored_formation`
  (SpaceInvaders). Each maps the current RAM to the new values of the bytes it changes.
* :func:`pixelwise_max` builds the paper's Fig. 14/15 state: the pixel-wise maximum over real
  states.

Every address below was found by editing RAM and diffing the rendered screen, and is checked by
rendering in ``tests/test_interpret.py`` (details in ``docs/interpretability.md``). The game draws
an edit on the next emulator frame.

* MsPacman: RAM[10] is Ms. Pac-Man's x, RAM[16] her y (screen pixels, +1 = 1 px right / down).
  RAM[59..100] are the pellets: 14 rows of 3 playfield bytes; row k is drawn at screen rows
  7 + 12k and 8 + 12k, and each set bit draws a 4x2 pellet where the maze has a corridor.
* SpaceInvaders: RAM[18..23] are the invader rows (bottom to top), one bit per alive invader;
  bit b (0..5) is column b from the left, drawn at x = RAM[26] - 1 + 16b.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RamEdit = Callable[[np.ndarray], dict[int, int]]  # current RAM -> {address: new value}

MSPACMAN_PLAYER_X, MSPACMAN_PLAYER_Y = 10, 16
MSPACMAN_PLAYER_RGB = (210, 164, 74)
MSPACMAN_PELLET_RGB = (228, 111, 111)
MSPACMAN_PELLET_ROWS = 14
MSPACMAN_PELLET_FIRST = 59  # row k uses bytes 59 + 3k, 60 + 3k, 61 + 3k
# (byte offset within the row, bit) -> the pellet's left x; the bits interleave because the bytes
# are the Atari's playfield registers.
_PELLET_COLUMNS = {
    (0, 6): 8,
    (0, 4): 148,
    **{(1, 7 - 2 * i): 16 + 8 * i for i in range(4)},
    **{(1, 6 - 2 * i): 84 + 8 * i for i in range(4)},
    **{(2, 2 * i): 48 + 8 * i for i in range(4)},
    **{(2, 1 + 2 * i): 116 + 8 * i for i in range(4)},
}

SPACEINVADERS_ROWS = tuple(range(18, 24))  # bottom row first
SPACEINVADERS_FORMATION_X = 26  # the formation's left edge + 1, in screen pixels
SPACEINVADERS_COLUMNS = 6


def edited_observations(env, edit: RamEdit, noop_steps: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(unedited, edited) observations after ``noop_steps`` NOOP agent steps from the env's state.

    With ``noop_steps`` at least the frame stack, every stacked frame shows the edit. The env
    (from :func:`agents.envs.make_env`) is left in the unedited continuation's state.
    """
    ale = env.unwrapped.ale
    start = ale.cloneState()
    outcomes = []
    for apply in (False, True):
        ale.restoreState(start)
        if apply:
            for address, value in edit(ale.getRAM()).items():
                ale.setRAM(address, value)
        obs = None
        for _ in range(noop_steps):
            obs, *_ = env.step(0)
        outcomes.append(obs)
    return outcomes[0], outcomes[1]


def moved_player(dx: int, dy: int) -> RamEdit:
    """MsPacman: Ms. Pac-Man moved by (dx, dy) screen pixels."""
    return lambda ram: {
        MSPACMAN_PLAYER_X: (int(ram[MSPACMAN_PLAYER_X]) + dx) % 256,
        MSPACMAN_PLAYER_Y: (int(ram[MSPACMAN_PLAYER_Y]) + dy) % 256,
    }


def pellet_position(address: int, bit: int) -> tuple[int, int] | None:
    """(top row, left column) on screen of the pellet a RAM bit draws; None if no pellet."""
    row, offset = divmod(address - MSPACMAN_PELLET_FIRST, 3)
    if not 0 <= row < MSPACMAN_PELLET_ROWS or (offset, bit) not in _PELLET_COLUMNS:
        return None
    return 7 + 12 * row, _PELLET_COLUMNS[(offset, bit)]


def eaten_pellets(start_ram: np.ndarray, ram: np.ndarray) -> list[tuple[int, int]]:
    """(address, bit) of pellets set in ``start_ram`` (a level's start) and clear in ``ram``."""
    eaten = []
    for address in range(MSPACMAN_PELLET_FIRST, MSPACMAN_PELLET_FIRST + 3 * MSPACMAN_PELLET_ROWS):
        gone = int(start_ram[address]) & ~int(ram[address])
        eaten += [(address, bit) for bit in range(8) if gone >> bit & 1]
    return [(a, b) for a, b in eaten if pellet_position(a, b) is not None]


def sprite_centre(screen: np.ndarray, rgb: tuple[int, int, int]) -> tuple[float, float] | None:
    """(row, col) centroid of the pixels of one colour in an RGB screen, None if absent."""
    rows, cols = np.nonzero((screen == np.asarray(rgb, dtype=screen.dtype)).all(axis=-1))
    return (float(rows.mean()), float(cols.mean())) if len(rows) else None


def extra_pellet(
    start_ram: np.ndarray,
    ram: np.ndarray,
    player: tuple[float, float],
    min_distance: float = 24.0,
) -> tuple[RamEdit, tuple[int, int]] | None:
    """MsPacman: put back an eaten pellet (set in ``start_ram``, clear in ``ram``) next to her path.

    Picks the eaten pellet nearest to ``player`` (screen row, col) that is at least
    ``min_distance`` px away, so that she does not eat it during the NOOP steps (the nearest one
    if all are closer). Returns the edit and the pellet's screen (row, col), or None when no
    pellet has been eaten.
    """
    candidates = []
    for address, bit in eaten_pellets(start_ram, ram):
        row, col = pellet_position(address, bit)
        distance = float(np.hypot(row + 0.5 - player[0], col + 1.5 - player[1]))
        candidates.append((distance < min_distance, distance, address, bit, (row, col)))
    if not candidates:
        return None
    _, _, address, bit, position = min(candidates)
    return (lambda current: {address: int(current[address]) | 1 << bit}), position


def mirror_bits(mask: int, width: int = SPACEINVADERS_COLUMNS) -> int:
    """Reverse the low ``width`` bits of a byte, keeping the others."""
    low = sum((mask >> i & 1) << (width - 1 - i) for i in range(width))
    return low | (mask & ~((1 << width) - 1) & 0xFF)


def mirrored_formation(ram: np.ndarray) -> dict[int, int]:
    """SpaceInvaders: the alive invaders mirrored left-right (an edit, see :data:`RamEdit`)."""
    return {address: mirror_bits(int(ram[address])) for address in SPACEINVADERS_ROWS}


def formation_asymmetry(ram: np.ndarray) -> int:
    """How many invader slots differ from their mirror image (0: mirroring changes nothing)."""
    return sum(
        bin(int(ram[address]) ^ mirror_bits(int(ram[address]))).count("1")
        for address in SPACEINVADERS_ROWS
    )


def pixelwise_max(states: np.ndarray) -> np.ndarray:
    """The pixel-wise maximum over states (n, C, H, W): a state no game ever shows."""
    return np.asarray(states).max(axis=0)
