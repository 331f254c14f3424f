"""The attention agent's figures: the traced episode is the evaluation policy's, saliency is read
from the memory of its moment, and the strip and GIF are written from a trained run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from agents.attention_agent import AttentionAgent, AttentionConfig
from agents.config import build_config
from agents.envs import env_spec, make_env
from agents.interpret.attention_maps import saliency_at, trace_episode
from agents.interpret.saliency import perturbation_saliency

SMALL = {"core_channels": 8, "value_channels": 8, "policy_hidden": 32, "answer_hidden": 32}
IDQN_RUN = Path("results/minatar/runs/idqn/MinAtar-Breakout/s0")  # committed


def _agent_and_env():
    env = make_env("MinAtar-Breakout", frame_stack=1, frame_skip=1)
    torch.manual_seed(0)
    config = build_config(AttentionConfig, "attention", "minatar", SMALL)
    return AttentionAgent(config, env_spec(env, "MinAtar-Breakout", 1), torch.device("cpu")), env


def test_the_trace_holds_each_step_and_maps_that_sum_to_one():
    agent, env = _agent_and_env()
    trace = trace_episode(agent, env, seed=3, max_steps=25)
    steps = len(trace.actions)
    assert 0 < steps <= 25 and len(trace.memories) == steps
    assert trace.observations.shape == (steps, 4, 10, 10)
    assert trace.attention.shape == (steps, 4, 10, 10)  # MinAtar: every cell is a location
    np.testing.assert_allclose(trace.attention.sum(axis=(2, 3)), 1.0, atol=1e-5)
    again = trace_episode(*_agent_and_env(), seed=3, max_steps=25)
    assert np.array_equal(trace.actions, again.actions)  # seeded: the same episode
    assert not np.allclose(trace.attention[0], trace.attention[-1])  # the maps move


def test_saliency_is_read_from_the_memory_of_its_step():
    """Step t's saliency equals the one computed live at t, and reading it leaves the agent's
    memory as it was."""
    agent, env = _agent_and_env()
    trace = trace_episode(agent, env, seed=3, max_steps=12)
    t = len(trace.actions) - 1
    after = agent.eval_memory()
    late = saliency_at(agent, trace, t, {"stride": 1, "mask_sigma": 1.0, "blur_sigma": 1.0})
    assert all(agent.eval_memory()[k] is after[k] for k in after)
    fresh, env = _agent_and_env()  # the same weights, replayed live to step t
    fresh.begin_episode(trace.observations[0])
    for s in range(t):
        fresh.step_one(trace.observations[s])
        fresh.after_step(_step(trace, s))
    live = perturbation_saliency(
        fresh.preferences_in_context,
        trace.observations[t],
        stride=1,
        mask_sigma=1.0,
        blur_sigma=1.0,
    )[int(trace.actions[t])].numpy()
    assert late.max() > 0
    # An untrained agent's saliency is tiny: compare the maps relative to their peak.
    np.testing.assert_allclose(late / late.max(), live / late.max(), atol=1e-4)
    first = saliency_at(agent, trace, 0, {"stride": 1, "mask_sigma": 1.0, "blur_sigma": 1.0})
    assert not np.allclose(first / first.max(), late / late.max(), atol=1e-2)


def _step(trace, s):
    from agents.rollout import Step

    obs = trace.observations[s]
    action, reward = int(trace.actions[s]), float(trace.rewards[s])
    return Step(0, s, obs, action, reward, obs, False, False, {})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("attention") / "run"
    cmd = [sys.executable, "-m", "agents", "train", "--agent", "attention"]
    cmd += ["--game", "MinAtar-Breakout", "--preset", "minatar", "--frames", "320"]
    cmd += ["--out", str(out), "--no-progress"]
    for key, value in {**SMALL, "num_envs": 4, "unroll_length": 5}.items():
        cmd += ["--set", f"{key}={value}"]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def _interpret(kind: str, run: Path, out: Path, *extra: str):
    cmd = [sys.executable, "-m", "agents", "interpret", kind, "--run", str(run)]
    return subprocess.run(
        [*cmd, "--out", str(out), *extra], capture_output=True, text=True, timeout=300
    )


def test_strip_and_video_are_written_from_a_run(tiny_run, tmp_path):
    strip = _interpret("attention-strip", tiny_run, tmp_path / "strip", "--states", "5")
    assert strip.returncode == 0, strip.stderr
    png = (tmp_path / "strip.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (tmp_path / "strip.pdf").read_bytes()[:4] == b"%PDF"
    video = _interpret("attention-video", tiny_run, tmp_path / "episode", "--max-steps", "4")
    assert video.returncode == 0, video.stderr
    gif = Image.open(tmp_path / "episode.gif")
    assert gif.format == "GIF" and gif.n_frames == 4  # one frame per step, cut at --max-steps
    assert not list(tmp_path.glob(".*tmp*")), "a temporary file was left behind"


def test_an_idqn_run_is_refused_with_one_line(tmp_path):
    result = _interpret("attention-video", IDQN_RUN, tmp_path / "episode")
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("this analysis needs an attention-agent run")
    )
    assert not list(tmp_path.iterdir())
