"""The attention agent's learner and acting: the update raises the probability of what paid, the
previous reward reaches the policy, context saliency leaves the memory alone, config checks."""

import numpy as np
import pytest
import torch

from agents.attention_agent import AttentionAgent, AttentionConfig
from agents.config import build_config
from agents.contract import EnvSpec, VectorStep
from agents.errors import UsageError
from agents.rollout import Step

SPEC = EnvSpec(
    game="MinAtar-Breakout",
    num_actions=3,
    obs_shape=(4, 10, 10),
    frame_shape=(4, 10, 10),
    frame_stack=1,
    action_meanings=("NOOP", "LEFT", "RIGHT"),
)
SMALL = {
    "num_envs": 8,
    "unroll_length": 4,
    "core_channels": 8,
    "value_channels": 8,
    "policy_hidden": 32,
    "answer_hidden": 32,
}


def _agent(**overrides) -> AttentionAgent:
    torch.manual_seed(0)
    config = build_config(AttentionConfig, "attention", "minatar", {**SMALL, **overrides})
    return AttentionAgent(config, SPEC, torch.device("cpu"))


def _obs(n: int) -> np.ndarray:
    obs = np.zeros((n, *SPEC.obs_shape), dtype=np.uint8)
    obs[:, 0, 9, 4] = 255  # a paddle
    return obs


def _probability_of_action_zero(agent: AttentionAgent) -> float:
    return float(torch.softmax(agent.q_values(torch.as_tensor(_obs(1))), -1)[0, 0])


def test_updates_raise_the_probability_of_the_rewarded_action():
    """A one-step bandit: action 0 pays 1, the others 0, every episode one step long."""
    agent, rng = _agent(lr=0.003), np.random.default_rng(0)
    before = _probability_of_action_zero(agent)
    n, step, updates = agent.num_envs, 0, 0
    while updates < 60:
        obs = _obs(n)
        actions = agent.act_vector(obs, step, rng)
        step += n
        done = np.ones(n, dtype=bool)
        transition = VectorStep(obs, actions, (actions == 0).astype(float), obs, done, ~done)
        if agent.observe_vector(transition, step, rng) is not None:
            updates += 1
    assert agent.updates == 60
    after = _probability_of_action_zero(agent)
    assert before < 0.5 and after > 0.8, (before, after)


def test_the_previous_reward_reaches_the_policy():
    agent = _agent()
    outputs = []
    for reward in (0.0, 1.0):
        agent.begin_episode(_obs(1)[0])
        agent.step_one(_obs(1)[0])
        agent.after_step(Step(0, 0, _obs(1)[0], 1, reward, _obs(1)[0], False, False, {}))
        outputs.append(agent.step_one(_obs(1)[0]).logits)
    assert not torch.equal(outputs[0], outputs[1])


def test_context_preferences_do_not_advance_the_memory():
    agent = _agent()
    agent.begin_episode(_obs(1)[0])
    agent.step_one(_obs(1)[0])
    before = agent._eval["state"].policy_hidden.clone()
    batch = torch.as_tensor(_obs(5))
    first = agent.preferences_in_context(batch)
    assert first.shape == (5, 3)
    assert torch.equal(agent._eval["state"].policy_hidden, before)
    assert torch.allclose(first, agent.preferences_in_context(batch))
    # In context differs from an episode's first step: the memory matters.
    assert not torch.allclose(first, agent.q_values(batch))


def test_bf16_is_refused_with_one_line():
    with pytest.raises(UsageError, match="fp32 only"):
        build_config(AttentionConfig, "attention", "minatar", {"precision": "bf16"})
