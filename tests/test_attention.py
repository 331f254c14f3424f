"""The attention-augmented network (agents/attention.py): each test fails on one known defect of
the public reimplementation (``../shared/reference/original-code.md``) when it is put back."""

import pytest
import torch

from agents.attention import (
    AttentionNet,
    keys_and_values,
    spatial_attention,
    spatial_basis,
)

OBS = (4, 10, 10)  # MinAtar-Breakout's channels


def _net(seed=0) -> AttentionNet:
    torch.manual_seed(seed)
    return AttentionNet(OBS, num_actions=3)


def _states(count: int, seed: int) -> list[torch.Tensor]:
    """``count`` random binary MinAtar observations (1, C, H, W), uint8 in {0, 255}."""
    generator = torch.Generator().manual_seed(seed)
    shape = (1, *OBS)
    return [
        torch.randint(0, 2, shape, generator=generator, dtype=torch.uint8) * 255
        for _ in range(count)
    ]


def _step(net, obs, state, start):
    batch = obs.shape[0]
    return net(
        obs,
        torch.zeros(batch, dtype=torch.long),
        torch.zeros(batch),
        torch.full((batch,), start),
        state,
    )


def test_attention_peaks_at_the_location_whose_key_matches_the_query():
    """One bright location in NCHW features whose key is the query: a view(N, h, w, c) of the
    features instead of a permute scatters that key over other locations and channels."""
    height, width, key_channels, value_channels = 5, 7, 3, 6
    features = torch.zeros(1, key_channels + value_channels, height, width)
    direction = torch.tensor([1.0, -2.0, 0.5])
    features[0, :key_channels, 1, 4] = 10 * direction  # the bright location (1, 4)
    features[0, key_channels:, 1, 4] = 1.0
    basis = torch.zeros(height, width, 2)  # no positional signal: only the key can match
    keys, values = keys_and_values(features, key_channels, basis)
    assert keys.shape == (1, height, width, key_channels + 2)
    assert values.shape == (1, height, width, value_channels + 2)
    query = torch.cat([direction, torch.zeros(2)]).view(1, 1, -1)
    _, attention = spatial_attention(keys, query)
    peak = divmod(int(attention[0, 0].flatten().argmax()), width)
    assert peak == (1, 4) and attention[0, 0, 1, 4] > 0.99
    readout = torch.einsum("bqhw,bhwd->bqd", attention, values)
    assert torch.allclose(readout[0, 0, :value_channels], torch.ones(value_channels), atol=0.01)


def test_spatial_softmax_sums_to_one_over_locations_for_every_query():
    net, obs = _net(), torch.randint(0, 2, (3, *OBS), dtype=torch.uint8) * 255
    out = _step(net, obs, net.initial_state(3), True)
    assert out.attention.shape == (3, net.num_queries, 10, 10)
    sums = out.attention.sum(dim=(2, 3))
    assert torch.allclose(sums, torch.ones_like(sums), atol=1e-5)
    # Over channels (queries) it does not: the softmax is spatial.
    assert not torch.allclose(out.attention.sum(dim=1), torch.ones(3, 10, 10))


def test_the_spatial_basis_is_fixed_and_differs_between_locations():
    net = _net()
    assert "basis" in dict(net.named_buffers())
    assert all("basis" not in name for name, _ in net.named_parameters())
    basis = spatial_basis(10, 10, 4, 4).reshape(100, 16)
    distances = torch.cdist(basis, basis) + torch.eye(100)
    assert distances.min() > 1e-3  # no two locations share a code
    assert torch.equal(net.basis, spatial_basis(10, 10, 4, 4))


def test_state_carries_across_steps_and_resets_at_an_episode_start():
    """The output at step t depends on step t-1's input through both recurrent states, and no
    longer does once step t starts a new episode."""
    net = _net()
    first_a, first_b, second = _states(3, seed=1)
    with torch.no_grad():
        after_a = _step(net, first_a, net.initial_state(1), True).state
        after_b = _step(net, first_b, net.initial_state(1), True).state
        carried = [_step(net, second, state, False) for state in (after_a, after_b)]
        reset = [_step(net, second, state, True) for state in (after_a, after_b)]
    assert not torch.allclose(carried[0].logits, carried[1].logits)
    assert not torch.allclose(carried[0].attention, carried[1].attention)  # via the query
    assert not torch.allclose(carried[0].state.vision_cell, carried[1].state.vision_cell)
    assert torch.equal(reset[0].logits, reset[1].logits)
    assert torch.equal(reset[0].state.vision_cell, reset[1].state.vision_cell)


STATE_FIELDS = ["vision_hidden", "vision_cell", "policy_hidden", "policy_cell"]


@pytest.mark.parametrize("kept", STATE_FIELDS)
def test_each_recurrent_tensor_alone_carries_information(kept):
    """With every other part of the state zeroed, step t still depends on step t-1 through
    ``kept`` alone: the reimplementation's vision state was not carried inside an unroll, and a
    cell or hidden vector dropped anywhere fails here."""
    net = _net()
    first_a, first_b, second = _states(3, seed=2)
    with torch.no_grad():
        states = [_step(net, x, net.initial_state(1), True).state for x in (first_a, first_b)]
        for state in states:
            for field in STATE_FIELDS:
                if field != kept:
                    getattr(state, field).zero_()
        outs = [_step(net, second, state, False) for state in states]
    assert not torch.allclose(outs[0].logits, outs[1].logits)
    assert not torch.allclose(getattr(outs[0].state, kept), getattr(outs[1].state, kept))
    if kept == "policy_hidden":  # the queries are computed from h_{t-1}
        assert not torch.allclose(outs[0].attention, outs[1].attention)


def test_gradients_reach_every_parameter_and_the_atari_torso_shapes():
    net = _net()
    out = _step(net, torch.full((2, *OBS), 255, dtype=torch.uint8), net.initial_state(2), True)
    second = _step(net, torch.zeros(2, *OBS, dtype=torch.uint8), out.state, False)
    (second.logits.sum() + second.value.sum()).backward()
    missing = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing
    atari = AttentionNet((4, 84, 84), num_actions=6, torso="atari")
    assert atari.grid == (9, 9) and atari.basis.shape == (9, 9, 16)


def test_the_pooled_readout_has_no_attention_and_trains_both_cores():
    """The no-attention baseline: no keys, queries or basis; the value maps averaged over the
    locations feed the same policy LSTM; gradients still reach the ConvLSTM and the torso."""
    torch.manual_seed(0)
    net = AttentionNet(OBS, num_actions=3, readout="pool")
    assert not any(hasattr(net, name) for name in ("query", "to_keys_values", "basis"))
    out = _step(net, torch.full((2, *OBS), 255, dtype=torch.uint8), net.initial_state(2), True)
    second = _step(net, torch.zeros(2, *OBS, dtype=torch.uint8), out.state, False)
    assert second.logits.shape == (2, 3) and second.value.shape == (2,)
    assert second.attention.shape == (2, 0, 10, 10)  # no maps
    assert second.state.vision_cell.shape == (2, 32, 10, 10)
    (second.logits.sum() + second.value.sum()).backward()
    missing = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing


def test_orthogonal_init_gains_and_a_vision_core_that_sees_more():
    torch.manual_seed(0)
    net = AttentionNet(OBS, num_actions=3, init="orthogonal")
    eye = torch.eye(3)
    head = net.policy_head.weight  # (3, 128): orthogonal rows of norm 0.01
    assert torch.allclose(head @ head.T, 0.01**2 * eye, atol=1e-8)
    answer = net.answer[0].weight  # followed by a ReLU: gain sqrt(2)
    assert torch.allclose(answer @ answer.T, 2 * torch.eye(len(answer)), atol=1e-4)
    assert all(not b.any() for name, b in net.named_parameters() if "bias" in name)
    # Under PyTorch's default init the ConvLSTM's maps barely depend on the observation (its
    # gates see small inputs); the orthogonal init raises that spread.
    obs = torch.cat(_states(16, seed=3))

    def spread(model):
        with torch.no_grad():
            state = _step(model, obs, model.initial_state(16), True).state
        return float(state.vision_hidden.std(0).mean())

    assert spread(net) > 2 * spread(_net())


def test_unknown_readout_or_init_is_refused():
    with pytest.raises(ValueError, match="readout"):
        AttentionNet(OBS, num_actions=3, readout="flatten")
    with pytest.raises(ValueError, match="init"):
        AttentionNet(OBS, num_actions=3, init="xavier")
    with pytest.raises(ValueError, match="core_norm"):
        AttentionNet(OBS, num_actions=3, core_norm="batch")


def test_the_attention_scale_multiplies_the_scores():
    keys, queries = torch.randn(2, 10, 10, 6), torch.randn(2, 3, 6)
    plain, _ = spatial_attention(keys, queries)
    scores, attention = spatial_attention(keys, queries, scale=5.0)
    assert torch.allclose(scores, 5 * plain, atol=1e-5)
    assert torch.allclose(attention, (5 * plain).flatten(2).softmax(-1).view_as(attention))


@pytest.mark.parametrize("readout", ["attention", "pool"])
def test_core_norm_reads_normalised_maps_and_carries_the_raw_state(readout):
    """``core_norm: layer``: each location's channels have zero mean and unit variance where the
    readout reads them, so the current observation reaches it on the scale of the spatial basis
    (issue 25); the ConvLSTM's carried state is the same as without it."""
    torch.manual_seed(0)
    plain = AttentionNet(OBS, num_actions=3, readout=readout)
    torch.manual_seed(0)
    normed = AttentionNet(OBS, num_actions=3, readout=readout, core_norm="layer")
    obs = torch.cat(_states(16, seed=3))
    raw = _step(plain, obs, plain.initial_state(16), True).state.vision_hidden
    out = _step(normed, obs, normed.initial_state(16), True)
    assert torch.equal(out.state.vision_hidden, raw)  # same weights, same raw maps
    maps = normed._normalise(raw)  # (B, D, h, w)
    assert torch.allclose(maps.mean(1), torch.zeros(()), atol=1e-5)
    variance = maps.var(1, unbiased=False)  # var / (var + eps): raw maps are small at init
    assert ((variance > 0.8) & (variance <= 1.0)).all()
    # The observation's spread in what the readout reads grows by more than an order of magnitude.
    assert maps.std(0).mean() > 20 * raw.std(0).mean()
