"""Suites: the families of games this package can train on, each one record.

A :class:`Suite` knows its games, how to make one of its environments under the paper's protocol,
the conv torso its frames want and the names of its actions. Everything that lists or checks
games (the CLI, the pipeline's config check and wildcards) asks the suites instead of keeping
its own list.

* :data:`ATARI`: any game of the installed ale-py (its ROMs ship inside the wheel), by its
  CamelCase ALE name (``Breakout``, ``MsPacman``); the paper's eight games are the default list.
* :data:`MINATAR`: the five MinAtar games (``MinAtar-Breakout``, ...), 10x10 grids.

Game names are unique across suites, so a name alone says which suite it belongs to
(:func:`suite_of`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agents import envs
from agents.errors import UsageError
from agents.networks import MINATAR_CONVS, NATURE_CONVS, ConvLayers

#: Where the full list of valid names is shown (the unknown-game message points there).
LIST_COMMAND = "python -m agents list"


@dataclass(frozen=True)
class Suite:
    """One family of games.

    Attributes:
        name: short name (``"atari"``, ``"minatar"``), the key of :func:`describe_games`.
        default_games: the games a run of the whole suite means (Atari: the paper's eight).
        torso: the conv layers, ``(out_channels, kernel, stride)`` each, for this suite's frames;
            pass it to :func:`agents.networks.conv_torso` as ``layers=``.
        preset: the agent preset made for this suite's protocol (``agents/presets/<agent>/``).
        saliency: the perturbation saliency's settings for this suite's frames (keyword
            arguments of :func:`agents.interpret.saliency.perturbation_saliency`).
        object_channels: whether frames are object channels (MinAtar) rather than pixels; Table 2
            calls such an input ``channels`` instead of ``color`` or ``gray``.
    """

    name: str
    default_games: tuple[str, ...]
    torso: ConvLayers
    preset: str
    _games: Callable[[], tuple[str, ...]] = field(repr=False)
    _make_env: Callable[..., gym.Env] = field(repr=False)
    _action_meanings: Callable[[gym.Env], tuple[str, ...]] = field(repr=False)
    saliency: dict[str, float] = field(default_factory=dict)
    object_channels: bool = False
    _channel_names: Callable[[gym.Env], tuple[str, ...]] = field(default=lambda env: (), repr=False)

    def games(self) -> tuple[str, ...]:
        """Every valid game name of this suite."""
        return self._games()

    def matches(self, game: str) -> bool:
        """Whether ``game`` is one of this suite's games."""
        return game in self.games()

    def make_env(self, game: str, **protocol: Any) -> gym.Env:
        """One environment of ``game`` under the paper's protocol.

        ``protocol``: the keyword arguments of :func:`agents.envs.make_env` (``color``,
        ``frame_stack``, ``frame_skip``, ``noop_max``, ``render_mode``); a suite ignores those
        that do not apply to it (MinAtar: all but ``frame_stack``).
        """
        if not self.matches(game):
            raise UsageError(f"{game!r} is not in the {self.name} suite")
        return self._make_env(game, **protocol)

    def action_meanings(self, env: gym.Env) -> tuple[str, ...]:
        """Names of ``env``'s actions (an env this suite made), in the agent's action order."""
        return self._action_meanings(env)

    def input_name(self, color: bool) -> str:
        """What Table 2 calls a run's input: ``channels``, else ``color`` or ``gray``."""
        if self.object_channels:
            return "channels"
        return "color" if color else "gray"

    def channel_names(self, env: gym.Env) -> tuple[str, ...]:
        """Names of one frame's object channels (MinAtar), or ``()`` where frames are pixels."""
        return self._channel_names(env)


def _atari_games() -> tuple[str, ...]:
    # The paper's games and Pong first, in the order the CLI has always listed them.
    return (*envs.ATARI_GAMES, *(g for g in envs.ALE_GAMES if g not in envs.ATARI_GAMES))


ATARI = Suite(
    name="atari",
    default_games=envs.PAPER_GAMES,
    torso=NATURE_CONVS,
    preset="paper",
    _games=_atari_games,
    _make_env=envs.make_atari_env,
    _action_meanings=envs.atari_action_meanings,
    # The authors' notebooks: a Gaussian mask of sigma 3 px every 3 px, blur sigma 5 px.
    saliency={"stride": 3, "mask_sigma": 3.0, "blur_sigma": 5.0},
)

MINATAR = Suite(
    name="minatar",
    default_games=envs.MINATAR_GAMES,
    torso=MINATAR_CONVS,
    preset="minatar",
    _games=lambda: envs.MINATAR_GAMES,
    _make_env=envs.make_minatar_env,
    _action_meanings=envs.minatar_action_meanings,
    # A documented decision (docs/interpretability.md): one MinAtar cell is the smallest object,
    # so the mask is one cell wide and placed on every cell, and the blur spreads it over about
    # its neighbours; the Atari settings scaled by 10/84 would fall below a cell.
    saliency={"stride": 1, "mask_sigma": 1.0, "blur_sigma": 1.0},
    object_channels=True,
    _channel_names=envs.minatar_channel_names,
)

SUITES: tuple[Suite, ...] = (ATARI, MINATAR)


def suite_of(game: str) -> Suite:
    """The suite ``game`` belongs to, or a one-line :class:`UsageError` saying where to look.

    The message lists the paper's games, Pong and the MinAtar games, then points to
    ``python -m agents list`` for the other ALE games (over a hundred), and suggests the closest
    valid name when there is one (``breakout`` -> ``Breakout``).
    """
    for suite in SUITES:
        if suite.matches(game):
            return suite
    named = ", ".join(envs.GAMES)
    message = (
        f"unknown game {game!r}; valid games: {named} and any other ALE game "
        f"(`{LIST_COMMAND}` shows all {len(all_games())} names)"
    )
    suggestion = _closest(str(game))
    if suggestion:
        message += f"; did you mean {suggestion!r}?"
    raise UsageError(message)


def all_games() -> tuple[str, ...]:
    """Every valid game name, suite by suite."""
    return tuple(game for suite in SUITES for game in suite.games())


def describe_games() -> dict[str, list[str]]:
    """Suite name -> its games (what ``python -m agents list`` shows)."""
    return {suite.name: list(suite.games()) for suite in SUITES}


def _closest(game: str) -> str | None:
    names = all_games()
    by_case = {name.lower(): name for name in names}
    if game.lower() in by_case:
        return by_case[game.lower()]
    matches = difflib.get_close_matches(game, names, n=1, cutoff=0.75)
    return matches[0] if matches else None
