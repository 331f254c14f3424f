"""Lockstep training: several seeds of one agent in one process, their updates batched.

    python -m agents train --agent idqn --game MinAtar-Breakout --preset minatar \\
        --seeds 0 1 2 3 --frames 20000 --out DIR        # writes DIR/s0 ... DIR/s3

Why: most of a small network's update is per-op overhead (dispatch, autograd bookkeeping, the
optimiser), paid once per op; stacking S members' networks pays it once for all S, and on a GPU
it fills a device one small network leaves idle (issue 23, docs/benchmarks.md).

What is shared is the arithmetic, nothing else. Every member is an ordinary run
(:class:`agents.runner.Session`): its own run directory, lock, logs, checkpoints, evaluation
phases, environment, replay, target network, exploration (DDQN's epsilon schedule, i-DQN's
directed exploration and running mean image), optimiser state, learning-rate schedule and random
streams, the very ones a single run with its seed draws (the same episode seeds, epsilon draws,
replay indices and, for i-DQN's VAE embedding, sampling noise). Its checkpoints are single-run
checkpoints: ``--seed`` can resume a member, and ``--seeds`` a single run. The members' online
and target networks (and buffers: i-DQN's fixed values) are stacked on a leading member axis
(``torch.func.stack_module_state``); one ``vmap``-ed forward pass picks the actions of all
members, and one ``vmap(grad(...))`` computes every member's loss (DDQN's TD loss; i-DQN's
Bellman, distributional, reconstruction and diversity losses, plus the KL of a VAE embedding, with
the conv or dense decoder) and gradient. Gradient norms are clipped per member; Adam steps each
member's slices with the fused kernel a single run's optimiser uses, with the member's own step
count and learning rate.

Exactness. A member follows its single run's trajectory up to float rounding: the batched kernels
round differently (``tests/test_lockstep.py`` measures by how much). Within lockstep every member's
result depends on its own slice only: the batched computations always span all S member slots
(a slot whose member does not act or update this step computes on zeros and is discarded), so the
kernels' shapes never depend on who takes part. That makes a resumed job bit-identical to an
uninterrupted one even though a kill leaves the members' checkpoints at different steps: each
member checkpoints on its own schedule, as a single run does, and after a resume the members
behind step alone until all stand at the same step again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap
from torch.optim.adam import adam as adam_step
from tqdm import tqdm

from agents.ddqn import DDQNAgent, double_dqn_target, td_loss
from agents.errors import RunFailed, UsageError
from agents.files import DiskFull
from agents.idqn import (
    IDQNAgent,
    IDQNOutput,
    directed_action,
    distributional_loss,
    diversity_loss,
    project_distribution,
    reconstruction_loss,
    weighted_loss,
)
from agents.networks import check_precision
from agents.replay import Batch
from agents.rollout import TRAIN_STREAM, Episodes, Step, episode_seed
from agents.rundir import (
    RunSpec,
    check_memory,
    identity_digest,
    locked_run_dir,
    resolve,
    save_model,
    select_device,
)
from agents.runner import (
    EpisodeTrack,
    Session,
    StopRequest,
    disk_full,
    finish_step,
    prepare_run_dir,
    record_invocation,
    start_session,
    write_summary,
)
from agents.value_based import ValueBasedAgent

__all__ = ["LockstepDDQN", "LockstepIDQN", "member_dir", "train_lockstep"]


def member_dir(out: Path, seed: int) -> Path:
    """The run directory of the member with ``seed`` in a lockstep job's ``out``."""
    return Path(out) / f"s{seed}"


class _PixelsQ(nn.Module):
    """:meth:`agents.ddqn.QNetwork.q_of_pixels` as a module's forward, for ``functional_call``
    (the network's own forward makes its input channels-last, which ``vmap`` cannot do)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net.q_of_pixels(pixels)


class _IDQNInput(nn.Module):
    """:meth:`agents.idqn.IDQNNetwork.of_input` (and, with ``decode``, the decoder's image of
    the embedding) as a module's forward, for ``functional_call``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(
        self,
        x: torch.Tensor,
        sample: bool = False,
        noise: torch.Tensor | None = None,
        decode: bool = False,
    ) -> tuple[IDQNOutput, torch.Tensor | None]:
        out = self.net.of_input(x, sample, noise)
        return out, self.net.decode(out.embedding) if decode else None


class _StackedLearner:
    """The networks and Adam states of S members of one value-based agent, stacked on a leading
    member axis: what every batched learner shares (stacking, per-member clipping, Adam, target
    syncs, write-back). A subclass adds the agent's batched action selection and update.

    The stacked tensors are the members' state while the job runs; :meth:`write_back` copies a
    member's slice into its agent (networks and optimiser), whose ``state_dict`` a checkpoint,
    an evaluation phase and ``model.pt`` then read as in a single run.
    """

    #: Wraps the agent's network for ``functional_call`` (a forward ``vmap`` can batch).
    wrapper: type[nn.Module]
    #: Shape of the standard-normal noise each member's update draws from its own generator
    #: (the loop draws it), or None where the update draws none.
    noise_shape: tuple[int, ...] | None = None

    def __init__(self, agents: list[ValueBasedAgent]) -> None:
        self.agents = agents
        self.size = len(agents)
        first = agents[0]
        self.config = first.config
        self.device = first.device
        self.obs_shape = tuple(first.spec.obs_shape)
        self.names = [name for name, _ in first.online.named_parameters()]
        # Buffers (i-DQN's fixed values) are the member's own, stacked alike, never trained.
        self.buffer_names = [name for name, _ in first.online.named_buffers()]
        online, online_buffers = stack_module_state([agent.online for agent in agents])
        target, target_buffers = stack_module_state([agent.target for agent in agents])
        # Plain tensors: torch.func.grad differentiates its own inputs, and Adam updates in place.
        self.online = {name: online[name].detach().contiguous() for name in self.names}
        self.target = {name: target[name].detach().contiguous() for name in self.names}
        self.online_buffers = {n: online_buffers[n].contiguous() for n in self.buffer_names}
        self.target_buffers = {n: target_buffers[n].contiguous() for n in self.buffer_names}
        self._module = self.wrapper(copy.deepcopy(first.online).to("meta"))
        self._load_adam()
        self._clip_groups = self._clip_layers(first)

    # Adam ------------------------------------------------------------------------------------
    def _load_adam(self) -> None:
        """Stack the members' Adam moments; keep each member's step counts (fused Adam keeps a
        float32 step tensor per parameter), zero for a member that has not updated yet."""
        group = self.agents[0].optimizer.param_groups[0]
        self.eps = group["eps"]
        self.beta1, self.beta2 = group["betas"]
        if group["weight_decay"] or group["amsgrad"] or not group["fused"]:
            raise NotImplementedError("lockstep implements the agents' fused, plain Adam")
        # Each member's learning rate: the one its optimiser holds (i-DQN's schedule sets it
        # before every update, as its single run does).
        self.lrs = [agent.optimizer.param_groups[0]["lr"] for agent in self.agents]
        exp_avg: dict[str, list[torch.Tensor]] = {name: [] for name in self.names}
        exp_avg_sq: dict[str, list[torch.Tensor]] = {name: [] for name in self.names}
        self.steps: list[list[torch.Tensor]] = []
        for agent in self.agents:
            steps = []
            for name, param in agent.online.named_parameters():
                state = agent.optimizer.state.get(param)
                if state:
                    exp_avg[name].append(state["exp_avg"].contiguous())
                    exp_avg_sq[name].append(state["exp_avg_sq"].contiguous())
                    steps.append(state["step"].detach().clone().to(self.device, torch.float32))
                else:
                    exp_avg[name].append(
                        torch.zeros_like(param, memory_format=torch.contiguous_format)
                    )
                    exp_avg_sq[name].append(
                        torch.zeros_like(param, memory_format=torch.contiguous_format)
                    )
                    steps.append(torch.zeros((), dtype=torch.float32, device=self.device))
            self.steps.append(steps)
        self.exp_avg = {name: torch.stack(exp_avg[name]).contiguous() for name in self.names}
        self.exp_avg_sq = {name: torch.stack(exp_avg_sq[name]).contiguous() for name in self.names}
        # Each member's slices, made once: views, so that Adam's in-place step lands in the stack.
        self._slices = [
            (
                [self.online[name][i] for name in self.names],
                [self.exp_avg[name][i] for name in self.names],
                [self.exp_avg_sq[name][i] for name in self.names],
            )
            for i in range(self.size)
        ]

    def _adam(self, grads: dict[str, torch.Tensor], members: list[int]) -> None:
        """One fused Adam step of each member in ``members``, on its own slices and step counts,
        at its own learning rate (members at the same rate share a kernel call: the kernel works
        element by element, so grouping does not change a member's numbers)."""
        by_lr: dict[float, list[int]] = {}
        for i in members:
            by_lr.setdefault(self.lrs[i], []).append(i)
        for lr, group in by_lr.items():
            params, exp_avgs, exp_avg_sqs, steps, member_grads = [], [], [], [], []
            for i in group:
                p, m, v = self._slices[i]
                params += p
                exp_avgs += m
                exp_avg_sqs += v
                steps += self.steps[i]
                member_grads += [grads[name][i] for name in self.names]
            adam_step(
                params,
                member_grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                fused=True,
                amsgrad=False,
                beta1=self.beta1,
                beta2=self.beta2,
                lr=lr,
                weight_decay=0.0,
                eps=self.eps,
                maximize=False,
            )

    @staticmethod
    def _clip_layers(agent: ValueBasedAgent) -> list[list[str]]:
        """The parameter groups whose gradient norm is clipped: all together, or (the authors'
        code, :func:`agents.networks.clip_gradients`) each conv or linear layer's apart (i-DQN's
        keys, in no layer, then unclipped)."""
        names = [name for name, _ in agent.online.named_parameters()]
        if not agent.config.grad_clip_per_layer:
            return [names]
        groups = []
        for prefix, layer in agent.online.named_modules():
            if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                groups.append([f"{prefix}.{name}" for name, _ in layer.named_parameters()])
        return groups

    def _clip(self, grads: dict[str, torch.Tensor]) -> None:
        """``clip_grad_norm_`` per member: each member's norm over its own gradients only (a
        norm over all members' would couple the runs)."""
        max_norm = self.config.grad_clip_norm
        for group in self._clip_groups:
            norms = torch.stack(
                [torch.linalg.vector_norm(grads[name].flatten(1), dim=1) for name in group], dim=1
            )
            total = torch.linalg.vector_norm(norms, dim=1)
            coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
            for name in group:
                grads[name].mul_(coef.view(-1, *[1] * (grads[name].dim() - 1)))

    def _step(self, grads: dict[str, torch.Tensor], members: list[int]) -> None:
        """Clip every member's gradients, then Adam-step the members in ``members``."""
        grads = {name: grads[name].contiguous() for name in self.names}
        self._clip(grads)
        self._adam(grads, members)

    # Batching --------------------------------------------------------------------------------
    def _stack(self, tensors: dict[int, torch.Tensor]) -> torch.Tensor:
        """(S, ...) with every member's tensor in its slot, zeros in the slots of the others."""
        if len(tensors) < self.size:
            zeros = torch.zeros_like(next(iter(tensors.values())))
            tensors = {i: tensors.get(i, zeros) for i in range(self.size)}
        return torch.stack([tensors[i] for i in range(self.size)])

    def _observations(self, obs: dict[int, np.ndarray]) -> torch.Tensor:
        """uint8 (S, 1, C, H, W) on the device: each member's observation in its slot."""
        batch = torch.zeros((self.size, 1, *self.obs_shape), dtype=torch.uint8)
        for i, observation in obs.items():
            batch[i, 0] = torch.from_numpy(observation)
        return batch.to(self.device)

    def _call(
        self,
        params: dict[str, torch.Tensor],
        buffers: dict[str, torch.Tensor],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """One member's network (``wrapper``) on ``args``, inside ``vmap``."""
        weights = {f"net.{k}": v for k, v in params.items()}
        weights.update({f"net.{k}": v for k, v in buffers.items()})
        return functional_call(self._module, weights, args, kwargs)

    # Targets and write-back ------------------------------------------------------------------
    @torch.no_grad()
    def sync_target(self, i: int) -> None:
        """Member ``i``'s target network := its online network."""
        for name in self.names:
            self.target[name][i].copy_(self.online[name][i])
        for name in self.buffer_names:
            self.target_buffers[name][i].copy_(self.online_buffers[name][i])

    @torch.no_grad()
    def write_back(self, i: int) -> None:
        """Copy member ``i``'s slices into its agent: online and target networks, and the Adam
        state a single run's optimiser would hold (none before its first update)."""
        agent = self.agents[i]
        for name, param in agent.online.named_parameters():
            param.copy_(self.online[name][i])
        for name, param in agent.target.named_parameters():
            param.copy_(self.target[name][i])
        for name, buffer in agent.online.named_buffers():
            buffer.copy_(self.online_buffers[name][i])
        for name, buffer in agent.target.named_buffers():
            buffer.copy_(self.target_buffers[name][i])
        for group in agent.optimizer.param_groups:
            group["lr"] = self.lrs[i]
        agent.optimizer.state.clear()
        if float(self.steps[i][0]) == 0:
            return
        for j, param in enumerate(agent.online.parameters()):
            name = self.names[j]
            # In the parameter's own memory layout (channels-last convs), as Adam makes them:
            # the fused kernel steps a parameter and its moments element by element in memory.
            agent.optimizer.state[param] = {
                "step": self.steps[i][j].clone(),
                "exp_avg": torch.empty_like(param).copy_(self.exp_avg[name][i]),
                "exp_avg_sq": torch.empty_like(param).copy_(self.exp_avg_sq[name][i]),
            }


class LockstepDDQN(_StackedLearner):
    """S :class:`~agents.ddqn.DDQNAgent` members: batched epsilon-greedy action selection and
    Double-DQN update."""

    wrapper = _PixelsQ

    def __init__(self, agents: list[DDQNAgent]) -> None:
        super().__init__(agents)
        if self.buffer_names:
            raise NotImplementedError("lockstep DDQN expects a QNetwork without buffers")

    def _q(self, params: dict[str, torch.Tensor], pixels: torch.Tensor) -> torch.Tensor:
        """One member's Q-values (B, A) of float pixels, inside ``vmap``."""
        return self._call(params, {}, pixels)

    def _loss(
        self,
        params: dict[str, torch.Tensor],
        pixels: torch.Tensor,
        actions: torch.Tensor,
        target: torch.Tensor,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One member's TD loss, as :meth:`agents.ddqn.DDQNAgent.update` computes it."""
        q = self._q(params, pixels).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = td_loss(q, target, self.config.loss)
        return loss, (loss, q.mean())

    def act(self, requests: dict[int, tuple[np.ndarray, int, np.random.Generator]]) -> dict:
        """Each member's training action (member index -> (observation, step, its generator)):
        its epsilon draws (:meth:`~agents.ddqn.DDQNAgent.explore`), then one batched forward
        pass for the members that act greedily."""
        explored = {i: self.agents[i].explore(step, rng) for i, (_, step, rng) in requests.items()}
        greedy = {i: requests[i][0] for i, action in explored.items() if action is None}
        chosen = self.greedy_actions(greedy) if greedy else {}
        return {i: chosen[i] if action is None else action for i, action in explored.items()}

    @torch.no_grad()
    def greedy_actions(self, obs: dict[int, np.ndarray]) -> dict[int, int]:
        """The greedy action of each member in ``obs`` (member index -> its observation), from
        one forward pass over all S members."""
        pixels = self._observations(obs).float().div_(255.0)
        actions = vmap(self._q)(self.online, pixels)[:, 0].argmax(dim=1).tolist()
        return {i: int(actions[i]) for i in obs}

    def update(
        self,
        batches: dict[int, Batch],
        steps: dict[int, int] | None = None,
        noise: dict[int, torch.Tensor] | None = None,
    ) -> dict[int, dict[str, float]]:
        """One gradient step for every member in ``batches`` (member index -> its minibatch):
        Double-DQN targets, TD loss, gradient, per-member clipping, Adam. Returns each updated
        member's ``loss`` and ``q_mean``, and its ``epsilon`` at its step in ``steps`` if given.
        DDQN draws no ``noise``."""

        def field(name: str) -> torch.Tensor:
            return self._stack({i: getattr(batch, name) for i, batch in batches.items()})

        pixels = field("obs").float().div_(255.0)
        next_pixels = field("next_obs").float().div_(255.0)
        actions = field("actions")
        with torch.no_grad():
            next_online = vmap(self._q)(self.online, next_pixels)
            next_target = vmap(self._q)(self.target, next_pixels)
            target = vmap(double_dqn_target, in_dims=(0, 0, None, 0, 0))(
                field("rewards"), field("terminated"), self.config.gamma, next_online, next_target
            )
        grads, (loss, q_mean) = vmap(grad(self._loss, has_aux=True))(
            self.online, pixels, actions, target
        )
        members = sorted(batches)
        self._step(grads, members)
        values = torch.stack([loss.detach(), q_mean.detach()], dim=1).tolist()  # one sync
        stats = {i: {"loss": values[i][0], "q_mean": values[i][1]} for i in members}
        for i in members if steps is not None else ():
            stats[i]["epsilon"] = self.agents[i].epsilon(steps[i])
        return stats


class LockstepIDQN(_StackedLearner):
    """S :class:`~agents.idqn.IDQNAgent` members: batched directed exploration and the batched
    update of all four losses (plus the KL of a VAE embedding), with either decoder.

    Each member keeps its own fixed values (a buffer, stacked like the weights), its running
    mean image (its agent's, mirrored in :attr:`input_mean` while it moves), its learning-rate
    schedule and, for a VAE, its own sampling noise: the loop draws each member's from that
    member's torch generator state (:attr:`noise_shape`), the very draw its single run makes.
    """

    wrapper = _IDQNInput

    def __init__(self, agents: list[IDQNAgent]) -> None:
        super().__init__(agents)
        c = self.config
        if agents[0].online.variational:
            self.noise_shape = (c.batch_size, c.embedding_dim)
        self.input_mean = torch.stack([agent.input_mean for agent in agents])  # (S, C, H, W)
        self.columns = agents[0].log_columns

    def _normalise(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 (S, B, C, H, W) -> each member's :meth:`~agents.idqn.IDQNAgent.normalise`."""
        return (obs.float() - self.input_mean[:, None]).div_(255.0)

    def _q_u(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One member's Q, U (B, A) and attention (B, A, N) of normalised input, no sampling."""
        out, _ = self._call(params, buffers, x)
        return out.q, out.u, out.attention

    def act(self, requests: dict[int, tuple[np.ndarray, int, np.random.Generator]]) -> dict:
        """Each member's training action (member index -> (observation, step, its generator)),
        as :meth:`~agents.idqn.IDQNAgent.act`: its running mean image takes the observation,
        then one batched forward pass gives every member's argmax Q + lambda_exp U. No epsilon:
        nothing is drawn."""
        for i, (observation, _, _) in requests.items():
            agent = self.agents[i]
            count = agent.mean_image_count
            agent._observe_for_mean_image(torch.from_numpy(observation).to(self.device))
            if agent.mean_image_count != count:
                self.input_mean[i].copy_(agent.input_mean)
        return self.directed_actions({i: request[0] for i, request in requests.items()})

    @torch.no_grad()
    def directed_actions(self, obs: dict[int, np.ndarray]) -> dict[int, int]:
        """argmax_a Q + lambda_exp U of each member in ``obs`` (member index -> observation),
        from one forward pass over all S members; reads the mean images, moves none."""
        x = self._normalise(self._observations(obs))
        q, u, _ = vmap(self._q_u)(self.online, self.online_buffers, x)
        actions = directed_action(q[:, 0], u[:, 0], self.config.exploration_lambda).tolist()
        return {i: int(actions[i]) for i in obs}

    def _loss(
        self,
        params: dict[str, torch.Tensor],
        buffers: dict[str, torch.Tensor],
        x: torch.Tensor,
        actions: torch.Tensor,
        noise: torch.Tensor | None,
        bellman_target: torch.Tensor,
        target_probs: torch.Tensor,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """One member's weighted loss, as :meth:`agents.idqn.IDQNAgent.update` computes it;
        aux: the loss, q_mean and each loss, in :attr:`columns` order."""
        c = self.config
        out, reconstruction = self._call(params, buffers, x, sample=True, noise=noise, decode=True)
        q_taken = out.q.gather(1, actions.unsqueeze(1)).squeeze(1)
        taken = actions.view(-1, 1, 1).expand(-1, 1, out.logits.shape[-1])
        losses = {
            "bellman": F.mse_loss(q_taken, bellman_target)
            if c.bellman_loss == "mse"
            else F.smooth_l1_loss(q_taken, bellman_target),
            "distributional": distributional_loss(
                out.logits.gather(1, taken).squeeze(1), target_probs
            ),
            "reconstruction": reconstruction_loss(reconstruction, x),
            "diversity": diversity_loss(
                out.attention.gather(1, taken).squeeze(1)
                if c.diversity_actions == "taken"
                else out.attention.flatten(1),
                c.diversity_per_sample,
            ),
        }
        total = weighted_loss(c, losses, out)
        stats = {"loss": total, "q_mean": q_taken.mean(), **losses}
        return total, tuple(stats[name].detach() for name in self.columns)

    def update(
        self,
        batches: dict[int, Batch],
        steps: dict[int, int] | None = None,
        noise: dict[int, torch.Tensor] | None = None,
    ) -> dict[int, dict[str, float]]:
        """One gradient step for every member in ``batches`` (member index -> its minibatch),
        at the learning rate of its step in ``steps`` (i-DQN's schedule; the members' current
        rates without ``steps``), with each member's VAE ``noise`` (B, E) when the embedding is
        variational: Double-DQN and projected distributional targets, the losses, gradient,
        per-member clipping, Adam. Returns each updated member's :attr:`columns`."""
        c = self.config
        members = sorted(batches)
        if self.noise_shape is not None and (noise is None or sorted(noise) != members):
            raise ValueError("a VAE embedding's update needs each updated member's noise")
        for i in members if steps is not None else ():
            self.lrs[i] = self.agents[i].learning_rate(steps[i])

        def field(name: str) -> torch.Tensor:
            return self._stack({i: getattr(batch, name) for i, batch in batches.items()})

        x = self._normalise(field("obs"))
        actions, rewards, terminated = field("actions"), field("rewards"), field("terminated")
        with torch.no_grad():
            next_x = self._normalise(field("next_obs"))
            # Double DQN: the online net picks, the target net evaluates (once for both targets).
            next_q, _, _ = vmap(self._q_u)(self.online, self.online_buffers, next_x)
            next_actions = next_q.argmax(dim=2)
            target_q, _, target_attention = vmap(self._q_u)(
                self.target, self.target_buffers, next_x
            )
            not_done = 1.0 - terminated
            bellman_target = rewards + c.gamma * not_done * target_q.gather(
                2, next_actions.unsqueeze(2)
            ).squeeze(2)
            picked = next_actions[..., None, None].expand(-1, -1, 1, target_attention.shape[-1])
            target_probs = project_distribution(
                target_attention.gather(2, picked).squeeze(2),
                rewards,
                terminated,
                c.gamma,
                self.online_buffers["values"],
            )
        stacked_noise = None if self.noise_shape is None else self._stack(noise)
        grads, stats = vmap(
            grad(self._loss, has_aux=True), in_dims=(0, 0, 0, 0, None if noise is None else 0, 0, 0)
        )(
            self.online,
            self.online_buffers,
            x,
            actions,
            stacked_noise,
            bellman_target,
            target_probs,
        )
        self._step(grads, members)
        values = torch.stack(stats, dim=1).tolist()  # one sync
        return {i: dict(zip(self.columns, values[i], strict=True)) for i in members}


#: The agents that train in lockstep, and their batched learners.
LEARNERS: dict[str, type[_StackedLearner]] = {"ddqn": LockstepDDQN, "idqn": LockstepIDQN}


@dataclass
class _Member:
    """One member of a lockstep job: an ordinary run's session, environment and episode."""

    index: int
    session: Session
    env: Any
    episodes: Episodes
    track: EpisodeTrack
    torch_rng: torch.Tensor  # the member's torch generator states, swapped in where it draws
    cuda_rng: list[torch.Tensor] | None

    @property
    def agent(self) -> ValueBasedAgent:
        return self.session.agent  # type: ignore[return-value]

    @property
    def seed(self) -> int:
        return self.session.run.seed

    @property
    def done(self) -> bool:
        return self.session.step >= self.session.total_steps


def train_lockstep(
    runs: list[RunSpec],
    out: Path,
    overrides: dict[str, Any] | None = None,
    *,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Train (or resume, or extend) ``runs``, one agent and game with several seeds, in
    lockstep into ``out/s<seed>``; return each member's summary, keyed by its folder name.

    Every member directory is validated, and all are locked, before anything is written.

    Raises:
        UsageError: bad input (nothing written).
        RunFailed: a member's non-finite loss or a full disk (every member's last checkpoint is
            intact).
    """
    if not runs:
        raise UsageError("--seeds needs at least one seed")
    seeds = [run.seed for run in runs]
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds lists a seed twice: {' '.join(map(str, seeds))}")
    if len({(run.agent, run.game, run.frames, run.preset) for run in runs}) != 1:
        raise UsageError("lockstep members differ in more than their seed")
    agent_name = runs[0].agent
    configs = [resolve(run, overrides or {}) for run in runs]  # also validates every seed
    if agent_name not in LEARNERS:
        raise UsageError(
            f"lockstep training (--seeds) supports {', '.join(LEARNERS)}, not {agent_name}; "
            "train it one seed at a time (--seed)"
        )
    config = configs[0]
    torch_device = select_device(device)
    check_precision(config.precision, torch_device)
    check_memory(runs[0], config, torch_device, members=len(runs))
    outs = [member_dir(out, seed) for seed in seeds]
    digests = [identity_digest(run, config) for run in runs]
    with ExitStack() as locks:
        for member_out in outs:
            locks.enter_context(locked_run_dir(member_out))
        checkpoints = [
            prepare_run_dir(member_out, run, config, digest)
            for member_out, run, digest in zip(outs, runs, digests, strict=True)
        ]
        try:
            return _train_members(runs, outs, config, torch_device, digests, checkpoints, progress)
        except DiskFull as exc:
            full = next((o for o in outs if exc.path.parent == o), outs[0])
            saved = checkpoints[outs.index(full)]
            raise disk_full(exc, full, saved["step"] if saved else None) from exc


def _train_members(
    runs: list[RunSpec],
    outs: list[Path],
    config: Any,
    torch_device: torch.device,
    digests: list[str],
    checkpoints: list[dict[str, Any] | None],
    progress: bool,
) -> dict[str, dict[str, Any]]:
    seeds = [run.seed for run in runs]
    for run, member_out, checkpoint in zip(runs, outs, checkpoints, strict=True):
        lockstep = {"seeds": seeds, "member": run.seed}
        record_invocation(member_out, run, config, torch_device, checkpoint, lockstep=lockstep)
    members: list[_Member] = []
    try:
        for index, (run, member_out, digest, checkpoint) in enumerate(
            zip(runs, outs, digests, checkpoints, strict=True)
        ):
            env, session = start_session(
                run, member_out, config, torch_device, digest, checkpoint, progress=False
            )
            track = EpisodeTrack(checkpoint)
            episodes = Episodes(
                env,
                lambda episode, seed=run.seed: episode_seed(seed, episode, TRAIN_STREAM),
                first_episode=session.episode,
                begin_episode=session.agent.begin_episode,
                resume=track.resume(session.episode),
            )
            cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
            members.append(
                _Member(index, session, env, episodes, track, torch.get_rng_state(), cuda_rng)
            )
        learner = LEARNERS[runs[0].agent]([member.agent for member in members])
        _Loop(members, learner, progress).run()
        for member in members:
            session = member.session
            save_model(session.out, session.run, config, session.spec, session.agent)
    finally:
        for member in members:
            member.session.close()
            member.env.close()
    return {member.session.out.name: write_summary(member.session) for member in members}


class _Loop:
    """The lockstep loop: the members at the lowest step act (one batched forward pass), step
    their environments in turn, store, learn (one batched update), log and checkpoint."""

    def __init__(self, members: list[_Member], learner: _StackedLearner, progress: bool) -> None:
        self.members, self.learner = members, learner
        total = sum(member.session.total_steps for member in members)
        done = sum(member.session.step for member in members)
        seeds = ",".join(str(member.seed) for member in members)
        first = members[0].session.run
        self.bar = tqdm(
            total=total,
            initial=done,
            unit="step",
            desc=f"{first.agent}/{first.game}/s{{{seeds}}}",
            disable=not progress,
            mininterval=2.0,
            dynamic_ncols=True,
        )

    def run(self) -> None:
        try:
            with StopRequest() as stop:
                self._run(stop)
        finally:
            self.bar.close()

    def _run(self, stop: StopRequest) -> None:
        pending = 0
        while True:
            stop.stop_if_asked([member.session for member in self.members], self._save_all)
            waiting = [member for member in self.members if not member.done]
            if not waiting:
                break
            # After a resume the members' checkpoints may stand at different steps: the
            # ones behind step alone until all are level again.
            low = min(member.session.step for member in waiting)
            active = [member for member in waiting if member.session.step == low]
            transitions = self._act(active)
            self._learn(active, transitions)
            for member, transition in zip(active, transitions, strict=True):
                if member.session.evaluation_due:
                    self.learner.write_back(member.index)
                finish_step(
                    member.session,
                    member.track,
                    transition,
                    lambda member=member: self._save(member),
                )
            pending += len(active)
            if pending >= 1000:
                self.bar.update(pending)
                pending = 0
        self.bar.update(pending)
        self._save_all()

    def _save_all(self) -> None:
        for member in self.members:
            self._save(member)

    def _act(self, active: list[_Member]) -> list[Step]:
        """Each active member's step: its action (its own draws, one batched forward pass for
        all), then its environment's step; stored in its replay."""
        chosen = self.learner.act(
            {
                member.index: (
                    member.episodes.observation(),
                    member.session.step,
                    member.session.rng,
                )
                for member in active
            }
        )
        transitions = []
        for member in active:
            transition = member.episodes.step(chosen[member.index])
            member.session.step += 1
            member.agent.store(transition)
            transitions.append(transition)
        return transitions

    def _learn(self, active: list[_Member], transitions: list[Step]) -> None:
        """Sample each due member's minibatch (from its own generator), update all due members
        at once, sync the targets due, then log: every member's loss is checked before any is
        logged further, so that a non-finite loss stops the job before anything else is written."""
        batches = {}
        for member in active:
            if member.agent.update_due(member.session.step):
                config = member.agent.config
                batches[member.index] = member.agent.replay.sample(
                    config.batch_size, member.session.rng, member.agent.device
                )
        results = {}
        if batches:
            steps = {i: self.members[i].session.step for i in batches}
            results = self.learner.update(batches, steps, self._noise(batches))
        for i in results:
            self.members[i].agent.updates += 1
        for member in active:
            if member.agent.target_sync_due(member.session.step):
                self.learner.sync_target(member.index)
        self._check_finite(results)
        for i, stats in results.items():
            self.members[i].session.log_update(stats)

    def _noise(self, batches: dict[int, Batch]) -> dict[int, torch.Tensor] | None:
        """Each updating member's standard-normal draw (a VAE's sampling noise), from its own
        torch generator state: what its single run's update draws at this point."""
        shape = self.learner.noise_shape
        if shape is None:
            return None
        noise = {}
        for i in batches:
            with self._member_rng(self.members[i]):
                noise[i] = torch.randn(shape, device=self.learner.device)
        return noise

    def _check_finite(self, results: dict[int, dict[str, float]]) -> None:
        """Stop with one line naming the first member (seed) whose loss is not finite, the loss
        and the update; the other members' checkpoints are left as they are."""
        failed = []
        for i, stats in results.items():
            if not all(np.isfinite(value) for value in stats.values()):
                failed.append(self.members[i])
        if not failed:
            return
        first = failed[0]
        try:
            first.session.log_update(results[first.index])
        except RunFailed as exc:
            also = ""
            if failed[1:]:
                also = f" (also non-finite: seed {', '.join(str(m.seed) for m in failed[1:])})"
            raise RunFailed(
                f"lockstep member seed {first.seed}: {exc}{also}; every member's last checkpoint "
                "is intact"
            ) from exc
        raise AssertionError("log_update accepted a non-finite loss")  # pragma: no cover

    @contextmanager
    def _member_rng(self, member: _Member) -> Iterator[None]:
        """Torch's global generators hold ``member``'s states inside the block (what its
        checkpoint records), and keep what the block drew."""
        torch.set_rng_state(member.torch_rng)
        if member.cuda_rng is not None:
            torch.cuda.set_rng_state_all(member.cuda_rng)
        yield
        member.torch_rng = torch.get_rng_state()
        if member.cuda_rng is not None:
            member.cuda_rng = torch.cuda.get_rng_state_all()

    def _save(self, member: _Member) -> None:
        self.learner.write_back(member.index)
        with self._member_rng(member):
            member.session.save_checkpoint(member.track.checkpoint_fields())
