"""The one loop over N synchronous environments, with exact resume: what a
:class:`agents.contract.VectorAgent` trains in (:func:`agents.runner.train`) and what the
benchmarks time.

Built on gymnasium's :class:`~gymnasium.vector.SyncVectorEnv` with autoreset disabled: the loop
resets an environment itself when its episode ends, with that episode's own seed. Environment
``i``'s ``k``-th episode has the emulator seed ``seed_of(k * N + i)``, so every episode is a pure
function of the run seed and its actions, whatever the others do. Finished episodes are reported
in the order they end (environment order within a step), which is deterministic too.

A checkpoint records, per environment, its episode index, the actions of its unfinished episode,
their return and the observation reached (:meth:`VectorEpisodes.checkpoint_fields`). A resume
resets every environment with its episode's seed and replays its actions without the policy
through :func:`agents.rollout.replay_unfinished`, the serial loop's replay: the same episodes,
updates and weights as an uninterrupted run (``tests/test_vector_runner.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.contract import VectorStep
from agents.errors import RunFailed
from agents.rollout import Resume, obs_digest, replay_unfinished
from agents.rundir import make_run_env


def make_vector_env(run, config, num_envs: int) -> gym.vector.SyncVectorEnv:
    """``num_envs`` copies of the run's environment, stepped in lockstep, never auto-reset."""
    return gym.vector.SyncVectorEnv(
        [lambda: make_run_env(run, config) for _ in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.DISABLED,
    )


class VectorEpisodes:
    """The episodes of N synchronous environments, a step of all of them at a time.

    :attr:`obs` is what the next actions are taken from (N, ...); :meth:`step` takes them, resets
    the environments whose episode ended (with the next episode's seed) and returns the
    transition with the episodes it finished. The vector counterpart of
    :class:`agents.rollout.Episodes`.

    Args:
        envs: N environments (:func:`make_vector_env`).
        seed_of: episode index -> emulator seed; environment ``i``'s ``k``-th episode is index
            ``k * N + i`` (e.g. ``lambda i: episode_seed(seed, i)``).
        resume: per environment, the unfinished episode to continue (a checkpoint's
            :meth:`checkpoint_fields`, through :meth:`resumes`); None starts every environment at
            its first episode.
    """

    def __init__(
        self,
        envs: gym.vector.SyncVectorEnv,
        seed_of: Callable[[int], int],
        resume: Sequence[Resume] | None = None,
    ):
        self.envs, self.seed_of, self.n = envs, seed_of, envs.num_envs
        if resume is None:
            self.episodes = [0] * self.n
            self.actions: list[list[int]] = [[] for _ in range(self.n)]
            self.returns = [0.0] * self.n
            self.obs, _ = envs.reset(seed=[self._seed(i) for i in range(self.n)])
            return
        if len(resume) != self.n:
            raise RunFailed(f"the checkpoint has {len(resume)} environments, the config {self.n}")
        self.episodes = [r.episode for r in resume]
        self.actions = [[int(a) for a in r.actions] for r in resume]
        self.returns = [float(r.episode_return) for r in resume]
        obs, _ = envs.reset(seed=[self._seed(i) for i in range(self.n)])
        self.obs = obs.copy()
        for i, unfinished in enumerate(resume):
            what = f"environment {i}'s unfinished episode"
            self.obs[i] = replay_unfinished(envs.envs[i], self.obs[i], unfinished, what)

    def _seed(self, env: int) -> int:
        return self.seed_of(self.episodes[env] * self.n + env)

    def step(self, actions: np.ndarray) -> tuple[VectorStep, list[tuple[float, int]]]:
        """Take ``actions`` (N,) from :attr:`obs`: the transition (its ``next_obs`` the step's
        own, before any reset) and ``(raw return, length)`` of each episode it finished."""
        obs = self.obs
        next_obs, rewards, terminated, truncated, _ = self.envs.step(actions)
        transition = VectorStep(
            obs=obs,
            actions=actions,
            rewards=np.asarray(rewards, dtype=np.float64),
            next_obs=next_obs,
            terminated=np.asarray(terminated, dtype=bool),
            truncated=np.asarray(truncated, dtype=bool),
        )
        done = transition.done
        finished = []
        for i in range(self.n):
            self.actions[i].append(int(actions[i]))
            self.returns[i] += float(transition.rewards[i])
            if done[i]:
                finished.append((self.returns[i], len(self.actions[i])))
                self.episodes[i], self.actions[i], self.returns[i] = self.episodes[i] + 1, [], 0.0
        self.obs = next_obs
        if done.any():
            seeds = [self._seed(i) if done[i] else None for i in range(self.n)]
            fresh, _ = self.envs.reset(seed=seeds, options={"reset_mask": done})
            self.obs = np.where(done.reshape(-1, *[1] * (obs.ndim - 1)), fresh, next_obs)
        return transition, finished

    def checkpoint_fields(self) -> list[dict[str, Any]]:
        """Per environment, its unfinished episode, as a checkpoint's ``envs`` records it."""
        return [
            {
                "episode": self.episodes[i],
                "actions": torch.tensor(self.actions[i], dtype=torch.int64),
                "return": self.returns[i],
                "digest": obs_digest(self.obs[i]),
            }
            for i in range(self.n)
        ]

    @staticmethod
    def resumes(saved: Sequence[dict[str, Any]]) -> list[Resume]:
        """The unfinished episodes that :meth:`checkpoint_fields` recorded, to continue."""
        return [
            Resume(
                int(e["episode"]),
                [int(a) for a in e["actions"].tolist()],
                e["digest"],
                float(e["return"]),
            )
            for e in saved
        ]
