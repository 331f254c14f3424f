"""A peer baseline: stable-baselines3's DQN on this suite's environments and settings.

    python -m agents peer sb3-dqn --game MinAtar-Breakout --seed 0 --frames 300000 --out DIR

Why: published MinAtar DQN results exist only as plots, so our DDQN is also checked against a
well-kept implementation run side by side: the same environment (:func:`agents.envs.make_env`,
MinAtar's sticky actions included), the same seeds and budget, and the settings of our DDQN's
preset that SB3 can express: replay size, warm-up, batch, update every ``train_freq`` steps,
target sync, Adam (learning rate, eps), gradient-norm clip, discount, the linear epsilon
schedule, sign-clipped rewards, Huber loss, and a network equal to our DDQN's (the conv torso of
the suite, then ``hidden_dim`` units, then one Q-value per action).

What differs, by SB3's design: its target is DQN's max over the target network, not Double DQN's;
its layers keep PyTorch's default initialisation (ours: Xavier); it acts at random during the
warm-up (ours: epsilon-greedy from step 0); it cannot resume a killed run, so a run restarts
from scratch. The run directory holds what the reports read, in our format: ``config.yaml``,
``episodes.csv`` (undiscounted, unclipped returns), ``summary.json`` written last, atomically.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.config import DDQNConfig, build_config
from agents.envs import make_env
from agents.errors import UsageError
from agents.files import atomic_write_csv, atomic_write_json, atomic_write_yaml
from agents.networks import ConvLayers, conv_torso
from agents.rundir import EPISODE_HEADER, EVAL_PHASE_HEADER, invocation_record
from agents.stats import best_and_final, final_evaluation, step_window_mean
from agents.suites import suite_of

NAME = "sb3-dqn"
LABEL = "SB3 DQN"


class _EpisodeLog(gym.Wrapper):
    """Records each finished episode's unclipped return, length and the step it ended at."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.rows: list[tuple[int, int, float, int, float]] = []
        self.steps, self._return, self._length = 0, 0.0, 0
        self.start_clock()

    def start_clock(self) -> None:
        """Count ``seconds`` from now: call it when training starts, after the model is built."""
        self._start = time.perf_counter()

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            seconds = round(time.perf_counter() - self._start, 1)
            self.rows.append((self.steps, len(self.rows), self._return, self._length, seconds))
            self._return, self._length = 0.0, 0
        return obs, reward, terminated, truncated, info


def _torso_extractor():
    """SB3's feature extractor class for our conv torso (imported lazily: SB3 is heavy)."""
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class SuiteTorso(BaseFeaturesExtractor):
        """The suite's conv torso for the observation shape (MinAtar: 16 3x3 filters)."""

        def __init__(self, observation_space: gym.spaces.Box, layers: ConvLayers):
            trunk = conv_torso(tuple(observation_space.shape), layers=layers)
            with torch.no_grad():
                size = trunk(torch.zeros(1, *observation_space.shape)).shape[1]
            super().__init__(observation_space, features_dim=size)
            self.trunk = trunk

        def forward(self, observations: torch.Tensor) -> torch.Tensor:
            return self.trunk(observations)

    return SuiteTorso


def _evaluation_phases(config: DDQNConfig, game: str, seed: int, rows: list):
    """SB3 callback that plays this suite's evaluation phases (:func:`agents.rollout.evaluation_phase`)
    every ``eval_every_steps`` steps, on the same episode seeds as our agents' phases, acting
    greedily with ``eval_epsilon``; it appends ``(frame, episode, return, length)`` to ``rows``."""
    from stable_baselines3.common.callbacks import BaseCallback

    from agents.rollout import evaluation_phase

    class EvaluationPhases(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.env = make_env(game, frame_stack=config.frame_stack, color=config.color)

        def act_eval(self, obs: np.ndarray, rng: np.random.Generator) -> int:
            if rng.random() < config.eval_epsilon:
                return int(rng.integers(self.env.action_space.n))
            action, _ = self.model.predict(obs, deterministic=True)
            return int(action)

        def _on_step(self) -> bool:
            step = self.num_timesteps
            if step % config.eval_every_steps == 0:
                phase = step // config.eval_every_steps
                played = evaluation_phase(
                    self.env,
                    self.act_eval,
                    seed,
                    phase,
                    config.eval_episodes,
                    config.eval_max_steps,
                )
                rows.extend((step, episode, total, length) for episode, total, length in played)
            return True

        def _on_training_end(self) -> None:
            self.env.close()

    return EvaluationPhases()


def settings(game: str, overrides: dict[str, Any] | None = None) -> DDQNConfig:
    """Our DDQN's preset for ``game``'s suite (``minatar`` or ``paper``), the peer's settings."""
    return build_config(DDQNConfig, "ddqn", suite_of(game).preset, overrides or {})


def train_peer(
    game: str,
    seed: int,
    frames: int,
    out: Path,
    overrides: dict[str, Any] | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Train SB3's DQN for ``frames`` agent steps; write the run directory; return the summary."""
    from stable_baselines3 import DQN

    out = Path(out)
    if (out / "summary.json").exists():
        raise UsageError(f"{out} already holds a finished run; remove it to train again")
    config = settings(game, overrides)
    if config.frame_skip != 1:
        raise UsageError("the SB3 peer counts agent steps; it supports frame_skip 1 (MinAtar)")
    env = make_env(game, frame_stack=config.frame_stack, color=config.color)
    logged = _EpisodeLog(env)
    trained_on: gym.Env = logged
    if config.clip_rewards:
        trained_on = gym.wrappers.TransformReward(logged, lambda r: float(np.sign(r)))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = DQN(
        "CnnPolicy",
        trained_on,
        learning_rate=config.lr,
        buffer_size=config.replay_capacity,
        learning_starts=config.learning_starts,
        batch_size=config.batch_size,
        gamma=config.gamma,
        train_freq=config.train_freq,
        gradient_steps=1,
        target_update_interval=config.target_sync_steps,
        exploration_fraction=min(1.0, config.eps_decay_steps / frames),
        exploration_initial_eps=config.eps_start,
        exploration_final_eps=config.eps_end,
        max_grad_norm=config.grad_clip_norm,
        policy_kwargs={
            "features_extractor_class": _torso_extractor(),
            "features_extractor_kwargs": {"layers": suite_of(game).torso},
            "net_arch": [config.hidden_dim],
            "optimizer_kwargs": {"eps": config.adam_eps},
        },
        seed=seed,
        device=device,
        verbose=0,
    )
    # SB3's DQN loss is Huber (smooth L1), as our preset's `loss: huber`.
    if config.loss != "huber":
        raise UsageError("the SB3 peer's loss is Huber; the preset asks for " + config.loss)
    start = time.perf_counter()
    logged.start_clock()
    eval_rows: list[tuple[int, int, float, int]] = []
    callback = (
        _evaluation_phases(config, game, seed, eval_rows) if config.eval_every_steps else None
    )
    model.learn(total_timesteps=frames, progress_bar=False, callback=callback)
    seconds = round(time.perf_counter() - start, 1)
    env.close()
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "run": {"agent": NAME, "game": game, "seed": seed, "frames": frames},
        "config": config.model_dump(mode="json"),
        "sb3": {"policy": "CnnPolicy + suite torso", "net_arch": [config.hidden_dim]},
    }
    atomic_write_yaml(out / "config.yaml", document)
    # Provenance as our runs record it (commit, CPU model, versions): the confirmatory study
    # checks every run's commit (tests/test_preregistration.py).
    record = invocation_record(torch.device(device), None)
    atomic_write_json(out / "meta.json", {"invocations": [record]})
    atomic_write_csv(out / "episodes.csv", EPISODE_HEADER, logged.rows)
    best, final = best_and_final(np.array([row[2] for row in logged.rows]))
    evaluation = {}
    if config.eval_every_steps:
        atomic_write_csv(out / "evals.csv", EVAL_PHASE_HEADER, eval_rows)
        eval_frame, eval_return = final_evaluation(
            [r[0] for r in eval_rows], [r[2] for r in eval_rows]
        )
        evaluation = {
            "eval_phases": len({r[0] for r in eval_rows}),
            "final_eval_frame": eval_frame,
            "final_eval_return": eval_return,
            "return_last_10pct_steps": step_window_mean(
                [r[0] for r in logged.rows], [r[2] for r in logged.rows], logged.steps
            ),
        }
    summary = {
        "agent": NAME,
        "game": game,
        "seed": seed,
        "frames": frames,
        "agent_steps": logged.steps,
        "episodes": len(logged.rows),
        "train_seconds": seconds,
        "final_return_100": None if final is None else round(float(final), 2),
        "best_return_100": None if best is None else round(float(best), 2),
        "parameters": sum(p.numel() for p in model.q_net.parameters()),
        **evaluation,
    }
    atomic_write_json(out / "summary.json", summary)
    return summary
