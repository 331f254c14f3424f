"""The attention-augmented agent of Mott et al. (2019), "Towards Interpretable Reinforcement
Learning Using Attention Augmented Agents": the network, read top to bottom.

One step, for a batch of B environments::

    x_t         = torso(s_t)                                  conv features (B, C, h, w)
    V_t         = ConvLSTM(x_t, vision state_{t-1})           vision core   (B, D, h, w)
    K_t, V_t    = split(conv1x1(V_t)) at every location, each concatenated with a fixed
                  cosine spatial basis S (h, w, U*V)           (B, h, w, k+S), (B, h, w, v+S)
    q_t         = MLP(policy hidden h_{t-1})                   Q queries     (B, Q, k+S)
    A_t         = softmax over the h*w locations of K_t . q_t  per query     (B, Q, h, w)
    r_t         = sum over locations of A_t * V_t              readouts      (B, Q, v+S)
    h_t         = LSTMCell([MLP(r_t, q_t), reward_{t-1}, onehot(action_{t-1})], policy state)
    pi_t, v_t   = linear heads on h_t                          (B, A), (B,)

Both recurrent states, the ConvLSTM's maps and the policy LSTM's vectors, are carried from step to
step and zeroed where an episode starts (as are the previous action and reward).

What the public reimplementation got wrong, and what this module does instead (each has a test in
``tests/test_attention.py``): its NCHW features were reshaped with ``view(N, h, w, c)``, which mixes
channels and locations, where this module permutes; its ConvLSTM state was not carried across the
steps of an unroll; its peephole weights were never trained (this ConvLSTM has none).

Options, all off in the paper's network: ``init="orthogonal"`` (orthogonal weights and zero
biases, stable-baselines3's actor-critic initialisation); ``readout="pool"``, the no-attention
baseline of Mott et al.'s claim: the same ConvLSTM and policy LSTM, with the value maps averaged
over the h*w locations in place of the attention readouts (no keys, no queries); and, for issue
25, ``core_norm="layer"`` (the readout reads each location's ConvLSTM channels layer-normalised)
and ``attention_scale`` (the scores multiplied before the softmax). Why the last two: at init
the ConvLSTM's maps are small and the queries, at an episode's first step the query MLP's
biases, are too, so the maps are uniform and the readout averages the observation away
(docs/learning.md, "Why the attention agent barely learns").

This module is the network only; the A2C learner is ``agents/actor_critic.py`` and the agent
(action selection, memory, checkpoints) ``agents/attention_agent.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from agents.suites import suite_named


def spatial_basis(height: int, width: int, u: int, v: int) -> torch.Tensor:
    """The fixed cosine basis (height, width, u * v): the outer product, at each location (i, j),
    of cos(pi * a * (i + 1/2) / height) for a < u and cos(pi * b * (j + 1/2) / width) for b < v
    (the DCT-II basis), so every location gets a distinct code and nothing is learned."""
    rows = torch.cos(math.pi * torch.arange(u) * (torch.arange(height)[:, None] + 0.5) / height)
    cols = torch.cos(math.pi * torch.arange(v) * (torch.arange(width)[:, None] + 0.5) / width)
    # rows (height, u), cols (width, v) -> (height, width, u, v) -> (height, width, u * v)
    return torch.einsum("hu,wv->hwuv", rows, cols).reshape(height, width, u * v)


def spatial_attention(
    keys: torch.Tensor, queries: torch.Tensor, scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores and the spatial softmax of every query over every location.

    Args:
        keys: (B, h, w, d), channels last.
        queries: (B, Q, d).
        scale: what the dot products are multiplied by before the softmax (1: Mott et al.'s
            unscaled scores).

    Returns:
        ``(scores, attention)``, both (B, Q, h, w); each query's attention sums to 1 over the
        h * w locations (never over channels).
    """
    batch, height, width, _ = keys.shape
    scores = scale * torch.einsum("bhwd,bqd->bqhw", keys, queries)  # (B, Q, h, w)
    attention = scores.flatten(2).softmax(dim=-1).reshape(batch, -1, height, width)
    return scores, attention


def keys_and_values(
    features: torch.Tensor, key_channels: int, basis: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split NCHW features (B, k + v, h, w) into keys (B, h, w, k + S) and values
    (B, h, w, v + S), channels last, each with the spatial basis (h, w, S) appended."""
    channels_last = features.permute(0, 2, 3, 1)  # (B, h, w, k + v): a permute, never a view
    keys, values = channels_last.split([key_channels, features.shape[1] - key_channels], dim=-1)
    basis = basis.expand(features.shape[0], -1, -1, -1)  # (B, h, w, S)
    return torch.cat([keys, basis], dim=-1), torch.cat([values, basis], dim=-1)


class ConvLSTMCell(nn.Module):
    """An LSTM whose state is feature maps: every gate is a convolution of [input, hidden]."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(
            in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding="same"
        )

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C_in, h, w), state (hidden, cell) each (B, D, h, w) -> the new (hidden, cell)."""
        hidden, cell = state
        i, f, g, o = self.gates(torch.cat([x, hidden], dim=1)).chunk(4, dim=1)  # 4 x (B, D, h, w)
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(cell), cell


@dataclass
class AttentionState:
    """The recurrent state carried between steps, for B environments."""

    vision_hidden: torch.Tensor  # (B, D, h, w)
    vision_cell: torch.Tensor  # (B, D, h, w)
    policy_hidden: torch.Tensor  # (B, P)
    policy_cell: torch.Tensor  # (B, P)

    def masked(self, keep: torch.Tensor) -> AttentionState:
        """The state with environments where ``keep`` (B,) is 0 zeroed (their episode starts)."""
        maps, vectors = keep.view(-1, 1, 1, 1), keep.view(-1, 1)
        return AttentionState(
            self.vision_hidden * maps,
            self.vision_cell * maps,
            self.policy_hidden * vectors,
            self.policy_cell * vectors,
        )


@dataclass
class AttentionOutput:
    """One step's outputs, for B environments, Q queries over an h x w grid, A actions."""

    logits: torch.Tensor  # (B, A)
    value: torch.Tensor  # (B,)
    attention: torch.Tensor  # (B, Q, h, w), sums to 1 over h x w
    state: AttentionState


class AttentionNet(nn.Module):
    """Mott et al.'s network; sizes in :class:`AttentionNet.__init__` (presets give them)."""

    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        num_actions: int,
        torso: str = "minatar",
        core_channels: int = 32,
        key_channels: int = 8,
        value_channels: int = 32,
        basis_u: int = 4,
        basis_v: int = 4,
        num_queries: int = 4,
        policy_hidden: int = 128,
        answer_hidden: int = 128,
        readout: str = "attention",
        init: str = "torch",
        core_norm: str = "none",
        attention_scale: float = 1.0,
    ):
        super().__init__()
        if readout not in ("attention", "pool"):
            raise ValueError(f"readout must be 'attention' or 'pool', got {readout!r}")
        self.readout = readout
        self.attention_scale = attention_scale
        channels, height, width = obs_shape
        self.torso = suite_named(torso).attention_torso(channels)  # the suite's frames decide
        with torch.no_grad():
            conv_channels, grid_h, grid_w = self.torso(torch.zeros(1, *obs_shape)).shape[1:]
        self.grid = (grid_h, grid_w)
        self.num_actions, self.num_queries = num_actions, num_queries
        self.key_channels, self.core_channels = key_channels, core_channels
        self.core = ConvLSTMCell(conv_channels, core_channels)
        if core_norm not in ("none", "layer"):
            raise ValueError(f"core_norm must be 'none' or 'layer', got {core_norm!r}")
        # What the readout reads of the vision core: its maps, or each location's channels
        # normalised to zero mean and unit variance (the carried state stays raw).
        self.core_norm = nn.LayerNorm(core_channels) if core_norm == "layer" else None
        if readout == "pool":
            self.to_values = nn.Conv2d(core_channels, value_channels, 1)
            self.answer = nn.Sequential(nn.Linear(value_channels, answer_hidden), nn.ReLU())
        else:
            self.to_keys_values = nn.Conv2d(core_channels, key_channels + value_channels, 1)
            # A buffer, not a parameter: saved with the weights, never trained.
            self.register_buffer("basis", spatial_basis(grid_h, grid_w, basis_u, basis_v))
            key_size = key_channels + basis_u * basis_v
            value_size = value_channels + basis_u * basis_v
            self.query = nn.Sequential(
                nn.Linear(policy_hidden, answer_hidden),
                nn.ReLU(),
                nn.Linear(answer_hidden, num_queries * key_size),
            )
            self.answer = nn.Sequential(
                nn.Linear(num_queries * (key_size + value_size), answer_hidden), nn.ReLU()
            )
        self.policy_core = nn.LSTMCell(answer_hidden + 1 + num_actions, policy_hidden)
        self.policy_head = nn.Linear(policy_hidden, num_actions)
        self.value_head = nn.Linear(policy_hidden, 1)
        self.policy_hidden = policy_hidden
        if init == "orthogonal":
            orthogonal_init(self)
        elif init != "torch":
            raise ValueError(f"init must be 'torch' or 'orthogonal', got {init!r}")

    def initial_state(self, batch: int, device: torch.device | None = None) -> AttentionState:
        maps = torch.zeros(batch, self.core_channels, *self.grid, device=device)
        vectors = torch.zeros(batch, self.policy_hidden, device=device)
        return AttentionState(maps, maps.clone(), vectors, vectors.clone())

    def forward(
        self,
        obs: torch.Tensor,
        prev_action: torch.Tensor,
        prev_reward: torch.Tensor,
        episode_start: torch.Tensor,
        state: AttentionState,
    ) -> AttentionOutput:
        """One step. obs (B, C, H, W) uint8 or float in [0, 255]; prev_action (B,) int64;
        prev_reward (B,) float; episode_start (B,) bool, True where s_t begins an episode (its
        state, previous action and reward are zeroed first)."""
        keep = (~episode_start).float()  # (B,)
        state = state.masked(keep)
        features = self.torso(obs.float() / 255.0)  # (B, C, h, w)
        hidden, cell = self.core(features, (state.vision_hidden, state.vision_cell))  # (B, D, h, w)
        maps = self._normalise(hidden)
        if self.readout == "pool":
            answer = self.answer(self.to_values(maps).mean(dim=(2, 3)))  # (B, v) -> (B, P')
            attention = hidden.new_empty(obs.shape[0], 0, *self.grid)  # no maps: (B, 0, h, w)
        else:
            answer, attention = self._attend(maps, state.policy_hidden)
        previous = [
            (prev_reward.float() * keep).unsqueeze(1),  # (B, 1)
            F.one_hot(prev_action, self.num_actions).float() * keep.unsqueeze(1),  # (B, A)
        ]
        policy_hidden, policy_cell = self.policy_core(
            torch.cat([answer, *previous], dim=1), (state.policy_hidden, state.policy_cell)
        )  # (B, P) each
        return AttentionOutput(
            logits=self.policy_head(policy_hidden),  # (B, A)
            value=self.value_head(policy_hidden).squeeze(1),  # (B,)
            attention=attention,
            state=AttentionState(hidden, cell, policy_hidden, policy_cell),
        )

    def _normalise(self, hidden: torch.Tensor) -> torch.Tensor:
        """The maps (B, D, h, w) the readout reads: ``hidden`` itself, or with ``core_norm:
        layer`` each location's D channels layer-normalised."""
        if self.core_norm is None:
            return hidden
        return self.core_norm(hidden.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def _attend(
        self, hidden: torch.Tensor, policy_hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The answer (B, P') and attention maps (B, Q, h, w) of the vision core's maps
        ``hidden`` (B, D, h, w), queried from the previous policy state (B, P)."""
        keys, values = keys_and_values(self.to_keys_values(hidden), self.key_channels, self.basis)
        batch = hidden.shape[0]
        queries = self.query(policy_hidden).view(batch, self.num_queries, -1)  # (B, Q, k+S)
        _, attention = spatial_attention(keys, queries, self.attention_scale)  # (B, Q, h, w)
        readouts = torch.einsum("bqhw,bhwd->bqd", attention, values)  # (B, Q, v+S)
        answer = self.answer(torch.cat([readouts.flatten(1), queries.flatten(1)], dim=1))
        return answer, attention


def orthogonal_init(net: AttentionNet) -> None:
    """Orthogonal weights and zero biases, with stable-baselines3's actor-critic gains: sqrt(2)
    for the layers followed by a ReLU, 1 for the rest and the recurrent cores, 0.01 for the
    policy head (a near-uniform first policy) and 1 for the value head. Why: under PyTorch's
    default init the current observation barely moves the policy (docs/fidelity.md)."""
    before_relu = {  # the layers a ReLU follows, in any nn.Sequential of the network
        f"{name}.{i}"
        for name, seq in net.named_modules()
        if isinstance(seq, nn.Sequential)
        for i in range(len(seq) - 1)
        if isinstance(seq[i + 1], nn.ReLU)
    }
    for name, module in net.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            gain = 0.01 if name == "policy_head" else math.sqrt(2) if name in before_relu else 1.0
            nn.init.orthogonal_(module.weight, gain)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LSTMCell):
            for weight in (module.weight_ih, module.weight_hh):
                nn.init.orthogonal_(weight)
            nn.init.zeros_(module.bias_ih)
            nn.init.zeros_(module.bias_hh)
