"""The actor-critic pieces (agents/actor_critic.py): GAE by hand, the unroll against single steps,
and the loss's gradient direction."""

import pytest
import torch

from agents.actor_critic import a2c_loss, gae, unroll
from agents.attention import AttentionNet


def test_gae_matches_a_hand_computed_unroll_and_stops_at_episode_ends():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [1.0], [0.0]])
    dones = torch.tensor([[0.0], [1.0], [0.0]])  # the episode ends after step 1
    bootstrap = torch.tensor([4.0])
    gamma, lam = 0.9, 0.8
    advantages, returns = gae(rewards, values, bootstrap, dones, gamma, lam)
    delta2 = 2.0 + gamma * 4.0 - 0.0  # bootstraps from V(s_3)
    delta1 = 0.0 - 1.0  # episode end: no bootstrap
    delta0 = 1.0 + gamma * 1.0 - 0.5
    expected = [delta0 + gamma * lam * delta1, delta1, delta2]  # nothing flows across the end
    assert advantages[:, 0].tolist() == pytest.approx(expected)
    assert torch.allclose(returns, advantages + values)


def test_gae_with_lambda_one_gives_discounted_returns():
    torch.manual_seed(0)
    rewards, values = torch.randn(5, 2), torch.randn(5, 2)
    bootstrap, dones = torch.randn(2), torch.zeros(5, 2)
    _, returns = gae(rewards, values, bootstrap, dones, gamma=0.5, lam=1.0)
    expected = bootstrap.clone()
    for t in reversed(range(5)):
        expected = rewards[t] + 0.5 * expected
        assert torch.allclose(returns[t], expected, atol=1e-6)


def test_unroll_equals_single_steps_with_the_state_carried():
    torch.manual_seed(0)
    net = AttentionNet((4, 10, 10), num_actions=3)
    steps, batch = 4, 2
    obs = torch.randint(0, 2, (steps, batch, 4, 10, 10), dtype=torch.uint8) * 255
    actions = torch.randint(0, 3, (steps, batch))
    rewards = torch.randn(steps, batch)
    starts = torch.zeros(steps, batch, dtype=torch.bool)
    starts[0] = True
    starts[2, 1] = True  # environment 1 begins a new episode at step 2
    with torch.no_grad():
        whole = unroll(net, obs, actions, rewards, starts, net.initial_state(batch))
        state = net.initial_state(batch)
        for t in range(steps):
            out = net(obs[t], actions[t], rewards[t], starts[t], state)
            state = out.state
            assert torch.equal(whole.logits[t], out.logits)
            assert torch.equal(whole.values[t], out.value)
    assert whole.attention.shape == (steps, batch, net.num_queries, 10, 10)
    assert torch.equal(whole.state.policy_hidden, state.policy_hidden)


def test_a2c_loss_raises_the_probability_of_an_action_with_positive_advantage():
    logits = torch.zeros(1, 1, 3, requires_grad=True)
    values = torch.zeros(1, 1, requires_grad=True)
    actions = torch.tensor([[2]])
    total, parts = a2c_loss(
        logits, values, actions, torch.tensor([[1.0]]), torch.tensor([[1.0]]), 0.0, 0.5
    )
    total.backward()
    assert logits.grad[0, 0, 2] < 0 and (logits.grad[0, 0, :2] > 0).all()  # descent raises a=2
    assert values.grad[0, 0] < 0  # and raises V towards the return
    assert parts["entropy"].item() == pytest.approx(torch.log(torch.tensor(3.0)).item())
