"""Suites: the families of games this package can train on, each one record, and all that is
specific to one of them.

A :class:`Suite` knows its games, how to make one of its environments under the paper's protocol,
the names of its actions, the conv torso its frames want (and the attention agent's), and what a
run's config must satisfy on it. Everything that lists or checks games (the CLI, the pipeline's
config check and wildcards, :mod:`agents.envs`) asks the suites instead of keeping its own list;
adding a suite is one record here (with its environment builder) and one preset per agent.

* :data:`ATARI`: any game of the installed ale-py (its ROMs ship inside the wheel), by its
  CamelCase ALE name (``Breakout``, ``MsPacman``); the paper's eight games are the default list.
* :data:`MINATAR`: the five MinAtar games (``MinAtar-Breakout``, ...), 10x10 grids.

Game names are unique across suites, so a name alone says which suite it belongs to
(:func:`suite_of`).

The Atari protocol is built from the field's standard wrappers rather than hand-written copies:

* ``ALE/<Game>-v5`` with ``frameskip=1`` and ``repeat_action_probability=0`` (the
  ``NoFrameskip-v4`` emulator settings the paper used) and the minimal action set;
* gymnasium's :class:`~gymnasium.wrappers.AtariPreprocessing`: up to 30 no-op starts, action
  repeat 4 with a max over the last two frames, 84x84 grayscale (INTER_AREA), no end-of-life
  episodes;
* stable-baselines3's :class:`~stable_baselines3.common.atari_wrappers.FireResetEnv` for games
  with a FIRE action, as in DeepMind's ``wrap_deepmind``;
* gymnasium's :class:`~gymnasium.wrappers.FrameStackObservation`: 4 frames, padded at reset with
  copies of the first frame.

Rewards are returned raw. Clipping is the learner's business (the runner clips what it stores in
the replay when the agent's config asks for it), so the recorded episode return is always the
unclipped game score.

The catalogue (which games, which suite, which preset, the protocol checks) imports nothing
heavy: gymnasium, ale-py, stable-baselines3 and torch are imported inside the functions that build
environments and torsos, so that the workflow checks its config and lists games without them.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.errors import UsageError

if TYPE_CHECKING:
    import gymnasium as gym
    from torch import nn

    from agents.networks import ConvLayers

#: Where the full list of valid names is shown (the unknown-game message points there).
LIST_COMMAND = "python -m agents list"


@dataclass(frozen=True)
class Suite:
    """One family of games.

    Attributes:
        name: short name (``"atari"``, ``"minatar"``), the key of :func:`describe_games` and what
            the attention agent's ``torso`` key names.
        default_games: the games a run of the whole suite means (Atari: the paper's eight).
        named_games: the games the unknown-game message names, listed first (Atari: the paper's
            eight and Pong; :data:`GAMES` is every suite's).
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
    named_games: tuple[str, ...]
    torso: ConvLayers
    preset: str
    _games: Callable[[], tuple[str, ...]] = field(repr=False)
    _make_env: Callable[..., gym.Env] = field(repr=False)
    _action_meanings: Callable[[gym.Env], tuple[str, ...]] = field(repr=False)
    saliency: dict[str, float] = field(default_factory=dict)
    object_channels: bool = False
    _channel_names: Callable[[gym.Env], tuple[str, ...]] = field(default=lambda env: (), repr=False)
    _check_config: Callable[[Any], None] = field(default=lambda config: None, repr=False)
    _attention_torso: Callable[[int], nn.Module] | None = field(default=None, repr=False)

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

    def check_config(self, config: Any) -> None:
        """Refuse, with a one-line :class:`UsageError`, a run config this suite's protocol cannot
        run (MinAtar: colour frames, an action repeat). Called before anything is written."""
        self._check_config(config)

    def attention_torso(self, channels: int) -> nn.Module:
        """The attention agent's conv torso for ``channels`` input channels of this suite's
        frames: (B, C, H, W) in [0, 1] -> (B, C', h, w), every output cell a location."""
        if self._attention_torso is None:
            raise UsageError(f"the attention agent has no torso for the {self.name} suite")
        return self._attention_torso(channels)


# --- Atari ----------------------------------------------------------------------------------

#: The eight games of the paper's Table 1, plus Pong, which its ablations (Fig. 9) use.
PAPER_GAMES = (
    "Alien",
    "Freeway",
    "Frostbite",
    "Gravitar",
    "MsPacman",
    "Qbert",
    "SpaceInvaders",
    "Venture",
)
ATARI_GAMES = (*PAPER_GAMES, "Pong")
#: ROMs ale-py ships without a single-player game, so without an ``ALE/<Game>-v5`` id.
_MULTIPLAYER_ROMS = frozenset({"combat", "joust", "maze_craze", "warlords"})
#: Mnih et al. 2015; Table 3 of i-DQN: (out_channels, kernel, stride) per conv layer.
NATURE_CONVS: ConvLayers = ((32, 8, 4), (64, 4, 2), (64, 3, 1))


@functools.cache
def ale_games() -> tuple[str, ...]:
    """Every ALE game of the installed ale-py, each with an ``ALE/<Game>-v5`` id (its ROMs ship
    inside the wheel: no download). CamelCase names: ``Breakout``, ``MsPacman``, ``Pitfall2``.

    Read from the wheel's ROM list (``ale_py/roms/md5.json``) and named as ale-py's registration
    names them, without importing ale-py (which imports gymnasium); where that list is not there,
    from gymnasium's registry. ``tests/test_envs.py`` checks the two agree.
    """
    spec = importlib.util.find_spec("ale_py")  # finds the package without running it
    listing = Path(spec.submodule_search_locations[0]) / "roms" / "md5.json" if spec else None
    if listing is None or not listing.is_file():
        return registered_ale_games()
    roms = (name.removesuffix(".bin") for name in json.loads(listing.read_text()))
    return tuple(
        rom.title().replace("_", "") for rom in roms if rom not in _MULTIPLAYER_ROMS
    )  # ale_py.registration.rom_id_to_name


def registered_ale_games() -> tuple[str, ...]:
    """The ALE games as gymnasium's registry has them, once ale-py has registered its ids."""
    gym = _gymnasium()
    return tuple(
        name.removeprefix("ALE/").removesuffix("-v5")
        for name in gym.registry
        if name.startswith("ALE/") and name.endswith("-v5")
    )


@functools.cache
def _gymnasium():
    """gymnasium, with ale-py's ``ALE/...`` ids registered (imported on first use: heavy)."""
    import ale_py
    import gymnasium as gym

    gym.register_envs(ale_py)
    return gym


@contextmanager
def quiet_emulator() -> Iterator[None]:
    """Keep ALE's start-up banner (two lines on stderr) out of the block; warnings still show.

    For a check that makes an environment before it may refuse a run, whose refusal is one line.
    ALE cannot say its log level, so the block ends at the default one (Info); the next emulator
    made shows the banner as usual.
    """
    import ale_py

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Warning)
    try:
        yield
    finally:
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Info)


def make_atari_env(
    game: str,
    *,
    color: bool = False,
    frame_stack: int = 4,
    frame_skip: int = 4,
    noop_max: int = 30,
    render_mode: str | None = None,
) -> gym.Env:
    """One ALE game under the paper's protocol (arguments as :func:`agents.envs.make_env`'s)."""
    from gymnasium.wrappers import AtariPreprocessing
    from stable_baselines3.common.atari_wrappers import FireResetEnv

    env = _gymnasium().make(
        f"ALE/{game}-v5",
        frameskip=1,
        repeat_action_probability=0.0,
        full_action_space=False,
        render_mode=render_mode,
    )
    env = AtariPreprocessing(
        env,
        noop_max=noop_max,
        frame_skip=frame_skip,
        screen_size=(160, 210) if color else 84,
        terminal_on_life_loss=False,
        grayscale_obs=not color,
    )
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = FireResetEnv(env)
    if color:
        env = channels_first(env, scale=1)
    return stack_frames(env, frame_stack)


def atari_action_meanings(env: gym.Env) -> tuple[str, ...]:
    """ALE's names of the minimal action set, in the agent's action order."""
    return tuple(env.unwrapped.get_action_meanings())


def _atari_attention_torso(channels: int) -> nn.Module:
    from torch import nn

    # 84 x 84 pixels: Mott et al.'s two strided convolutions.
    return nn.Sequential(
        nn.Conv2d(channels, 32, 8, stride=4), nn.ReLU(), nn.Conv2d(32, 64, 4, stride=2)
    )


# --- MinAtar ------------------------------------------------------------------------------

#: MinAtar (Young & Tian 2019): 10x10 versions of five Atari games, for CPU-scale learning checks.
MINATAR_GAMES = (
    "MinAtar-Breakout",
    "MinAtar-Freeway",
    "MinAtar-SpaceInvaders",
    "MinAtar-Seaquest",
    "MinAtar-Asterix",
)
#: Young & Tian 2019, for 10x10 MinAtar grids: one 3x3 conv of 16 channels.
MINATAR_CONVS: ConvLayers = ((16, 3, 1),)
_MINATAR_ACTIONS = ("NOOP", "LEFT", "UP", "RIGHT", "DOWN", "FIRE")  # MinAtar's full action order


def make_minatar_env(game: str, *, frame_stack: int = 4, **atari_only) -> gym.Env:
    """MinAtar with its standard settings (sticky actions 0.1, difficulty ramping), minimal actions.

    Observations are the game's binary channels as uint8 0/255, channel-first, so the networks'
    /255 scaling gives 0/1 as in MinAtar's own code. The Atari-only arguments of
    :func:`agents.envs.make_env` (``color``, ``frame_skip``, ``noop_max``, ``render_mode``) are
    ignored.
    """
    import gymnasium as gym
    from minatar.gym import register_envs

    env_id = f"MinAtar/{game.removeprefix('MinAtar-')}-v1"
    if env_id not in gym.registry:
        register_envs()
    env = _forget_last_action_on_reset()(gym.make(env_id))
    return stack_frames(channels_first(env, scale=255), frame_stack)


@functools.cache
def _forget_last_action_on_reset() -> type[gym.Wrapper]:
    """The wrapper class (made on first use: gymnasium is heavy) that makes each MinAtar episode
    a pure function of its seed and its actions.

    MinAtar's sticky actions repeat ``last_action`` with probability 0.1, and ``reset`` keeps it,
    so an episode's first step could repeat the previous episode's last action. A run resumed in
    a fresh process (``last_action`` = 0) would then diverge from the uninterrupted one. Resetting
    it to 0 (NOOP, its value in a new environment) at every reset removes that carry-over; a
    deviation from MinAtar listed in docs/fidelity.md.
    """
    import gymnasium as gym

    class ForgetLastActionOnReset(gym.Wrapper):
        def reset(self, **kwargs):
            self.env.unwrapped.game.last_action = 0
            return self.env.reset(**kwargs)

    return ForgetLastActionOnReset


def minatar_action_meanings(env: gym.Env) -> tuple[str, ...]:
    """MinAtar's names of the game's minimal action set, in the agent's action order."""
    return tuple(_MINATAR_ACTIONS[i] for i in env.unwrapped.action_set)


def minatar_channel_names(env: gym.Env) -> tuple[str, ...]:
    """MinAtar's names of the state's object channels (``paddle``, ``ball``, ...), in channel order."""
    channels = env.unwrapped.game.env.channels  # name -> index
    return tuple(sorted(channels, key=channels.get))


def _check_minatar_config(config: Any) -> None:
    if config.color:
        raise UsageError("MinAtar has no colour frames: color=true is for Atari games")
    if config.frame_skip != 1:
        raise UsageError(
            f"MinAtar has no action repeat, so frame_skip must be 1 (got {config.frame_skip}); "
            "use --preset minatar"
        )


def _minatar_attention_torso(channels: int) -> nn.Module:
    from torch import nn

    # 10 x 10 object channels: one padded 3x3 conv keeps every cell as a location.
    return nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU())


# --- Shared wrappers ------------------------------------------------------------------------


def channels_first(env: gym.Env, scale: int) -> gym.Env:
    """HWC frames -> CHW uint8 (times ``scale``), so that stacks concatenate along channels."""
    import gymnasium as gym
    import numpy as np
    from gymnasium.wrappers import TransformObservation

    height, width, channels = env.observation_space.shape
    space = gym.spaces.Box(0, 255, (channels, height, width), np.uint8)

    def to_chw(obs: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(obs.transpose(2, 0, 1)).astype(np.uint8) * np.uint8(scale)

    return TransformObservation(env, to_chw, space)


def stack_frames(env: gym.Env, frame_stack: int) -> gym.Env:
    """Stack frames; multi-channel frames are merged into (frame_stack * C, H, W)."""
    import gymnasium as gym
    import numpy as np
    from gymnasium.wrappers import FrameStackObservation, TransformObservation

    frame_shape = env.observation_space.shape
    env = FrameStackObservation(env, frame_stack)
    if len(frame_shape) == 3:
        stacked = gym.spaces.Box(0, 255, (frame_stack * frame_shape[0], *frame_shape[1:]), np.uint8)
        env = TransformObservation(env, lambda o: o.reshape(stacked.shape), stacked)
    return env


# --- The suites -----------------------------------------------------------------------------


def _atari_games() -> tuple[str, ...]:
    # The paper's games and Pong first, in the order the CLI has always listed them.
    return (*ATARI_GAMES, *(g for g in ale_games() if g not in ATARI_GAMES))


ATARI = Suite(
    name="atari",
    default_games=PAPER_GAMES,
    named_games=ATARI_GAMES,
    torso=NATURE_CONVS,
    preset="paper",
    _games=_atari_games,
    _make_env=make_atari_env,
    _action_meanings=atari_action_meanings,
    # The authors' notebooks: a Gaussian mask of sigma 3 px every 3 px, blur sigma 5 px.
    saliency={"stride": 3, "mask_sigma": 3.0, "blur_sigma": 5.0},
    _attention_torso=_atari_attention_torso,
)

MINATAR = Suite(
    name="minatar",
    default_games=MINATAR_GAMES,
    named_games=MINATAR_GAMES,
    torso=MINATAR_CONVS,
    preset="minatar",
    _games=lambda: MINATAR_GAMES,
    _make_env=make_minatar_env,
    _action_meanings=minatar_action_meanings,
    # A documented decision (docs/interpretability.md): one MinAtar cell is the smallest object,
    # so the mask is one cell wide and placed on every cell, and the blur spreads it over about
    # its neighbours; the Atari settings scaled by 10/84 would fall below a cell.
    saliency={"stride": 1, "mask_sigma": 1.0, "blur_sigma": 1.0},
    object_channels=True,
    _channel_names=minatar_channel_names,
    _check_config=_check_minatar_config,
    _attention_torso=_minatar_attention_torso,
)

#: Every suite, in listing order. A list, not a tuple, so that a test can register a toy suite.
SUITES: list[Suite] = [ATARI, MINATAR]


def named_games() -> tuple[str, ...]:
    """The games the unknown-game message names: every suite's :attr:`Suite.named_games`."""
    return tuple(game for suite in SUITES for game in suite.named_games)


def suite_of(game: str) -> Suite:
    """The suite ``game`` belongs to, or a one-line :class:`UsageError` saying where to look.

    The message lists the paper's games, Pong and the MinAtar games, then points to
    ``python -m agents list`` for the other ALE games (over a hundred), and suggests the closest
    valid name when there is one (``breakout`` -> ``Breakout``).
    """
    for suite in SUITES:
        if suite.matches(game):
            return suite
    named = ", ".join(named_games())
    message = (
        f"unknown game {game!r}; valid games: {named} and any other ALE game "
        f"(`{LIST_COMMAND}` shows all {len(all_games())} names)"
    )
    suggestion = _closest(str(game))
    if suggestion:
        message += f"; did you mean {suggestion!r}?"
    raise UsageError(message)


def suite_named(name: str) -> Suite:
    """The suite called ``name`` (``atari``, ``minatar``), or a one-line :class:`UsageError`."""
    for suite in SUITES:
        if suite.name == name:
            return suite
    valid = ", ".join(suite.name for suite in SUITES)
    raise UsageError(f"unknown suite {name!r}; valid: {valid}")


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
