"""i-DQN (Annasamy & Sycara, AAAI 2019): Q-values from attention over a small key-value store.

Reads top to bottom: model, the four losses, directed exploration, the agent (action selection,
update, inspection API, checkpoint state). Its config, :class:`~agents.config.IDQNConfig`, is in
:mod:`agents.config` (which imports no torch).

    h(s)        = Linear(Conv(s))                                  embedding, 256-d
    w_a(s)      = softmax_i(h(s) . k_{a,i})                        attention over action a's N keys
    Q(s, a)     = sum_i w_{a,i}(s) v_i                             N fixed values, shared by actions
    U(s, a)     = sqrt(max(sum_i w_{a,i} v_i^2 - Q(s, a)^2, 0))    spread of the attention over values
    a_t         = argmax_a Q(s, a) + lambda_exp U(s, a)            directed (UCB-style) exploration
    s_hat       = Deconv(W_dec h(s))                               decoder: reconstruction, key inversion

The paper prints U with the subtraction the wrong way round (Q^2 - sum w v^2, which is never
positive); the spread above is what the authors' code computes (docs/fidelity.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.config import IDQNConfig
from agents.contract import EnvSpec
from agents.networks import (
    ConvLayers,
    bf16_autocast,
    clip_gradients,
    conv_decoder,
    conv_torso,
    make_adam,
    to_channels_last,
    torso_output_shape,
)
from agents.replay import Batch
from agents.suites import suite_of
from agents.value_based import ValueBasedAgent

# Model -----------------------------------------------------------------------------------------


@dataclass
class IDQNOutput:
    """What one forward pass gives; shapes for a batch of B states, A actions, N keys."""

    embedding: torch.Tensor  # (B, E): the sampled embedding for a VAE in training, else the mean
    logits: torch.Tensor  # (B, A, N): h . k before the softmax
    attention: torch.Tensor  # (B, A, N)
    q: torch.Tensor  # (B, A)
    u: torch.Tensor  # (B, A)
    mean: torch.Tensor | None = None  # (B, E), VAE only
    logvar: torch.Tensor | None = None  # (B, E), VAE only


def sample_values(config: IDQNConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """The N fixed values: uniform in (value_min, value_max) (paper) or evenly spaced (code)."""
    n, low, high = config.keys_per_action, config.value_min, config.value_max
    if config.values == "linspace":
        return torch.linspace(low, high, n)
    return low + (high - low) * torch.rand(n, generator=generator)


def q_and_uncertainty(
    attention: torch.Tensor, values: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Q = sum_i w_i v_i and U = sqrt(max(sum_i w_i v_i^2 - Q^2, 0)) over the last axis."""
    q = attention @ values
    second_moment = attention @ values.square()
    return q, (second_moment - q.square()).clamp_min(0.0).sqrt()


class IDQNNetwork(nn.Module):
    """Encoder -> embedding -> attention over each action's keys -> Q; plus a decoder."""

    def __init__(
        self,
        config: IDQNConfig,
        obs_shape: tuple[int, ...],
        num_actions: int,
        bf16: bool = False,
        *,
        layers: ConvLayers,
    ):
        super().__init__()
        self.bf16 = bf16
        self.variational = config.embedding == "vae"
        embed_in = int(np.prod(torso_output_shape(obs_shape, layers=layers)))
        self.torso = conv_torso(obs_shape, layers=layers)
        self.embed = nn.Linear(embed_in, config.embedding_dim)
        self.embed_logvar = nn.Linear(embed_in, config.embedding_dim) if self.variational else None
        self.keys = nn.Parameter(
            torch.randn(num_actions, config.keys_per_action, config.embedding_dim)
            * config.key_init_std
        )
        self.register_buffer("values", torch.zeros(config.keys_per_action))
        self.decoder = conv_decoder(
            obs_shape,
            config.embedding_dim,
            config.dense_hidden if config.decoder == "dense" else 0,
            layers=layers,
        )
        # Algorithm 1 and the authors' code: Xavier-uniform conv / deconv with zero bias, N(0, std)
        # linear weights (std = linear_init_std; biases keep PyTorch's default).
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
            elif isinstance(layer, nn.Linear) and config.linear_init_std > 0:
                nn.init.normal_(layer.weight, 0.0, config.linear_init_std)

    def forward(self, x: torch.Tensor, sample: bool = False) -> IDQNOutput:
        """``x``: normalised float input (B, C, H, W). ``sample``: reparameterised VAE embedding,
        its noise drawn from torch's global generator."""
        return self.of_input(to_channels_last(x), sample)

    def of_input(
        self, x: torch.Tensor, sample: bool = False, noise: torch.Tensor | None = None
    ) -> IDQNOutput:
        """:meth:`forward` on ``x`` in whatever memory layout it comes (``torch.func.vmap``,
        :mod:`agents.lockstep`, cannot make a tensor channels-last). ``noise`` (B, E): the VAE's
        standard-normal draw when ``sample``, if given (lockstep draws each member's from its own
        generator); else drawn here."""
        with bf16_autocast(x.device, self.bf16):
            features = self.torso(x)
            mean = self.embed(features)
            logvar = self.embed_logvar(features) if self.variational else None
        mean = mean.float()
        embedding = mean
        if self.variational:
            logvar = logvar.float()
            if sample:
                if noise is None:
                    noise = torch.randn_like(mean)
                embedding = mean + noise * (0.5 * logvar).exp()
        out = self.attend(embedding)
        out.mean, out.logvar = (mean, logvar) if self.variational else (None, None)
        return out

    def attend(self, embedding: torch.Tensor) -> IDQNOutput:
        """Attention, Q and U for any embedding (B, E), e.g. a state's or an interpolated one."""
        logits = torch.einsum("be,ane->ban", embedding, self.keys)
        attention = logits.softmax(dim=-1)
        q, u = q_and_uncertainty(attention, self.values)
        return IDQNOutput(embedding, logits, attention, q, u)

    def decode(self, embedding: torch.Tensor) -> torch.Tensor:
        """Embedding (B, E) -> reconstruction (B, C, H, W) in normalised input space."""
        with bf16_autocast(embedding.device, self.bf16):
            image = self.decoder(embedding)
        return image.float()


# Losses ----------------------------------------------------------------------------------------


def project_distribution(
    probs: torch.Tensor,
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float,
    supports: torch.Tensor,
) -> torch.Tensor:
    """Categorical projection of r + gamma * v (r alone at terminals) back onto ``supports``.

    ``probs`` (..., B, N) is a distribution over ``supports`` (..., N), which may be in any order
    and unevenly spaced (the paper samples them at random). Each shifted atom is clamped to
    [min(v), max(v)] and its mass split between its two neighbouring supports in proportion to
    closeness (all of it to a support it hits exactly). Returns (..., B, N), rows summing to 1,
    in the order of ``supports``. With evenly spaced sorted supports this is C51's projection.
    Leading dimensions (``...``: lockstep's members, :mod:`agents.lockstep`) project apart, each
    onto its own supports; every step only selects and places elements, so each slice gets the
    very numbers it gets alone.
    """
    n = supports.shape[-1]
    order = supports.argsort(dim=-1)
    sorted_v = supports.gather(-1, order)
    atoms = rewards[..., None] + gamma * (1.0 - terminated)[..., None] * supports[..., None, :]
    atoms = atoms.clamp(sorted_v[..., :1, None], sorted_v[..., -1:, None])
    rows = sorted_v[..., None, :].expand(atoms.shape)  # each row's sorted supports
    upper = torch.searchsorted(rows.contiguous(), atoms.contiguous()).clamp_max(n - 1)
    exact = rows.gather(-1, upper) == atoms
    lower = torch.where(exact, upper, (upper - 1).clamp_min(0))
    v_low, v_up = rows.gather(-1, lower), rows.gather(-1, upper)
    span = v_up - v_low
    to_upper = torch.where(
        span > 0, (atoms - v_low) / span.clamp_min(1e-12), torch.ones_like(atoms)
    )
    projected_sorted = torch.zeros_like(probs)
    projected_sorted.scatter_add_(-1, lower, probs * (1.0 - to_upper))
    projected_sorted.scatter_add_(-1, upper, probs * to_upper)
    return torch.empty_like(projected_sorted).scatter_(
        -1, order[..., None, :].expand(atoms.shape), projected_sorted
    )


def distributional_loss(logits_taken: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """Cross-entropy -sum_i p_i log w_i, batch mean; log-softmax for stability (the code adds 1e-6)."""
    return -(target_probs * logits_taken.log_softmax(dim=-1)).sum(dim=-1).mean()


def diversity_loss(attention_rows: torch.Tensor, per_sample: bool) -> torch.Tensor:
    """||A A^T - I||_F^2 for A of shape (B, K): zero when rows are one-hot on distinct keys."""
    gram = attention_rows @ attention_rows.T
    penalty = (gram - torch.eye(len(gram), device=gram.device)).square().sum()
    return penalty / len(gram) if per_sample else penalty


def reconstruction_loss(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1/2 ||s_hat - s||^2 per state, batch mean."""
    # One fused kernel (and backward) instead of sub, square, sum and mean over B*C*H*W pixels.
    return 0.5 * F.mse_loss(reconstruction, target, reduction="sum") / len(target)


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per state, batch mean."""
    return -0.5 * (1.0 + logvar - mean.square() - logvar.exp()).sum(dim=1).mean()


def weighted_loss(c: IDQNConfig, losses: dict[str, torch.Tensor], out: IDQNOutput) -> torch.Tensor:
    """i-DQN's objective: the four losses weighted by their lambdas, plus beta * KL for a VAE
    embedding (adds ``losses["kl"]``). One home for the single run and the lockstep learner."""
    total = (
        c.lambda_bellman * losses["bellman"]
        + c.lambda_distributional * losses["distributional"]
        + c.lambda_reconstruction * losses["reconstruction"]
        + c.lambda_diversity * losses["diversity"]
    )
    if out.mean is not None:
        losses["kl"] = kl_to_standard_normal(out.mean, out.logvar)
        total = total + c.vae_beta * losses["kl"]
    return total


def directed_action(q: torch.Tensor, u: torch.Tensor, exploration_lambda: float) -> torch.Tensor:
    """argmax_a Q(s, a) + lambda_exp U(s, a)."""
    return (q + exploration_lambda * u).argmax(dim=-1)


# Agent -----------------------------------------------------------------------------------------


class IDQNAgent(ValueBasedAgent):
    """i-DQN with Double-DQN targets and directed exploration.

    Inspection API (for the analyses): :meth:`embed`, :meth:`inspect` (attention, Q, U),
    :meth:`decode` and the :attr:`keys` / :attr:`values` properties, beside the contract's
    :meth:`q_values` and :meth:`features`. Load a trained agent with
    :func:`agents.rundir.load_agent`.
    """

    name = "idqn"

    @classmethod
    def loss_columns(cls, config: IDQNConfig) -> tuple[str, ...]:
        """The four losses, Q's mean and the weighted total; the KL term too with a VAE."""
        columns = ("loss", "q_mean", "bellman", "distributional", "reconstruction", "diversity")
        return (*columns, "kl") if config.embedding == "vae" else columns

    def __init__(self, config: IDQNConfig, spec: EnvSpec, device: torch.device):
        super().__init__(config, spec, device)
        bf16 = config.precision == "bf16"
        torso = suite_of(spec.game).torso
        self.online = IDQNNetwork(config, spec.obs_shape, spec.num_actions, bf16, layers=torso)
        # Values come from torch's global RNG, which the runner seeds: one draw per run seed.
        self.online.values.copy_(sample_values(config))
        self.target = IDQNNetwork(config, spec.obs_shape, spec.num_actions, bf16, layers=torso)
        for net in (self.online, self.target):
            net.to(device, memory_format=torch.channels_last)
        self.target.requires_grad_(False)
        self.sync_target()
        self.optimizer = make_adam(self.online.parameters(), config.lr, config.adam_eps)
        self.log_columns = self.loss_columns(config)
        # Mean-image input normalisation (authors' code): a running sum over the first steps.
        self.input_mean = torch.zeros(spec.obs_shape, device=device)
        self.mean_image_count = 0

    # Input -------------------------------------------------------------------------------------
    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 (B, C, H, W) -> (x - mean image) / 255, the space the decoder reconstructs."""
        return (obs.float() - self.input_mean).div_(255.0)

    @torch.no_grad()
    def _observe_for_mean_image(self, obs: torch.Tensor) -> None:
        # Like the authors' code: sum obs / steps over the first `mean_image_steps` training steps.
        # Only :meth:`act` (training) calls this; evaluation and inspection never move the mean.
        if (
            self.config.input_normalization == "mean-image"
            and self.mean_image_count < self.config.mean_image_steps
        ):
            self.input_mean += obs.float() / self.config.mean_image_steps
            self.mean_image_count += 1

    # Action selection --------------------------------------------------------------------------
    @torch.inference_mode()
    def _forward_one(self, obs: torch.Tensor) -> IDQNOutput:
        """One uint8 observation (C, H, W) through the online net; reads the mean image only."""
        return self.online(self.normalise(obs.unsqueeze(0)))

    def act(self, obs: np.ndarray, step: int, rng: np.random.Generator) -> int:
        """Training policy: directed exploration, argmax Q + lambda_exp U (no epsilon, as in the
        authors' code). Also feeds the running mean image (``input_normalization: mean-image``)."""
        tensor = torch.from_numpy(obs).to(self.device)
        self._observe_for_mean_image(tensor)
        out = self._forward_one(tensor)
        return int(directed_action(out.q, out.u, self.config.exploration_lambda).item())

    def act_eval(self, obs: np.ndarray, rng: np.random.Generator) -> int:
        """Evaluation policy: greedy in Q with a small ``eval_epsilon``; leaves the mean image."""
        if rng.random() < self.config.eval_epsilon:
            return int(rng.integers(self.spec.num_actions))
        out = self._forward_one(torch.from_numpy(obs).to(self.device))
        return int(out.q.argmax(dim=-1).item())

    # Learning ----------------------------------------------------------------------------------
    def learning_rate(self, step: int) -> float:
        c = self.config
        if c.lr_halve_every_steps == 0:
            return c.lr
        return max(c.lr * 0.5 ** (step // c.lr_halve_every_steps), c.lr_min)

    def update(self, batch: Batch, step: int) -> dict[str, torch.Tensor]:
        """One gradient step on the weighted sum of the four losses (plus KL for a VAE)."""
        c = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(step)
        rows = torch.arange(len(batch.actions), device=self.device)
        x = self.normalise(batch.obs)
        out = self.online(x, sample=True)
        with torch.no_grad():
            next_x = self.normalise(batch.next_obs)
            next_actions = self.online(next_x).q.argmax(dim=1)  # Double DQN: online net picks
            next_target = self.target(next_x)  # target net evaluates, once for both targets
            not_done = 1.0 - batch.terminated
            bellman_target = batch.rewards + c.gamma * not_done * next_target.q[rows, next_actions]
            target_probs = project_distribution(
                next_target.attention[rows, next_actions],
                batch.rewards,
                batch.terminated,
                c.gamma,
                self.online.values,
            )

        q_taken = out.q[rows, batch.actions]
        losses = {
            "bellman": F.mse_loss(q_taken, bellman_target)
            if c.bellman_loss == "mse"
            else F.smooth_l1_loss(q_taken, bellman_target),
            "distributional": distributional_loss(out.logits[rows, batch.actions], target_probs),
            "reconstruction": reconstruction_loss(self.online.decode(out.embedding), x),
            "diversity": diversity_loss(
                out.attention[rows, batch.actions]
                if c.diversity_actions == "taken"
                else out.attention.flatten(1),
                c.diversity_per_sample,
            ),
        }
        total = weighted_loss(c, losses, out)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        clip_gradients(self.online, c.grad_clip_norm, c.grad_clip_per_layer)
        self.optimizer.step()
        return {
            "loss": total.detach(),
            "q_mean": q_taken.detach().mean(),
            **{name: value.detach() for name, value in losses.items()},
        }

    def sync_target(self) -> None:
        self.target.load_state_dict(self.online.state_dict())

    # Inspection API ----------------------------------------------------------------------------
    @property
    def keys(self) -> torch.Tensor:
        """The key store, (A, N, E)."""
        return self.online.keys.detach()

    @property
    def values(self) -> torch.Tensor:
        """The N fixed values, (N,)."""
        return self.online.values.detach()

    @torch.inference_mode()
    def embed(self, obs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Embeddings h(s) (B, E) of uint8 observations (B, C, H, W); the mean for a VAE."""
        return self.inspect(obs).embedding

    @torch.inference_mode()
    def inspect(self, obs: torch.Tensor | np.ndarray) -> IDQNOutput:
        """Embedding, attention (B, A, N), Q and U (B, A) of uint8 observations (B, C, H, W)."""
        obs = torch.as_tensor(obs, device=self.device)
        return self.online(self.normalise(obs))

    @torch.inference_mode()
    def decoded_keys(self) -> torch.Tensor:
        """Every key through the decoder, (A, N, C, H, W), in normalised input space (no mean
        image added back, no clipping: what the reconstruction loss compares with
        :meth:`normalise`)."""
        keys = self.keys
        images = self.online.decode(keys.flatten(0, 1).to(self.device))
        return images.reshape(*keys.shape[:2], *images.shape[1:])

    def action_from_attention(self, attention: torch.Tensor) -> torch.Tensor:
        """argmax Q + lambda_exp U (B,) of attention weights (B, A, N) over the keys' values."""
        q, u = q_and_uncertainty(attention, self.values.to(attention.device))
        return directed_action(q, u, self.config.exploration_lambda)

    def directed_actions(self, obs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """The directed policy's actions (B,), argmax Q + lambda_exp U, through :meth:`inspect`:
        the mean image does not move."""
        out = self.inspect(obs)
        return directed_action(out.q, out.u, self.config.exploration_lambda)

    @torch.inference_mode()
    def decode(self, embedding: torch.Tensor) -> torch.Tensor:
        """Any embeddings (B, E), e.g. keys, -> images (B, C, H, W) in pixels, clipped to [0, 255]."""
        image = self.online.decode(embedding.to(self.device)) * 255.0 + self.input_mean
        return image.clamp(0.0, 255.0)

    # Checkpoint state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, object]:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "input_mean": self.input_mean,
            "mean_image_count": self.mean_image_count,
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.input_mean.copy_(state["input_mean"])
        self.mean_image_count = int(state["mean_image_count"])

    def weights_state_dict(self) -> dict[str, object]:
        return {
            "online": self.online.state_dict(),
            "input_mean": self.input_mean,
            "mean_image_count": self.mean_image_count,
        }

    def load_weights_state_dict(self, state: dict[str, object]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["online"])
        self.input_mean.copy_(state["input_mean"])
        self.mean_image_count = int(state["mean_image_count"])

    # Capabilities ------------------------------------------------------------------------------
    def q_values(self, obs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Q-values (B, A) of pixel observations (uint8 or float in [0, 255])."""
        return self.inspect(obs).q

    def features(self, obs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """The embedding h(s) (B, E): what t-SNE draws beside the keys."""
        return self.embed(obs)
