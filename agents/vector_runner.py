"""The training loop of a :class:`agents.contract.VectorAgent`: N synchronous environments.

Built on gymnasium's :class:`~gymnasium.vector.SyncVectorEnv` with autoreset disabled: the loop
resets an environment itself when its episode ends, with that episode's own seed. Environment
``i``'s ``k``-th episode has the emulator seed ``episode_seed(run seed, k * N + i)``, so every
episode is a pure function of the run seed and its actions, whatever the others do. Episodes are
logged in the order they end (environment order within a step), which is deterministic too.

Checkpoints are taken after a learning update (an unroll's end) once ``checkpoint_every_steps``
steps have passed, and at the budget's end. Each records, per environment, its episode index and
the actions of its unfinished episode; the agent's memory (recurrent state, a partial unroll)
rides in the checkpoint's ``replay`` slot. A resume resets every environment with its episode's
seed, replays its actions without the policy, checks the observation reached, and goes on: the
same episodes, updates and weights as an uninterrupted run (``tests/test_vector_runner.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch

from agents.contract import VectorAgent, VectorStep
from agents.errors import RunFailed
from agents.rollout import TRAIN_STREAM, episode_seed, obs_digest
from agents.rundir import make_run_env

if TYPE_CHECKING:
    from agents.runner import Session


def make_vector_env(run, config, num_envs: int) -> gym.vector.SyncVectorEnv:
    """``num_envs`` copies of the run's environment, stepped in lockstep, never auto-reset."""
    return gym.vector.SyncVectorEnv(
        [lambda: make_run_env(run, config) for _ in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.DISABLED,
    )


def train_vector(session: Session, checkpoint: dict[str, Any] | None) -> None:
    """Run ``session``'s vector agent to the budget: act, step, observe, log, reset, checkpoint."""
    agent: VectorAgent = session.agent  # type: ignore[assignment]
    run, rng, n = session.run, session.rng, agent.num_envs

    def seed_of(env: int, episode: int) -> int:
        return episode_seed(run.seed, episode * n + env, TRAIN_STREAM)

    envs = make_vector_env(run, session.config, n)
    try:
        saved = checkpoint.get("envs") if checkpoint is not None else None
        if saved is not None:
            if len(saved) != n:
                raise RunFailed(f"the checkpoint has {len(saved)} environments, the config {n}")
            episodes = [int(e["episode"]) for e in saved]
            actions = [[int(a) for a in e["actions"].tolist()] for e in saved]
            returns = [float(e["return"]) for e in saved]
            obs = _replay(envs, [seed_of(i, k) for i, k in enumerate(episodes)], actions, saved)
        else:
            episodes, actions, returns = [0] * n, [[] for _ in range(n)], [0.0] * n
            obs, _ = envs.reset(seed=[seed_of(i, 0) for i in range(n)])

        def save_checkpoint() -> None:
            session.save_checkpoint(
                {
                    "episode_actions": None,
                    "envs": [
                        {
                            "episode": episodes[i],
                            "actions": torch.tensor(actions[i], dtype=torch.int64),
                            "return": returns[i],
                            "digest": obs_digest(obs[i]),
                        }
                        for i in range(n)
                    ],
                }
            )

        while session.step < session.total_steps:
            chosen = agent.act_vector(obs, session.step, rng)  # (N,)
            next_obs, rewards, terminated, truncated, _ = envs.step(chosen)
            session.step += n
            transition = VectorStep(
                obs=obs,
                actions=chosen,
                rewards=np.asarray(rewards, dtype=np.float64),
                next_obs=next_obs,
                terminated=np.asarray(terminated, dtype=bool),
                truncated=np.asarray(truncated, dtype=bool),
            )
            stats = agent.observe_vector(transition, session.step, rng)
            if stats is not None:
                session.log_update(stats)
            done = transition.done
            for i in range(n):
                actions[i].append(int(chosen[i]))
                returns[i] += float(transition.rewards[i])
                if done[i]:
                    session.log_episode(returns[i], len(actions[i]))
                    episodes[i], actions[i], returns[i] = episodes[i] + 1, [], 0.0
            obs = next_obs
            if done.any():
                seeds = [seed_of(i, episodes[i]) if done[i] else None for i in range(n)]
                fresh, _ = envs.reset(seed=seeds, options={"reset_mask": done})
                obs = np.where(done.reshape(-1, *[1] * (obs.ndim - 1)), fresh, next_obs)
            session.bar.update(n)
            session.evaluate_if_due()
            if stats is not None and session.checkpoint_due():
                save_checkpoint()
        save_checkpoint()
    finally:
        envs.close()


def _replay(
    envs: gym.vector.SyncVectorEnv,
    seeds: list[int],
    actions: list[list[int]],
    saved: list[dict[str, Any]],
) -> np.ndarray:
    """Reset every environment with its episode's seed, replay its saved actions, and check that
    each reaches the observation the checkpoint recorded. Returns the observations (N, ...)."""
    obs, _ = envs.reset(seed=seeds)
    obs = obs.copy()
    for i, (env, replayed) in enumerate(zip(envs.envs, actions, strict=True)):
        for action in replayed:
            obs[i], _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                raise RunFailed(f"replaying environment {i}'s unfinished episode ended it early")
        if obs_digest(obs[i]) != saved[i]["digest"]:
            raise RunFailed(
                f"replaying environment {i}'s unfinished episode did not reach the saved "
                "observation; the environment is not deterministic here"
            )
    return obs
