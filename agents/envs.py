"""Environments under the paper's protocol: Atari (DeepMind ``NoFrameskip-v4`` preprocessing), MinAtar.

Which games exist and which builder makes each is :mod:`agents.suites`' business; this module
holds the builders, and :func:`make_env` / :func:`check_game` are the suites' front door.

The pipeline is built from the field's standard wrappers rather than hand-written copies:

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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import ale_py
import gymnasium as gym
import numpy as np
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TransformObservation
from stable_baselines3.common.atari_wrappers import FireResetEnv

from agents.contract import EnvSpec  # re-exported: what env_spec returns

gym.register_envs(ale_py)

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
#: MinAtar (Young & Tian 2019): 10x10 versions of five Atari games, for CPU-scale learning checks.
MINATAR_GAMES = (
    "MinAtar-Breakout",
    "MinAtar-Freeway",
    "MinAtar-SpaceInvaders",
    "MinAtar-Seaquest",
    "MinAtar-Asterix",
)
#: The games named first in the unknown-game message; any other ALE game is valid too.
GAMES = (*ATARI_GAMES, *MINATAR_GAMES)
#: Every ALE game of the installed ale-py: its ROMs ship inside the wheel (no download), and
#: each has an ``ALE/<Game>-v5`` id. CamelCase names: ``Breakout``, ``MsPacman``, ``Pitfall2``.
ALE_GAMES = tuple(
    name.removeprefix("ALE/").removesuffix("-v5")
    for name in gym.registry
    if name.startswith("ALE/") and name.endswith("-v5")
)

GRAY_FRAME_SHAPE = (84, 84)


@contextmanager
def quiet_emulator() -> Iterator[None]:
    """Keep ALE's start-up banner (two lines on stderr) out of the block; warnings still show.

    For a check that makes an environment before it may refuse a run, whose refusal is one line.
    ALE cannot say its log level, so the block ends at the default one (Info); the next emulator
    made shows the banner as usual.
    """
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Warning)
    try:
        yield
    finally:
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Info)


def check_game(game: str) -> str:
    """Return ``game`` if some suite has it, else raise a one-line :class:`UsageError`."""
    from agents.suites import suite_of  # suites builds on this module

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
    from agents.suites import suite_of  # suites builds on this module

    return suite_of(game).make_env(
        game,
        color=color,
        frame_stack=frame_stack,
        frame_skip=frame_skip,
        noop_max=noop_max,
        render_mode=render_mode,
    )


def make_atari_env(
    game: str,
    *,
    color: bool = False,
    frame_stack: int = 4,
    frame_skip: int = 4,
    noop_max: int = 30,
    render_mode: str | None = None,
) -> gym.Env:
    """One ALE game under the paper's protocol (arguments as :func:`make_env`'s)."""
    env = gym.make(
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
        env = _channels_first(env, scale=1)
    return _stack(env, frame_stack)


def _channels_first(env: gym.Env, scale: int) -> gym.Env:
    """HWC frames -> CHW uint8 (times ``scale``), so that stacks concatenate along channels."""
    height, width, channels = env.observation_space.shape
    space = gym.spaces.Box(0, 255, (channels, height, width), np.uint8)

    def to_chw(obs: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(obs.transpose(2, 0, 1)).astype(np.uint8) * np.uint8(scale)

    return TransformObservation(env, to_chw, space)


def _stack(env: gym.Env, frame_stack: int) -> gym.Env:
    """Stack frames; multi-channel frames are merged into (frame_stack * C, H, W)."""
    frame_shape = env.observation_space.shape
    env = FrameStackObservation(env, frame_stack)
    if len(frame_shape) == 3:
        stacked = gym.spaces.Box(0, 255, (frame_stack * frame_shape[0], *frame_shape[1:]), np.uint8)
        env = TransformObservation(env, lambda o: o.reshape(stacked.shape), stacked)
    return env


def make_minatar_env(game: str, *, frame_stack: int = 4, **atari_only) -> gym.Env:
    """MinAtar with its standard settings (sticky actions 0.1, difficulty ramping), minimal actions.

    Observations are the game's binary channels as uint8 0/255, channel-first, so the networks'
    /255 scaling gives 0/1 as in MinAtar's own code. The Atari-only arguments of
    :func:`make_env` (``color``, ``frame_skip``, ``noop_max``, ``render_mode``) are ignored.
    """
    from minatar.gym import register_envs

    env_id = f"MinAtar/{game.removeprefix('MinAtar-')}-v1"
    if env_id not in gym.registry:
        register_envs()
    env = _ForgetLastActionOnReset(gym.make(env_id))
    return _stack(_channels_first(env, scale=255), frame_stack)


class _ForgetLastActionOnReset(gym.Wrapper):
    """Make each MinAtar episode a pure function of its seed and its actions.

    MinAtar's sticky actions repeat ``last_action`` with probability 0.1, and ``reset`` keeps it,
    so an episode's first step could repeat the previous episode's last action. A run resumed in
    a fresh process (``last_action`` = 0) would then diverge from the uninterrupted one. Resetting
    it to 0 (NOOP, its value in a new environment) at every reset removes that carry-over; a
    deviation from MinAtar listed in docs/fidelity.md.
    """

    def reset(self, **kwargs):
        self.env.unwrapped.game.last_action = 0
        return self.env.reset(**kwargs)


def env_spec(env: gym.Env, game: str, frame_stack: int) -> EnvSpec:
    """Describe ``env`` (as built by :func:`make_env`) for network construction and replay."""
    from agents.suites import suite_of  # suites builds on this module

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


_MINATAR_ACTIONS = ("NOOP", "LEFT", "UP", "RIGHT", "DOWN", "FIRE")  # MinAtar's full action order


def atari_action_meanings(env: gym.Env) -> tuple[str, ...]:
    """ALE's names of the minimal action set, in the agent's action order."""
    return tuple(env.unwrapped.get_action_meanings())


def minatar_action_meanings(env: gym.Env) -> tuple[str, ...]:
    """MinAtar's names of the game's minimal action set, in the agent's action order."""
    return tuple(_MINATAR_ACTIONS[i] for i in env.unwrapped.action_set)


def minatar_channel_names(env: gym.Env) -> tuple[str, ...]:
    """MinAtar's names of the state's object channels (``paddle``, ``ball``, ...), in channel order."""
    channels = env.unwrapped.game.env.channels  # name -> index
    return tuple(sorted(channels, key=channels.get))


def action_meanings(env: gym.Env) -> tuple[str, ...]:
    """Names of the actions, in the agent's action order, for Atari and MinAtar alike."""
    if hasattr(env.unwrapped, "get_action_meanings"):
        return atari_action_meanings(env)
    return minatar_action_meanings(env)
