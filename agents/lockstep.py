"""Lockstep training: several seeds of one agent in one process, their updates batched.

    python -m agents train --agent ddqn --game MinAtar-Breakout --preset minatar \\
        --seeds 0 1 2 3 --frames 20000 --out DIR        # writes DIR/s0 ... DIR/s3

Why: most of a small network's update is per-op overhead (dispatch, autograd bookkeeping, the
optimiser), paid once per op; stacking S members' networks pays it once for all S, and on a GPU
it fills a device one small network leaves idle (issue 23, docs/benchmarks.md).

What is shared is the arithmetic, nothing else. Every member is an ordinary run
(:class:`agents.runner.Session`): its own run directory, lock, logs, checkpoints, evaluation
phases, environment, replay, target network, epsilon schedule, optimiser state and random
streams, the very ones a single run with its seed draws (the same episode seeds, epsilon draws
and replay indices). Its checkpoints are single-run checkpoints: ``--seed`` can resume a member,
and ``--seeds`` a single run. The members' online and target networks are stacked on a leading
member axis (``torch.func.stack_module_state``); one ``vmap``-ed forward pass picks the greedy
actions of all members, and one ``vmap(grad(...))`` computes every member's Double-DQN loss and
gradient. Gradient norms are clipped per member; Adam steps each member's slices with the fused
kernel a single run's optimiser uses, with the member's own step count.

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
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap
from torch.optim.adam import adam as adam_step
from tqdm import tqdm

from agents.ddqn import DDQNAgent, double_dqn_target, td_loss
from agents.errors import RunFailed, UsageError
from agents.files import DiskFull
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
    disk_full,
    finish_step,
    prepare_run_dir,
    record_invocation,
    start_session,
    write_summary,
)

__all__ = ["LockstepDDQN", "member_dir", "train_lockstep"]


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


class LockstepDDQN:
    """The networks and Adam states of S :class:`~agents.ddqn.DDQNAgent` members, stacked on a
    leading member axis, and their batched action selection and update.

    The stacked tensors are the members' state while the job runs; :meth:`write_back` copies a
    member's slice into its agent (networks and optimiser), whose ``state_dict`` a checkpoint,
    an evaluation phase and ``model.pt`` then read as in a single run.
    """

    def __init__(self, agents: list[DDQNAgent]) -> None:
        self.agents = agents
        self.size = len(agents)
        first = agents[0]
        self.config = first.config
        self.device = first.device
        self.obs_shape = tuple(first.spec.obs_shape)
        self.names = [name for name, _ in first.online.named_parameters()]
        if any(True for _ in first.online.buffers()):
            raise NotImplementedError("lockstep DDQN stacks parameters only; QNetwork has buffers")
        online, _ = stack_module_state([agent.online for agent in agents])
        target, _ = stack_module_state([agent.target for agent in agents])
        # Plain tensors: torch.func.grad differentiates its own inputs, and Adam updates in place.
        self.online = {name: online[name].detach().contiguous() for name in self.names}
        self.target = {name: target[name].detach().contiguous() for name in self.names}
        self._module = _PixelsQ(copy.deepcopy(first.online).to("meta"))
        self._load_adam()
        self._clip_groups = self._clip_layers(first)

    # Adam ------------------------------------------------------------------------------------
    def _load_adam(self) -> None:
        """Stack the members' Adam moments; keep each member's step counts (fused Adam keeps a
        float32 step tensor per parameter), zero for a member that has not updated yet."""
        group = self.agents[0].optimizer.param_groups[0]
        self.lr, self.eps = group["lr"], group["eps"]
        self.beta1, self.beta2 = group["betas"]
        if group["weight_decay"] or group["amsgrad"] or not group["fused"]:
            raise NotImplementedError("lockstep DDQN implements the agents' fused, plain Adam")
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

    @staticmethod
    def _clip_layers(agent: DDQNAgent) -> list[list[str]]:
        """The parameter groups whose gradient norm is clipped: all together, or (the authors'
        code, :func:`agents.networks.clip_gradients`) each conv or linear layer's apart."""
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

    # The batched network ---------------------------------------------------------------------
    def _q(self, params: dict[str, torch.Tensor], pixels: torch.Tensor) -> torch.Tensor:
        """One member's Q-values (B, A) of float pixels, inside ``vmap``."""
        return functional_call(self._module, {f"net.{k}": v for k, v in params.items()}, (pixels,))

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

    def _stack(self, tensors: dict[int, torch.Tensor]) -> torch.Tensor:
        """(S, ...) with every member's tensor in its slot, zeros in the slots of the others."""
        if len(tensors) < self.size:
            zeros = torch.zeros_like(next(iter(tensors.values())))
            tensors = {i: tensors.get(i, zeros) for i in range(self.size)}
        return torch.stack([tensors[i] for i in range(self.size)])

    @torch.no_grad()
    def greedy_actions(self, obs: dict[int, np.ndarray]) -> dict[int, int]:
        """The greedy action of each member in ``obs`` (member index -> its observation), from
        one forward pass over all S members."""
        batch = torch.zeros((self.size, 1, *self.obs_shape), dtype=torch.uint8)
        for i, observation in obs.items():
            batch[i, 0] = torch.from_numpy(observation)
        pixels = batch.to(self.device).float().div_(255.0)
        actions = vmap(self._q)(self.online, pixels)[:, 0].argmax(dim=1).tolist()
        return {i: int(actions[i]) for i in obs}

    def update(self, batches: dict[int, Batch]) -> dict[int, dict[str, float]]:
        """One gradient step for every member in ``batches`` (member index -> its minibatch):
        Double-DQN targets, TD loss, gradient, per-member clipping, Adam. Returns each updated
        member's ``loss`` and ``q_mean``."""

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
        grads = {name: grads[name].contiguous() for name in self.names}
        self._clip(grads)
        members = sorted(batches)
        params, exp_avgs, exp_avg_sqs, steps, member_grads = [], [], [], [], []
        for i in members:
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
            lr=self.lr,
            weight_decay=0.0,
            eps=self.eps,
            maximize=False,
        )
        values = torch.stack([loss.detach(), q_mean.detach()], dim=1).tolist()  # one sync
        return {i: {"loss": values[i][0], "q_mean": values[i][1]} for i in members}

    @torch.no_grad()
    def sync_target(self, i: int) -> None:
        """Member ``i``'s target network := its online network."""
        for name in self.names:
            self.target[name][i].copy_(self.online[name][i])

    @torch.no_grad()
    def write_back(self, i: int) -> None:
        """Copy member ``i``'s slices into its agent: online and target networks, and the Adam
        state a single run's optimiser would hold (none before its first update)."""
        agent = self.agents[i]
        for name, param in agent.online.named_parameters():
            param.copy_(self.online[name][i])
        for name, param in agent.target.named_parameters():
            param.copy_(self.target[name][i])
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


#: The agents that train in lockstep, and their batched learners.
LEARNERS = {"ddqn": LockstepDDQN}


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
    def agent(self) -> DDQNAgent:
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

    def __init__(self, members: list[_Member], learner: LockstepDDQN, progress: bool) -> None:
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
        pending = 0
        try:
            while True:
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
            for member in self.members:
                self._save(member)
        finally:
            self.bar.close()

    def _act(self, active: list[_Member]) -> list[Step]:
        """Each active member's step: its epsilon draws, then one batched greedy forward pass
        for those that act greedily, then its environment's step; stored in its replay."""
        observations = {member.index: member.episodes.observation() for member in active}
        explored = {
            member.index: member.agent.explore(member.session.step, member.session.rng)
            for member in active
        }
        greedy = {i: observations[i] for i, action in explored.items() if action is None}
        chosen = self.learner.greedy_actions(greedy) if greedy else {}
        transitions = []
        for member in active:
            action = explored[member.index]
            transition = member.episodes.step(chosen[member.index] if action is None else action)
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
        results = self.learner.update(batches) if batches else {}
        for i in results:
            agent = self.members[i].agent
            agent.updates += 1
            results[i]["epsilon"] = agent.epsilon(self.members[i].session.step)
        for member in active:
            if member.agent.target_sync_due(member.session.step):
                self.learner.sync_target(member.index)
        self._check_finite(results)
        for i, stats in results.items():
            self.members[i].session.log_update(stats)

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
