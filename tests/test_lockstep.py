"""Lockstep training (agents/lockstep.py): several seeds of DDQN or i-DQN in one process.

Equivalence with the single runs, independence of the members, exact resume after a kill (the
members' checkpoints at different steps included), budget extension, a non-finite loss in one
member, and the CLI's refusals. DDQN's tests come first; i-DQN's mirror them at smaller budgets
(its steps cost more), with the learner-level ones shared.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.lockstep import LEARNERS, LockstepDDQN, LockstepIDQN, train_lockstep
from agents.runner import RunSpec, Session, train

FAST = {"learning_starts": 300, "checkpoint_every_steps": 400, "log_loss_every_updates": 10}
SEEDS = (0, 1, 2)
#: Relative difference allowed between a member's loss and its single run's, over the first 50
#: updates. Measured on an AVX-512 CPU: at most 5.4e-7 (1 thread) and 1.2e-6 (2 threads) for
#: seeds 0-2; the forward passes agree bit for bit, the batched conv's weight gradient rounds
#: differently (~1e-7 relative per update) and training carries that on. 2e-5 leaves room for
#: other CPUs' kernels, while a wrong update (a target, clipping or Adam step that differs in
#: kind) moves the loss by far more within a few updates.
LOSS_RTOL = 2e-5


def _rows(path: Path, drop: str | None = None) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k != drop} for row in csv.DictReader(f)]


def _run(seed: int, frames: int, agent: str = "ddqn", preset: str = "minatar") -> RunSpec:
    return RunSpec(agent, "MinAtar-Breakout", seed, frames, preset)


def _cli(
    out: Path, frames: int, seeds=SEEDS, overrides: dict = FAST, agent: str = "ddqn"
) -> list[str]:
    cmd = [sys.executable, "-m", "agents", "train", "--agent", agent]
    cmd += ["--game", "MinAtar-Breakout", "--preset", "minatar", "--seeds", *map(str, seeds)]
    cmd += ["--frames", str(frames), "--out", str(out), "--no-progress"]
    for key, value in overrides.items():
        cmd += ["--set", f"{key}={value}"]
    return cmd


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _same_run(a: Path, b: Path) -> None:
    """Bit-identical histories and final states, optimiser and replay included."""
    assert _rows(a / "episodes.csv", drop="seconds") == _rows(b / "episodes.csv", drop="seconds")
    assert _rows(a / "losses.csv") == _rows(b / "losses.csv")
    first = torch.load(a / "checkpoint.pt", weights_only=True)
    second = torch.load(b / "checkpoint.pt", weights_only=True)
    for key in ("step", "episode", "updates", "episode_return"):
        assert first[key] == second[key], key
    if "input_mean" in first["agent"]:  # i-DQN
        assert torch.equal(first["agent"]["input_mean"], second["agent"]["input_mean"])
    for net in ("online", "target"):
        for key, tensor in first["agent"][net].items():
            assert torch.equal(tensor, second["agent"][net][key]), f"{a}: {net}.{key} differs"
    for index, state in first["agent"]["optimizer"]["state"].items():
        for key, tensor in state.items():
            other = second["agent"]["optimizer"]["state"][index][key]
            assert torch.equal(tensor, other), f"{a}: Adam {index}.{key} differs"
    assert first["rng"]["numpy"] == second["rng"]["numpy"]
    assert torch.equal(first["rng"]["torch"], second["rng"]["torch"])
    for key in ("frames", "actions", "rewards"):
        assert torch.equal(first["replay"][key], second["replay"][key]), key


# Equivalence with the single runs ---------------------------------------------------------------


class _Recorder:
    """Full-precision losses, replay indices and epsilon draws, per seed, of every run trained
    in this process. A replay and an agent learn their run's seed from torch's generator, which
    every run seeds with its seed just before it builds its agent."""

    def __init__(self, monkeypatch) -> None:
        from agents.ddqn import DDQNAgent
        from agents.replay import FrameReplay

        self.losses: dict[int, list[float]] = {}
        self.stats: dict[int, list[dict[str, float]]] = {}  # every logged column
        self.indices: dict[int, list[np.ndarray]] = {}
        self.draws: dict[int, list[tuple[int, int | None]]] = {}
        real_init, real_sample = FrameReplay.__init__, FrameReplay.sample_indices
        real_explore, real_log = DDQNAgent.explore, Session.log_update

        def init(replay, *args, **kwargs):
            real_init(replay, *args, **kwargs)
            replay.seed = torch.initial_seed()

        def sample_indices(replay, batch_size, rng):
            idx = real_sample(replay, batch_size, rng)
            self.indices.setdefault(replay.seed, []).append(idx.copy())
            return idx

        def explore(agent, step, rng):
            action = real_explore(agent, step, rng)
            self.draws.setdefault(agent.replay.seed, []).append((step, action))
            return action

        def log_update(session, stats):
            self.losses.setdefault(session.run.seed, []).append(float(stats["loss"]))
            columns = {name: float(value) for name, value in stats.items()}
            self.stats.setdefault(session.run.seed, []).append(columns)
            return real_log(session, stats)

        monkeypatch.setattr(FrameReplay, "__init__", init)
        monkeypatch.setattr(FrameReplay, "sample_indices", sample_indices)
        monkeypatch.setattr(DDQNAgent, "explore", explore)
        monkeypatch.setattr(Session, "log_update", log_update)

    def take(self) -> tuple[dict, dict, dict, dict]:
        taken = (self.losses, self.indices, self.draws, self.stats)
        self.losses, self.indices, self.draws, self.stats = {}, {}, {}, {}
        return taken


def test_members_follow_their_single_runs(tmp_path, monkeypatch):
    """Three members against the three seeds trained alone, 1,500 steps (300 updates): the same
    episodes before the first update, the same epsilon draws and replay indices, and the first
    50 updates' losses within LOSS_RTOL."""
    recorder = _Recorder(monkeypatch)
    frames = 1500
    for seed in SEEDS:
        train(_run(seed, frames), tmp_path / "single" / f"s{seed}", FAST, progress=False)
    single = recorder.take()
    summaries = train_lockstep(
        [_run(seed, frames) for seed in SEEDS], tmp_path / "lockstep", FAST, progress=False
    )
    lockstep = recorder.take()
    assert sorted(summaries) == [f"s{seed}" for seed in SEEDS]

    worst = 0.0
    for seed in SEEDS:
        alone, member = tmp_path / "single" / f"s{seed}", tmp_path / "lockstep" / f"s{seed}"
        before = [r for r in _rows(alone / "episodes.csv", "seconds") if int(r["frame"]) <= 300]
        assert before and before == _rows(member / "episodes.csv", "seconds")[: len(before)]
        losses_alone, losses_member = np.array(single[0][seed]), np.array(lockstep[0][seed])
        assert len(losses_alone) == len(losses_member) == (frames - 300) // 4 + 1
        relative = np.abs(losses_member[:50] - losses_alone[:50]) / np.abs(losses_alone[:50])
        worst = max(worst, float(relative.max()))
        assert relative.max() <= LOSS_RTOL, (seed, relative.max())
        indices_alone, indices_member = single[1][seed][:50], lockstep[1][seed][:50]
        assert len(indices_member) == 50
        assert all(np.array_equal(a, b) for a, b in zip(indices_alone, indices_member, strict=True))
        draws = single[2][seed]
        assert len(draws) == frames and lockstep[2][seed][: 300 + 50 * 4] == draws[: 300 + 50 * 4]
        # The members are ordinary runs: the same summary keys, and a meta.json that says with
        # whom they ran.
        assert (
            json.loads((member / "summary.json").read_text()).keys()
            == json.loads((alone / "summary.json").read_text()).keys()
        )
        record = json.loads((member / "meta.json").read_text())["invocations"][-1]
        assert record["lockstep"] == {"seeds": list(SEEDS), "member": seed}
    print(f"worst relative loss difference over the first 50 updates: {worst:.2e}")


def test_evaluation_phases_play_each_members_current_weights(tmp_path):
    """With evaluation phases, each member writes the evals.csv its single run writes: the
    phases play the member's weights of that step (written back from the stack), not stale
    ones, and training is left as it was."""
    evaluated = {**FAST, "eval_every_steps": 400, "eval_episodes": 2, "eval_max_steps": 300}
    seeds = (0, 1)
    for seed in seeds:
        train(_run(seed, 1200), tmp_path / "single" / f"s{seed}", evaluated, progress=False)
    summaries = train_lockstep(
        [_run(seed, 1200) for seed in seeds], tmp_path / "lockstep", evaluated, progress=False
    )
    for seed in seeds:
        alone, member = tmp_path / "single" / f"s{seed}", tmp_path / "lockstep" / f"s{seed}"
        evals = _rows(member / "evals.csv")
        assert [int(r["frame"]) for r in evals] == [400, 400, 800, 800, 1200, 1200]
        assert evals == _rows(alone / "evals.csv")
        assert summaries[f"s{seed}"]["eval_phases"] == 3


# Independence of the members ---------------------------------------------------------------------


def _learner(agent: str = "ddqn", overrides: dict | None = None, clip: float = 1.0):
    """Three fresh members (seeds 0-2) of ``agent`` on MinAtar-Breakout, gradient clipping at
    ``clip`` (low, so that it acts)."""
    from agents.envs import env_spec
    from agents.registry import get_agent
    from agents.rundir import make_run_env, resolve

    run = _run(0, 1000, agent)
    config = resolve(run, {**FAST, "grad_clip_norm": clip, **(overrides or {})})
    env = make_run_env(run, config)
    spec = env_spec(env, run.game, config.frame_stack)
    env.close()
    agents = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        agents.append(get_agent(agent).agent(config, spec, torch.device("cpu")))
    return LEARNERS[agent](agents)


def _batches(learner, draw: int) -> dict:
    """A random minibatch for each member (binary frames, as MinAtar's)."""
    from agents.replay import Batch

    generator = torch.Generator().manual_seed(draw)
    batch_size, shape = learner.config.batch_size, learner.obs_shape

    def frames() -> torch.Tensor:
        return torch.randint(0, 2, (batch_size, *shape), generator=generator).to(torch.uint8)

    return {
        i: Batch(
            obs=frames(),
            actions=torch.randint(0, 3, (batch_size,), generator=generator),
            rewards=torch.randint(-1, 2, (batch_size,), generator=generator).float(),
            terminated=(torch.rand(batch_size, generator=generator) < 0.1).float(),
            next_obs=frames(),
        )
        for i in range(learner.size)
    }


def _update(learner, batches: dict, draw: int) -> dict:
    """``learner.update`` of ``batches``, with each member's VAE noise where it needs some (its
    own draw, whoever else updates)."""
    noise = None
    if learner.noise_shape is not None:
        noise = {
            i: torch.randn(
                learner.noise_shape, generator=torch.Generator().manual_seed(1000 * draw + i)
            )
            for i in batches
        }
    return learner.update(batches, None, noise)


def _member_state(learner, i: int) -> list[torch.Tensor]:
    """Everything of member ``i`` an update changes: networks, Adam moments and step counts."""
    stacks = [learner.online, learner.target, learner.exp_avg, learner.exp_avg_sq]
    return [stack[name][i].clone() for stack in stacks for name in learner.names] + [
        step.clone() for step in learner.steps[i]
    ]


#: The learners the learner-level tests run: DDQN, i-DQN as the minatar preset trains it, and
#: i-DQN with the variants its update batches differently (VAE embedding and its noise, dense
#: decoder, the authors' code's losses, mean image and per-layer clipping).
VARIANTS = {
    "ddqn": ("ddqn", {}),
    "idqn": ("idqn", {}),
    "idqn-variants": (
        "idqn",
        {
            "embedding": "vae",
            "vae_beta": 0.01,
            "decoder": "dense",
            "dense_hidden": 32,
            "bellman_loss": "huber",
            "diversity_actions": "all",
            "diversity_per_sample": True,
            "input_normalization": "mean-image",
            "grad_clip_per_layer": True,
        },
    ),
}


def _equal(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("perturbation", ["scaled", "nan"])
def test_perturbing_one_member_leaves_the_others_bit_identical(perturbation, variant):
    """Member 1's weights scaled by 1,000 (gradients far above the clipping norm: a norm clipped
    over all members would shrink the others' steps) or made NaN: members 0 and 2 update, act
    and sync exactly as when member 1 is left alone."""
    plain, perturbed = _learner(*VARIANTS[variant]), _learner(*VARIANTS[variant])
    for draw in range(3):  # some Adam history first
        for learner in (plain, perturbed):
            _update(learner, _batches(learner, draw), draw)
    with torch.no_grad():
        for name in perturbed.names:
            member = perturbed.online[name][1]
            member.mul_(1000.0) if perturbation == "scaled" else member.fill_(float("nan"))
    for draw in (3, 4):
        stats = [_update(learner, _batches(learner, draw), draw) for learner in (plain, perturbed)]
        assert stats[0][0] == stats[1][0] and stats[0][2] == stats[1][2]
        assert stats[0][1] != stats[1][1]
    for learner in (plain, perturbed):
        learner.sync_target(0)
        learner.sync_target(1)
    for i in (0, 2):
        assert _equal(_member_state(plain, i), _member_state(perturbed, i)), f"member {i}"
    assert not _equal(_member_state(plain, 1), _member_state(perturbed, 1))
    frames = _batches(plain, 5)
    obs = {i: frames[i].obs[0].numpy() for i in range(3)}
    acted = [  # the batched forward pass of the members' actions, with nothing drawn
        learner.greedy_actions(obs)
        if isinstance(learner, LockstepDDQN)
        else learner.directed_actions(obs)
        for learner in (plain, perturbed)
    ]
    assert acted[0][0] == acted[1][0] and acted[0][2] == acted[1][2]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_member_left_out_of_an_update_keeps_its_state_and_the_others_update_as_in_full(
    variant,
):
    """After a resume the members behind update alone (the others' slots computed on zeros and
    discarded): they must get exactly the update they get beside everyone, and the members left
    out must not move, Adam's step count included."""
    full, partial = _learner(*VARIANTS[variant]), _learner(*VARIANTS[variant])
    for draw in range(2):
        for learner in (full, partial):
            _update(learner, _batches(learner, draw), draw)
    left_out = _member_state(partial, 1)
    batches = _batches(full, 2)
    _update(full, batches, 2)
    stats = _update(partial, {0: batches[0], 2: batches[2]}, 2)
    assert sorted(stats) == [0, 2]
    for i in (0, 2):
        assert _equal(_member_state(full, i), _member_state(partial, i)), f"member {i}"
    assert _equal(_member_state(partial, 1), left_out)
    assert not _equal(_member_state(full, 1), left_out)


@pytest.mark.parametrize("variant", ["ddqn", "idqn"])
def test_write_back_gives_the_agents_a_single_runs_state(variant):
    """A member's agent after write_back holds the stacked slices, its Adam state in the
    parameter's own memory layout (the fused kernel steps element by element in memory), so
    that its checkpoint is a single run's and a single run resumes it."""
    learner = _learner(*VARIANTS[variant])
    agent = learner.agents[1]
    learner.write_back(1)
    assert not agent.optimizer.state  # no update yet: no Adam state, as in a single run
    _update(learner, _batches(learner, 0), 0)
    learner.write_back(1)
    for name, param in agent.online.named_parameters():
        assert torch.equal(param, learner.online[name][1])
        state = agent.optimizer.state[param]
        assert state["exp_avg"].stride() == param.stride()
        assert torch.equal(state["exp_avg"], learner.exp_avg[name][1])
        assert float(state["step"]) == 1.0


# Kill, resume, extend ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whole_job(tmp_path_factory) -> Path:
    """One uninterrupted 2,400-step lockstep job of seeds 0-2."""
    out = tmp_path_factory.mktemp("whole") / "job"
    subprocess.run(_cli(out, 2400), check=True, env=_env(), capture_output=True)
    return out


# SIGKILL and resume through the CLI: a third job per test. The fast tier keeps the lockstep
# resume path through the catch-up test below (members resumed from their checkpoints).
@pytest.mark.slow
def test_a_killed_job_resumes_to_the_uninterrupted_jobs_state(tmp_path, whole_job):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(killed, 2400), env=_env(), stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not any((killed / f"s{seed}" / "checkpoint.pt").exists() for seed in SEEDS):
        assert proc.poll() is None, "job ended before its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(0.5)  # past the checkpoint, so that resuming must discard work
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if any((killed / f"s{seed}" / "summary.json").exists() for seed in SEEDS):
        pytest.fail("a member finished before the job could be killed; raise the budget")
    steps = {}
    for seed in SEEDS:
        path = killed / f"s{seed}" / "checkpoint.pt"
        steps[seed] = torch.load(path, weights_only=True)["step"] if path.exists() else None
    subprocess.run(_cli(killed, 2400), check=True, env=_env(), capture_output=True)
    for seed in SEEDS:
        _same_run(whole_job / f"s{seed}", killed / f"s{seed}")
        invocations = json.loads((killed / f"s{seed}" / "meta.json").read_text())["invocations"]
        assert [i["resumed_from_step"] for i in invocations] == [None, steps[seed]]


def test_members_at_different_steps_catch_up_exactly_and_a_member_is_an_ordinary_run(
    tmp_path, whole_job
):
    """A job to 1,200 steps, its member s1 extended alone to 1,800 (a single run resumes a
    member), then the job extended to 2,400: s0 and s2 step from 1,200 to 1,800 alone, s1's slot
    idle, then all together, and end bit-identical to the uninterrupted job."""
    job = tmp_path / "job"
    subprocess.run(_cli(job, 1200), check=True, env=_env(), capture_output=True)
    single = [sys.executable, "-m", "agents", "train", "--agent", "ddqn", "--game"]
    single += ["MinAtar-Breakout", "--preset", "minatar", "--seed", "1", "--frames", "1800"]
    single += ["--out", str(job / "s1"), "--no-progress"]
    single += [x for key, value in FAST.items() for x in ("--set", f"{key}={value}")]
    subprocess.run(single, check=True, env=_env(), capture_output=True)
    assert json.loads((job / "s1" / "summary.json").read_text())["frames"] == 1800
    subprocess.run(_cli(job, 2400), check=True, env=_env(), capture_output=True)
    for seed in (0, 2):
        _same_run(whole_job / f"s{seed}", job / f"s{seed}")
    invocations = json.loads((job / "s1" / "meta.json").read_text())["invocations"]
    assert [i["resumed_from_step"] for i in invocations] == [None, 1200, 1800]
    assert ["lockstep" in i for i in invocations] == [True, False, True]
    # s1 trained 600 of its steps alone, so it matches the whole job's s1 up to rounding.
    summary = json.loads((job / "s1" / "summary.json").read_text())
    assert summary["frames"] == 2400 and summary["updates"] == (2400 - 300) // 4 + 1


def test_a_signal_stops_the_job_with_every_members_checkpoint_where_it_stood(tmp_path, monkeypatch):
    """SIGTERM saves each member's checkpoint at the step the job stands at (not the members'
    last periodic ones), and the resumed job equals one uninterrupted job."""
    import agents.lockstep
    from agents.errors import Interrupted

    runs = [_run(seed, 1200) for seed in (0, 1)]
    train_lockstep(runs, tmp_path / "whole", FAST, progress=False)
    real = agents.lockstep.finish_step

    def finish_step(session, track, transition, save_checkpoint):
        real(session, track, transition, save_checkpoint)
        if session.run.seed == 1 and session.step == 701:
            os.kill(os.getpid(), signal.SIGTERM)

    stopped = tmp_path / "stopped"
    with monkeypatch.context() as patch:
        patch.setattr(agents.lockstep, "finish_step", finish_step)
        with pytest.raises(Interrupted, match="SIGTERM: stopped at seeds 0, 1 at steps 701, 701 "):
            train_lockstep(runs, stopped, FAST, progress=False)
    for seed in (0, 1):
        assert torch.load(stopped / f"s{seed}" / "checkpoint.pt", weights_only=True)["step"] == 701
    train_lockstep(runs, stopped, FAST, progress=False)
    for seed in (0, 1):
        _same_run(tmp_path / "whole" / f"s{seed}", stopped / f"s{seed}")


# Failures and refusals -----------------------------------------------------------------------------


def test_a_non_finite_loss_in_one_member_stops_the_job_naming_it(tmp_path, monkeypatch, capsys):
    from agents.__main__ import main

    real_update = LockstepDDQN.update
    calls = {"n": 0}

    def update(self, batches, *args):
        calls["n"] += 1
        if calls["n"] == 100:  # member s1's weights blow up before its 100th update
            with torch.no_grad():
                self.online[self.names[-1]][1].fill_(float("inf"))
        return real_update(self, batches, *args)

    monkeypatch.setattr(LockstepDDQN, "update", update)
    out = tmp_path / "job"
    argv = _cli(out, 1600)[3:]
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(
        "error: lockstep member seed 1: non-finite loss, q_mean loss at update 100 ("
    )
    assert err[0].endswith("every member's last checkpoint is intact")
    for seed in SEEDS:
        checkpoint = out / f"s{seed}" / "checkpoint.pt"
        kept = torch.load(checkpoint, weights_only=True)
        assert 0 < kept["updates"] < 100
        assert all(torch.isfinite(t).all() for t in kept["agent"]["online"].values())
        assert not (out / f"s{seed}" / "summary.json").exists()
        if seed == 1:
            assert f"the last good checkpoint ({checkpoint}, step {kept['step']}) is kept" in err[0]


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["--seed", "0", "--seeds", "1", "2"],
            "give --seed (one run) or --seeds (lockstep), not both",
        ),
        (["--seeds", "1", "1"], "--seeds lists a seed twice: 1 1"),
        (["--seeds", "0", "-1"], "--seed must be an integer in [0, 2^63 - 1], got -1"),
    ],
)
def test_bad_seeds_are_refused_with_one_line_and_nothing_written(tmp_path, capsys, args, message):
    from agents.__main__ import main

    out = tmp_path / "job"
    argv = ["train", "--agent", "ddqn", "--game", "MinAtar-Breakout", "--preset", "minatar"]
    code = main([*argv, *args, "--frames", "100", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [f"error: {message}"]
    assert not out.exists()


def test_an_agent_without_a_batched_learner_is_refused(tmp_path, capsys):
    from agents.__main__ import main

    out = tmp_path / "job"
    argv = ["train", "--agent", "attention", "--game", "MinAtar-Breakout", "--preset", "minatar"]
    code = main([*argv, "--seeds", "0", "1", "--frames", "100", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "error: lockstep training (--seeds) supports ddqn, idqn, not attention; train it one "
        "seed at a time (--seed)"
    ]
    assert not out.exists()


# i-DQN ---------------------------------------------------------------------------------------------

IDQN_FAST = {"learning_starts": 200, "checkpoint_every_steps": 200, "log_loss_every_updates": 10}
#: The run-level variant: VARIANTS' plus a mean image and a learning-rate halving that move
#: within the test's few hundred steps.
IDQN_VARIANTS = {**VARIANTS["idqn-variants"][1], "mean_image_steps": 300}
IDQN_VARIANTS["lr_halve_every_steps"] = 300
#: Relative difference allowed between each logged i-DQN loss (the weighted loss and every term,
#: and q_mean, counted as absolute below 1) of a member and its single run's, over the first 50
#: updates. Measured on an AVX-512 CPU, seeds 0-2, both runs of the test below: at most 6.0e-6
#: (1 thread) and 4.9e-6 (2 threads), in the Bellman term (a squared difference of nearly equal
#: Q-values, so its relative rounding is the largest); every other column at most 7.6e-7 (1
#: thread) and 6.3e-7 (2 threads). As for DDQN, the batched conv's
#: weight gradient rounds differently and training carries that on; 1e-4 leaves room for other
#: CPUs' kernels and thread counts, while a wrong target, noise draw, learning rate or clipping
#: moves a loss by far more within a few updates.
IDQN_LOSS_RTOL = 1e-4


@pytest.mark.parametrize("variant", ["minatar", "variants"])
def test_idqn_members_follow_their_single_runs(tmp_path, monkeypatch, variant):
    """Three i-DQN members against the three seeds trained alone, 420 steps (56 updates): the
    same episodes before the first update (directed exploration draws nothing; its actions come
    from the batched forward pass), the same replay indices, the same numpy and torch generator
    states at the end (the VAE's noise drawn from each member's own), and the first 50 updates'
    losses within IDQN_LOSS_RTOL."""
    recorder = _Recorder(monkeypatch)
    frames = 420
    overrides = {**IDQN_FAST, **(IDQN_VARIANTS if variant == "variants" else {})}
    for seed in SEEDS:
        run = _run(seed, frames, "idqn")
        train(run, tmp_path / "single" / f"s{seed}", overrides, progress=False)
    single = recorder.take()
    runs = [_run(seed, frames, "idqn") for seed in SEEDS]
    train_lockstep(runs, tmp_path / "lockstep", overrides, progress=False)
    lockstep = recorder.take()

    worst: dict[str, float] = {}
    for seed in SEEDS:
        alone, member = tmp_path / "single" / f"s{seed}", tmp_path / "lockstep" / f"s{seed}"
        before = [r for r in _rows(alone / "episodes.csv", "seconds") if int(r["frame"]) <= 200]
        assert before and before == _rows(member / "episodes.csv", "seconds")[: len(before)]
        stats_alone, stats_member = single[3][seed], lockstep[3][seed]
        assert len(stats_alone) == len(stats_member) == (frames - 200) // 4 + 1
        assert stats_alone[0].keys() == stats_member[0].keys()
        for name in stats_alone[0]:
            a = np.array([row[name] for row in stats_alone[:50]])
            b = np.array([row[name] for row in stats_member[:50]])
            # q_mean passes through zero: below 1 in size, its difference counts as absolute.
            scale = np.maximum(np.abs(a), 1.0) if name == "q_mean" else np.abs(a)
            relative = np.abs(b - a) / scale
            worst[name] = max(worst.get(name, 0.0), float(relative.max()))
            assert relative.max() <= IDQN_LOSS_RTOL, (seed, name, relative.max())
        indices_alone, indices_member = single[1][seed], lockstep[1][seed]
        assert len(indices_member) == len(stats_member)
        assert all(np.array_equal(a, b) for a, b in zip(indices_alone, indices_member, strict=True))
        first = torch.load(alone / "checkpoint.pt", weights_only=True)
        second = torch.load(member / "checkpoint.pt", weights_only=True)
        assert first["step"] == second["step"] == frames
        assert first["rng"]["numpy"] == second["rng"]["numpy"]
        assert torch.equal(first["rng"]["torch"], second["rng"]["torch"])
        assert torch.equal(first["agent"]["input_mean"], second["agent"]["input_mean"])
        assert (
            first["agent"]["optimizer"]["param_groups"][0]["lr"]
            == (second["agent"]["optimizer"]["param_groups"][0]["lr"])
        )
        record = json.loads((member / "meta.json").read_text())["invocations"][-1]
        assert record["lockstep"] == {"seeds": list(SEEDS), "member": seed}
    print("worst relative differences over the first 50 updates:", worst)


@pytest.fixture(scope="module")
def whole_idqn_job(tmp_path_factory) -> Path:
    """One uninterrupted 800-step i-DQN lockstep job of seeds 0-2, the variants on."""
    out = tmp_path_factory.mktemp("whole-idqn") / "job"
    cli = _cli(out, 800, overrides={**IDQN_FAST, **IDQN_VARIANTS}, agent="idqn")
    subprocess.run(cli, check=True, env=_env(), capture_output=True)
    return out


@pytest.mark.slow  # two i-DQN jobs through the CLI; DDQN's catch-up test stays in the fast tier
def test_a_killed_idqn_job_resumes_to_the_uninterrupted_jobs_state(tmp_path, whole_idqn_job):
    """SIGKILL mid-run, resume: every member ends bit-identical to the uninterrupted job (VAE
    noise streams, mean images and learning rates included)."""
    killed = tmp_path / "killed"
    cli = _cli(killed, 800, overrides={**IDQN_FAST, **IDQN_VARIANTS}, agent="idqn")
    proc = subprocess.Popen(cli, env=_env(), stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not any((killed / f"s{seed}" / "checkpoint.pt").exists() for seed in SEEDS):
        assert proc.poll() is None, "job ended before its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # past the checkpoint, so that resuming must discard work
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if any((killed / f"s{seed}" / "summary.json").exists() for seed in SEEDS):
        pytest.fail("a member finished before the job could be killed; raise the budget")
    steps = {}
    for seed in SEEDS:
        path = killed / f"s{seed}" / "checkpoint.pt"
        steps[seed] = torch.load(path, weights_only=True)["step"] if path.exists() else None
    subprocess.run(cli, check=True, env=_env(), capture_output=True)
    for seed in SEEDS:
        _same_run(whole_idqn_job / f"s{seed}", killed / f"s{seed}")
        invocations = json.loads((killed / f"s{seed}" / "meta.json").read_text())["invocations"]
        assert [i["resumed_from_step"] for i in invocations] == [None, steps[seed]]


def test_a_non_finite_idqn_loss_in_one_member_stops_the_job_naming_it(
    tmp_path, monkeypatch, capsys
):
    from agents.__main__ import main

    real_update = LockstepIDQN.update
    calls = {"n": 0}

    def update(self, batches, *args):
        calls["n"] += 1
        if calls["n"] == 30:  # member s2's keys blow up before its 30th update
            with torch.no_grad():
                self.online["keys"][2].fill_(float("inf"))
        return real_update(self, batches, *args)

    monkeypatch.setattr(LockstepIDQN, "update", update)
    out = tmp_path / "job"
    code = main(_cli(out, 600, overrides=IDQN_FAST, agent="idqn")[3:])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("error: lockstep member seed 2: non-finite loss, ")
    assert " loss at update 30 (" in err[0]
    assert err[0].endswith("every member's last checkpoint is intact")
    for seed in SEEDS:
        checkpoint = out / f"s{seed}" / "checkpoint.pt"
        kept = torch.load(checkpoint, weights_only=True)
        assert 0 < kept["updates"] < 30
        assert all(torch.isfinite(t).all() for t in kept["agent"]["online"].values())
        assert not (out / f"s{seed}" / "summary.json").exists()
