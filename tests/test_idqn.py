import numpy as np
import pytest
import torch

from agents.config import build_config
from agents.envs import EnvSpec
from agents.idqn import (
    IDQNAgent,
    IDQNConfig,
    diversity_loss,
    project_distribution,
    q_and_uncertainty,
    reconstruction_loss,
)
from agents.replay import Batch

GRAY = EnvSpec("Pong", 3, (4, 84, 84), (84, 84), 4, ("NOOP", "FIRE", "RIGHT"))
COLOR = EnvSpec("MsPacman", 3, (12, 210, 160), (3, 210, 160), 4, ("NOOP", "UP", "RIGHT"))


def _project(probs, reward, terminal, gamma, supports):
    return project_distribution(
        torch.tensor([probs]),
        torch.tensor([reward]),
        torch.tensor([float(terminal)]),
        gamma,
        torch.tensor(supports),
    )[0]


# Distributional projection -----------------------------------------------------------------


def test_projection_sorted_even_supports():
    # atoms 0.5 + 0.5 * [-1, 0, 1] = [0, 0.5, 1]: 0 hits a support, 0.5 splits evenly, 1 hits.
    out = _project([0.2, 0.5, 0.3], 0.5, False, 0.5, [-1.0, 0.0, 1.0])
    assert torch.allclose(out, torch.tensor([0.0, 0.45, 0.55]))


def test_projection_unsorted_supports_follow_their_order():
    out = _project([0.3, 0.2, 0.5], 0.5, False, 0.5, [1.0, -1.0, 0.0])
    assert torch.allclose(out, torch.tensor([0.55, 0.0, 0.45]))


def test_projection_uneven_supports_and_clamping():
    # atoms 1 + [-2, 0, 1, 5] = [-1, 1, 2, 6], the last clamped to 5.
    # -1 -> half to -2, half to 0; 1 -> support 1; 2 -> 3/4 to 1, 1/4 to 5; 5 -> support 5.
    out = _project([0.25] * 4, 1.0, False, 1.0, [-2.0, 0.0, 1.0, 5.0])
    assert torch.allclose(out, torch.tensor([0.125, 0.125, 0.4375, 0.3125]))


@pytest.mark.parametrize("reward,index", [(100.0, 1), (-100.0, 2)])
def test_projection_targets_outside_the_range_land_on_the_bound(reward, index):
    out = _project([0.1, 0.6, 0.3], reward, False, 0.99, [0.0, 25.0, -25.0])
    expected = torch.zeros(3)
    expected[index] = 1.0
    assert torch.allclose(out, expected)


def test_projection_terminal_uses_reward_only():
    out = _project([0.9, 0.05, 0.05], 0.3, True, 0.99, [-1.0, 0.0, 1.0])
    assert torch.allclose(out, torch.tensor([0.0, 0.7, 0.3]))


def test_projection_preserves_mass_and_mean_for_random_supports():
    gen = torch.Generator().manual_seed(0)
    supports = -25 + 50 * torch.rand(20, generator=gen)
    probs = torch.rand(64, 20, generator=gen).softmax(dim=1)
    rewards = torch.rand(64, generator=gen) - 0.5
    terminated = (torch.rand(64, generator=gen) < 0.2).float()
    out = project_distribution(probs, rewards, terminated, 0.9, supports)
    assert torch.allclose(out.sum(1), torch.ones(64), atol=1e-5)
    assert (out >= 0).all()
    # Linear interpolation keeps the mean of every atom that lies inside [min v, max v].
    atoms = rewards[:, None] + 0.9 * (1 - terminated)[:, None] * supports
    inside = ((atoms >= supports.min()) & (atoms <= supports.max())).all(dim=1)
    assert inside.sum() > 10
    expected_mean = (probs * atoms).sum(1)
    assert torch.allclose((out @ supports)[inside], expected_mean[inside], atol=1e-4)


# Other losses and quantities ------------------------------------------------------------------


def test_diversity_is_zero_for_one_hot_orthogonal_attention():
    rows = torch.eye(20)[[3, 7, 0, 19]]
    assert diversity_loss(rows, per_sample=False) == 0.0
    # Uniform attention over 2 keys for 2 states: AA^T = 0.5 everywhere -> 4 * 0.25 = 1.
    uniform = torch.full((2, 2), 0.5)
    assert diversity_loss(uniform, per_sample=False) == pytest.approx(1.0)
    assert diversity_loss(uniform, per_sample=True) == pytest.approx(0.5)


def test_q_is_attention_weighted_values_and_u_vanishes_for_one_hot():
    values = torch.tensor([-25.0, 0.0, 10.0, 25.0])
    one_hot = torch.eye(4)[[2, 0]]
    q, u = q_and_uncertainty(one_hot, values)
    assert torch.allclose(q, torch.tensor([10.0, -25.0])) and torch.all(u == 0)
    spread = torch.tensor([[0.5, 0.0, 0.0, 0.5]])
    q, u = q_and_uncertainty(spread, values)
    assert q.item() == 0.0 and u.item() == pytest.approx(25.0)


def test_reconstruction_loss_is_half_squared_error_per_state():
    assert reconstruction_loss(torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)) == pytest.approx(
        2.0
    )


# The agent ----------------------------------------------------------------------------------


def _agent(spec=GRAY, preset="paper", **overrides):
    torch.manual_seed(0)
    return IDQNAgent(
        build_config(IDQNConfig, "idqn", preset, {"batch_size": 4, **overrides}),
        spec,
        torch.device("cpu"),
    )


def _batch(spec, n=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randint(0, 255, (n, *spec.obs_shape), dtype=torch.uint8, generator=gen),
        actions=torch.randint(0, spec.num_actions, (n,), generator=gen),
        rewards=torch.tensor([1.0, 0.0, -1.0, 5.0])[:n],
        terminated=torch.tensor([0.0, 1.0, 0.0, 0.0])[:n],
        next_obs=torch.randint(0, 255, (n, *spec.obs_shape), dtype=torch.uint8, generator=gen),
    )


def test_forward_shapes_and_q_definition():
    agent = _agent()
    out = agent.inspect(_batch(GRAY).obs)
    assert (
        out.attention.shape == (4, 3, 20)
        and out.q.shape == (4, 3)
        and out.embedding.shape == (4, 256)
    )
    assert torch.allclose(out.attention.sum(-1), torch.ones(4, 3))
    assert torch.allclose(out.q, (out.attention * agent.values).sum(-1), atol=1e-5)
    assert agent.keys.shape == (3, 20, 256)


@pytest.mark.parametrize("spec", [GRAY, COLOR], ids=["gray", "colour"])
def test_decoder_inverts_to_the_input_shape_and_pixel_range(spec):
    agent = _agent(spec)
    images = agent.decode(agent.keys.reshape(-1, agent.keys.shape[-1]))
    assert images.shape == (3 * 20, *spec.obs_shape)
    assert images.min() >= 0 and images.max() <= 255


def test_gradients_reach_keys_encoder_and_decoder():
    agent = _agent()
    stats = agent.update(_batch(GRAY), step=0)
    assert set(agent.log_columns) <= set(stats)
    net = agent.online
    for name, param in [
        ("keys", net.keys),
        ("encoder", net.torso[0].weight),
        ("decoder", net.decoder[-1].weight),
    ]:
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert net.values.requires_grad is False


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_update_reduces_the_loss_on_a_fixed_batch(precision):
    agent = _agent(lr=1e-3, precision=precision)
    batch = _batch(GRAY)
    losses = [float(agent.update(batch, step)["loss"]) for step in range(40)]
    assert losses[-1] < 0.5 * losses[0]


def test_save_load_gives_identical_outputs():
    agent = _agent()
    agent.update(_batch(GRAY), 0)
    clone = _agent()
    clone.load_state_dict(agent.state_dict())
    obs = _batch(GRAY, seed=1).obs
    a, b = agent.inspect(obs), clone.inspect(obs)
    assert torch.equal(a.attention, b.attention) and torch.equal(a.q, b.q)
    assert torch.equal(agent.decode(a.embedding), clone.decode(b.embedding))


def test_directed_exploration_prefers_uncertain_actions():
    agent = _agent(exploration_lambda=1.0)
    out = agent.inspect(_batch(GRAY).obs[:1])
    scores = out.q + out.u
    rng = np.random.default_rng(0)
    assert agent.act(_batch(GRAY).obs[0].numpy(), 0, rng) == int(scores.argmax())


def test_presets_differ_where_the_paper_and_code_do():
    paper = build_config(IDQNConfig, "idqn", "paper", {})
    code = build_config(IDQNConfig, "idqn", "original-code", {})
    assert (paper.lambda_reconstruction, paper.lambda_diversity, paper.exploration_lambda) == (
        0.05,
        0.01,
        0.01,
    )
    assert (code.lambda_reconstruction, code.lambda_diversity, code.exploration_lambda) == (
        0.01,
        0.1,
        0.001,
    )
    assert paper.clip_rewards is False and code.clip_rewards is False
    a, b = _agent(), _agent(preset="original-code")
    assert not torch.allclose(a.values.sort().values, torch.linspace(-25, 25, 20))
    assert a.values.min() > -25 and a.values.max() < 25
    assert torch.allclose(b.values, torch.linspace(-25, 25, 20))
    # The authors' lr: 2.5e-4 at the first update, 1.25e-4 from 2M steps, 6.25e-5 from 4M.
    assert b.learning_rate(10_000) == 2.5e-4
    assert b.learning_rate(2_000_004) == pytest.approx(1.25e-4)
    assert b.learning_rate(4_000_004) == pytest.approx(6.25e-5)


def test_values_are_sampled_once_per_seed():
    torch.manual_seed(1)
    one = IDQNAgent(build_config(IDQNConfig, "idqn", "paper", {}), GRAY, torch.device("cpu")).values
    torch.manual_seed(2)
    two = IDQNAgent(build_config(IDQNConfig, "idqn", "paper", {}), GRAY, torch.device("cpu")).values
    assert not torch.equal(one, two)


@pytest.mark.parametrize(
    "overrides",
    [
        {"embedding": "vae", "vae_beta": 0.0},
        {"embedding": "vae", "vae_beta": 0.01},
        {"embedding": "vae", "decoder": "dense"},
    ],
    ids=["vae-beta0", "vae-beta0.01", "dense-vae"],
)
def test_variants_train(overrides):
    agent = _agent(**overrides)
    stats = agent.update(_batch(GRAY), 0)
    assert "kl" in stats and torch.isfinite(stats["loss"])
    if overrides.get("decoder") == "dense":
        assert (
            isinstance(agent.online.decoder[0], torch.nn.Linear)
            and agent.online.decoder[0].out_features == 1024
        )


def test_mean_image_normalisation_accumulates_then_freezes():
    agent = _agent(preset="original-code", mean_image_steps=2)
    rng = np.random.default_rng(0)
    frames = [np.full((4, 84, 84), v, np.uint8) for v in (10, 30, 200)]
    for frame in frames:
        agent.act(frame, 0, rng)
    assert torch.allclose(agent.input_mean, torch.full((4, 84, 84), 20.0))


def _authors_lr(t, lr=2.5e-4, train_start=10_000, every=2_000_000, floor=1e-6):
    """The lr of the update at 0-based loop iteration ``t`` of the authors' src/ucb_exp.py.

    Their loop `continue`s while t < train_start, before the halving block, so the halvings that
    precede iteration t's update are those at the ends of iterations t' < t with
    t' >= train_start and t' % every == 0; each halving is floored at ``floor``.
    """
    first = -(-train_start // every) * every  # the first multiple of `every` >= train_start
    halvings = len(range(first, t, every))
    return max(lr * 0.5**halvings, floor)


def test_original_code_lr_follows_the_authors_loop():
    agent = _agent(preset="original-code")
    # They update at iterations t = 10000, 10004, ...; we at steps 10000, 10004, ...: the k-th
    # updates pair up at t = step. Update for update the rates agree, except the one at step
    # 2M * k, which ours already runs at the halved rate (theirs halves after that update).
    early = []
    for boundary in (10_000, 2_000_000, 4_000_000, 6_000_000, 16_000_000, 18_000_000):
        for step in range(max(boundary - 40, 10_000), boundary + 44, 4):
            ours, theirs = agent.learning_rate(step), _authors_lr(step)
            if ours != pytest.approx(theirs, rel=1e-12):
                assert ours == pytest.approx(_authors_lr(step + 4), rel=1e-12), step
                early.append(step)
    assert early == [2_000_000, 4_000_000, 6_000_000, 16_000_000]  # 18M: both at the floor
    assert agent.learning_rate(10_000) == _authors_lr(10_000) == 2.5e-4
    assert agent.learning_rate(30_000_000) == 1e-6


def _noise(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *GRAY.obs_shape), dtype=torch.uint8, generator=gen)


def test_paper_init_follows_algorithm_1_and_original_code_keeps_the_authors_keys():
    paper, code = _agent(), _agent(preset="original-code")
    # Algorithm 1: "Linear layers and Keys h_ai ~ N(0, 0.1)", 0.1 a standard deviation.
    assert paper.keys.mean().item() == pytest.approx(0.0, abs=0.005)
    assert paper.keys.std().item() == pytest.approx(0.1, rel=0.03)
    # The authors' keys stay at torch.randn, N(0, 1); their linear weights are N(0, 0.1) too.
    assert code.keys.std().item() == pytest.approx(1.0, rel=0.03)
    for agent in (paper, code):
        linears = [m for m in agent.online.modules() if isinstance(m, torch.nn.Linear)]
        assert len(linears) == 2  # embedding and decoder input
        for layer in linears:
            assert layer.weight.std().item() == pytest.approx(0.1, rel=0.03)
    # At initialisation, N(0, 0.1) keys give a nearly uniform attention on noise inputs (max
    # ~0.18 of 20 keys), N(0, 1) keys an almost one-hot one (~0.85).
    noise = _noise()
    paper_max = paper.inspect(noise).attention.max(dim=-1).values.mean().item()
    code_max = code.inspect(noise).attention.max(dim=-1).values.mean().item()
    assert paper_max < 0.3 and code_max > 0.6, (paper_max, code_max)


def test_only_training_actions_feed_the_mean_image():
    agent = _agent(preset="original-code", mean_image_steps=10, eval_epsilon=0.0)
    rng = np.random.default_rng(0)
    agent.act(np.full((4, 84, 84), 40, np.uint8), 0, rng)
    mean, count = agent.input_mean.clone(), agent.mean_image_count
    assert count == 1 and torch.allclose(mean, torch.full((4, 84, 84), 4.0))
    # Evaluation and the inspection API read the mean image, never add to it.
    bright = np.full((4, 84, 84), 250, np.uint8)
    for _ in range(3):
        agent.act_eval(bright, rng)
    agent.inspect(bright[None])
    agent.embed(bright[None])
    agent.decode(agent.keys[0])
    assert torch.equal(agent.input_mean, mean) and agent.mean_image_count == count
    agent.act(bright, 0, rng)
    assert agent.mean_image_count == 2
    assert torch.allclose(agent.input_mean, torch.full((4, 84, 84), 29.0))
