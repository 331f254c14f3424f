"""The one loop that steps an environment: training, evaluation, baselines, analyses, benchmarks.

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
    """The unfinished episode a rollout continues: its actions so far and the state they reach."""

    episode: int
    actions: Sequence[int]
    digest: str


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
    episode, t, obs = first_episode, 0, None
    replaying: list[int] = []  # a resumed episode's actions, stepped again without the policy
    if resume is not None:
        episode = resume.episode
        obs, _ = env.reset(seed=seed_of(episode))
        replaying = [int(a) for a in resume.actions]
        _check_resumed(obs, resume, replaying)
    played = 0
    while episodes is None or played < episodes:
        if obs is None:
            obs, _ = env.reset(seed=seed_of(episode))
            t = 0
            if begin_episode is not None:
                begin_episode(obs)
        action = replaying.pop(0) if replaying else act(obs)
        next_obs, reward, terminated, truncated, info = env.step(action)
        if resume is not None and t < len(resume.actions):
            obs, t = next_obs, t + 1
            _check_resumed(obs, resume, replaying)
            continue
        if max_steps_per_episode is not None and t + 1 >= max_steps_per_episode:
            truncated = True
        step = Step(
            episode,
            t,
            obs,
            action,
            float(reward),
            next_obs,
            bool(terminated),
            bool(truncated),
            info,
        )
        if after_step is not None:
            after_step(step)
        yield step
        obs, t = next_obs, t + 1
        if terminated or truncated:
            obs, episode, played = None, episode + 1, played + 1
            resume = None


def _check_resumed(obs: np.ndarray, resume: Resume, still_to_replay: list[int]) -> None:
    """Once every saved action is replayed, the observation must be the one saved."""
    if not still_to_replay and obs_digest(obs) != resume.digest:
        raise RunFailed(
            "replaying the unfinished episode did not reach the saved observation; "
            "the environment is not deterministic here"
        )


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
