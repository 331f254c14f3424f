"""Environments by game name, for any suite: the front door to :mod:`agents.suites`.

Which games exist, how each suite builds its environments (the Atari protocol, MinAtar) and what
its actions are called is :mod:`agents.suites`' business; this module finds a game's suite and
asks it, so that nothing else needs to know which suite a game belongs to.
"""

from __future__ import annotations

import gymnasium as gym

from agents.contract import EnvSpec  # re-exported: what env_spec returns
from agents.suites import named_games, suite_of

#: The games the unknown-game message names first (every suite's ``named_games``); any other ALE
#: game is valid too.
GAMES = named_games()


def check_game(game: str) -> str:
    """Return ``game`` if some suite has it, else raise a one-line :class:`UsageError`."""
    suite_of(game)
    return game


def make_env(
    game: str,
    *,
    color: bool = False,
    frame_stack: int = 4,
    frame_skip: int = 4,
    noop_max: int = 30,
    render_mode: str | None = None,
) -> gym.Env:
    """Build one preprocessed environment of any suite's game (:mod:`agents.suites`).

    Args:
        game: an ALE game (``Breakout``; ``python -m agents list`` shows them) or a MinAtar game
            (``MinAtar-Breakout``). MinAtar games ignore the Atari-only arguments.
        color: if true, keep full 210x160 RGB frames (the paper's colour MsPacman runs); a
            stack of 4 frames then has 12 channels, ordered frame-major (RGB of the oldest first).
        frame_stack: frames per observation.
        frame_skip: action repeat; the max over the last two emulator frames is taken.
        noop_max: up to this many no-op actions at reset.
        render_mode: passed to ``gym.make`` (``"rgb_array"`` for videos or analyses).

    Returns:
        An environment whose observations are ``uint8`` arrays of shape
        ``(frame_stack, 84, 84)`` (gray Atari), ``(3 * frame_stack, 210, 160)`` (colour Atari)
        or ``(frame_stack * channels, 10, 10)`` (MinAtar).
    """
    return suite_of(game).make_env(
        game,
        color=color,
        frame_stack=frame_stack,
        frame_skip=frame_skip,
        noop_max=noop_max,
        render_mode=render_mode,
    )


def env_spec(env: gym.Env, game: str, frame_stack: int) -> EnvSpec:
    """Describe ``env`` (as built by :func:`make_env`) for network construction and replay."""
    obs_shape = tuple(env.observation_space.shape)
    channels_per_frame = obs_shape[0] // frame_stack
    frame_shape = obs_shape[1:] if channels_per_frame == 1 else (channels_per_frame, *obs_shape[1:])
    return EnvSpec(
        game=game,
        num_actions=int(env.action_space.n),
        obs_shape=obs_shape,
        frame_shape=tuple(frame_shape),
        frame_stack=frame_stack,
        action_meanings=suite_of(game).action_meanings(env),
    )
