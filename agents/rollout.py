"""The one loop that steps an environment: training, evaluation, baselines, analyses, benchmarks.

(N synchronous environments have the one vector loop, :mod:`agents.vector_runner`, which
resumes an unfinished episode through this module's :func:`replay_unfinished`.)

:func:`rollout` plays episodes with any policy and yields every step. Whoever consumes it decides
what a step is for: the runner stores it and learns, evaluation sums returns, the analyses
collect states. It resets the policy's per-episode state at each episode start, so a recurrent
agent works everywhere the loop is used.

Every episode's emulator seed is :func:`episode_seed` of (run seed, episode index, stream), so an
episode is a pure function of its seed and its actions. The seed streams keep the uses apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.errors import RunFailed

# Seed streams: one per use, so that no two uses ever replay each other's episodes.
TRAIN_STREAM = 0
EVAL_STREAM = 1
RANDOM_POLICY_STREAM = 2
STATES_STREAM = 3  # states collected for the interpretability figures
AGREEMENT_STREAM = 4
ADVERSARIAL_STREAM = 5
EVAL_PHASE_STREAM = 6  # the evaluation phases a training run interleaves (agents.runner)


def episode_seed(run_seed: int, episode: int, stream: int = TRAIN_STREAM) -> int:
    """Emulator seed of one episode: a pure function of the run seed and the episode index."""
    return int(np.random.SeedSequence([run_seed, stream, episode]).generate_state(1)[0])


def obs_digest(obs: np.ndarray) -> str:
    """A short hash of an observation, to check that a replayed episode reached the same state."""
    return hashlib.sha256(np.ascontiguousarray(obs).tobytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Step:
    """One environment step: (s, a, r, s') with the episode it belongs to.

    ``t`` counts the steps of the episode before this one (0 for its first step).
    """

    episode: int
    t: int
    obs: np.ndarray
    action: int
    reward: float
    next_obs: np.ndarray
    terminated: bool
    truncated: bool
    info: dict[str, Any]

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated


@dataclass(frozen=True)
class Resume:
    """The unfinished episode a loop continues: its actions so far and the state they reach.

    ``episode_return`` is the raw return of those actions, for a loop that logs returns itself
    (:class:`agents.vector_runner.VectorEpisodes`); :func:`rollout` does not use it.
    """

    episode: int
    actions: Sequence[int]
    digest: str
    episode_return: float = 0.0


def replay_unfinished(
    env, obs: np.ndarray, resume: Resume, what: str = "the unfinished episode"
) -> np.ndarray:
    """Replay ``resume``'s actions in ``env``, just reset with the episode's seed to ``obs``,
    without a policy, and return the observation they reach, which must be the one saved.

    Both loops resume through this (:class:`Episodes`, and the vector loop per environment), so
    an unfinished episode is continued, and checked, one way. ``what`` names the episode in the
    one-line :class:`RunFailed` raised when the replay ends it early or reaches another state.
    """
    for action in resume.actions:
        obs, _, terminated, truncated, _ = env.step(int(action))
        if terminated or truncated:
            raise RunFailed(f"replaying {what} ended it early")
    if obs_digest(obs) != resume.digest:
        raise RunFailed(
            f"replaying {what} did not reach the saved observation; "
            "the environment is not deterministic here"
        )
    return obs


class Episodes:
    """The episodes of one environment, a step at a time: :func:`rollout` without its policy.

    :meth:`observation` gives the observation the next action is taken from (resetting the
    environment at an episode's start), :meth:`step` takes that action. A loop that must see the
    observations of several environments before it picks their actions (one batched forward pass
    for several agents, :mod:`agents.lockstep`) drives it directly; everything else uses
    :func:`rollout`, which is this class with a policy. The arguments are :func:`rollout`'s.
    """

    def __init__(
        self,
        env,
        seed_of: Callable[[int], int],
        *,
        first_episode: int = 0,
        max_steps_per_episode: int | None = None,
        begin_episode: Callable[[np.ndarray], None] | None = None,
        after_step: Callable[[Step], None] | None = None,
        resume: Resume | None = None,
    ):
        self.env, self.seed_of = env, seed_of
        self.max_steps_per_episode = max_steps_per_episode
        self.begin_episode, self.after_step = begin_episode, after_step
        self.episode = resume.episode if resume is not None else first_episode
        self.t = 0  # steps of the current episode so far
        self.played = 0  # episodes finished
        self._obs: np.ndarray | None = None  # None: the next step starts an episode
        self._resume = resume

    def observation(self) -> np.ndarray:
        """The observation the next action is taken from.

        At an episode's start this resets the environment with the episode's seed and calls
        ``begin_episode``; a resumed episode is instead reset and its saved actions replayed
        without the policy (checking the observation they reach), once, on the first call.
        """
        if self._obs is not None:
            return self._obs
        obs, _ = self.env.reset(seed=self.seed_of(self.episode))
        self.t = 0
        resume, self._resume = self._resume, None
        if resume is None:
            if self.begin_episode is not None:
                self.begin_episode(obs)
        else:
            obs = replay_unfinished(self.env, obs, resume)
            self.t = len(resume.actions)
        self._obs = obs
        return obs

    def step(self, action: int) -> Step:
        """Take ``action`` from :meth:`observation`'s observation; the step it made."""
        obs = self.observation()
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        limit = self.max_steps_per_episode
        if limit is not None and self.t + 1 >= limit:
            truncated = True
        step = Step(
            self.episode,
            self.t,
            obs,
            action,
            float(reward),
            next_obs,
            bool(terminated),
            bool(truncated),
            info,
        )
        if self.after_step is not None:
            self.after_step(step)
        self._obs, self.t = next_obs, self.t + 1
        if step.done:
            self._obs, self.episode, self.played = None, self.episode + 1, self.played + 1
        return step


def rollout(
    env,
    act: Callable[[np.ndarray], int],
    seed_of: Callable[[int], int],
    *,
    first_episode: int = 0,
    episodes: int | None = None,
    max_steps_per_episode: int | None = None,
    begin_episode: Callable[[np.ndarray], None] | None = None,
    after_step: Callable[[Step], None] | None = None,
    resume: Resume | None = None,
) -> Iterator[Step]:
    """Play episodes ``first_episode, first_episode + 1, ...`` and yield every step.

    Args:
        env: a gymnasium environment.
        act: the policy, observation -> action. Called lazily, once per step the consumer asks
            for, so a consumer that stops early has drawn no action it did not use.
        seed_of: episode index -> emulator seed (e.g. ``lambda i: episode_seed(seed, i)``).
        episodes: how many episodes to play (None: until the consumer stops).
        max_steps_per_episode: cut an episode after this many steps (the last step is then
            yielded with ``truncated=True``).
        begin_episode: called with the first observation of each episode (not of a resumed one):
            where a recurrent agent resets its state.
        after_step: called with every step the policy chose (not with replayed ones), before it
            is yielded: where a recurrent agent takes in the reward its action earned.
        resume: continue an unfinished episode: reset with its seed, replay its actions without
            calling the policy, check the observation reached, then go on from there.
    """
    stepper = Episodes(
        env,
        seed_of,
        first_episode=first_episode,
        max_steps_per_episode=max_steps_per_episode,
        begin_episode=begin_episode,
        after_step=after_step,
        resume=resume,
    )
    while episodes is None or stepper.played < episodes:
        yield stepper.step(act(stepper.observation()))


def evaluation_phase(
    env,
    act_eval: Callable[[np.ndarray, np.random.Generator], int],
    run_seed: int,
    phase: int,
    episodes: int,
    max_steps_per_episode: int,
    *,
    begin_episode: Callable[[np.ndarray], None] | None = None,
    after_step: Callable[[Step], None] | None = None,
) -> list[tuple[int, float, int]]:
    """Play one evaluation phase of a training run: ``(episode, raw return, length)`` each.

    Every phase plays the same ``episodes`` emulator seeds (common random numbers: phases differ
    only by the agent's weights), drawn from their own stream so that they never replay a
    training episode, and the evaluation policy's random draws come from a generator of (run
    seed, phase). The torch RNG is restored afterwards, so a phase leaves the training run
    exactly as it found it (a VAE's sampling, say, draws from torch).
    """
    rng = np.random.default_rng([run_seed, EVAL_PHASE_STREAM, phase])
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        steps = rollout(
            env,
            lambda obs: act_eval(obs, rng),
            lambda index: episode_seed(run_seed, index, EVAL_PHASE_STREAM),
            episodes=episodes,
            max_steps_per_episode=max_steps_per_episode,
            begin_episode=begin_episode,
            after_step=after_step,
        )
        return list(episode_returns(steps))


def episode_returns(steps: Iterator[Step]) -> Iterator[tuple[int, float, int]]:
    """(episode, raw return, length) of each episode a rollout finishes."""
    total, length = 0.0, 0
    for step in steps:
        total += step.reward
        length += 1
        if step.done:
            yield step.episode, total, length
            total, length = 0.0, 0
