"""The one rollout: episode seeds, per-episode agent state, laziness, resuming mid-episode."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.envs import make_env
from agents.errors import RunFailed
from agents.rollout import Resume, episode_returns, episode_seed, obs_digest, rollout

ROOT = Path(__file__).resolve().parent.parent


def _env():
    return make_env("MinAtar-Breakout", frame_stack=1)


def _random(seed=0):
    rng = np.random.default_rng(seed)
    return lambda obs: int(rng.integers(3))


def test_episodes_are_pure_functions_of_their_seed_and_actions():
    env = _env()
    first = list(rollout(env, _random(), lambda i: episode_seed(7, i), episodes=3))
    again = list(rollout(env, _random(), lambda i: episode_seed(7, i), episodes=3))
    assert [s.action for s in first] == [s.action for s in again]
    assert all(np.array_equal(a.next_obs, b.next_obs) for a, b in zip(first, again, strict=True))
    assert [s.episode for s in first if s.done] == [0, 1, 2]


def test_begin_episode_sees_each_first_observation_once():
    env = _env()
    starts = []
    steps = list(
        rollout(
            env, _random(), lambda i: episode_seed(0, i), episodes=4, begin_episode=starts.append
        )
    )
    firsts = [s.obs for s in steps if s.t == 0]
    assert len(starts) == 4 and all(
        np.array_equal(a, b) for a, b in zip(starts, firsts, strict=True)
    )


def test_the_policy_is_called_only_for_steps_consumed():
    calls = []

    def act(obs):
        calls.append(1)
        return 0

    steps = rollout(_env(), act, lambda i: episode_seed(0, i))
    for _ in range(5):
        next(steps)
    steps.close()
    assert len(calls) == 5


def test_max_steps_truncates_each_episode():
    steps = list(rollout(_env(), lambda o: 0, lambda i: i, episodes=3, max_steps_per_episode=4))
    lengths = [length for _, _, length in episode_returns(iter(steps))]
    assert all(length <= 4 for length in lengths) and len(lengths) == 3


def test_resume_continues_the_episode_exactly():
    env = _env()
    whole = list(rollout(env, _random(3), lambda i: episode_seed(1, i), episodes=2))
    cut = 6
    assert not whole[cut - 1].done
    resume = Resume(0, [s.action for s in whole[:cut]], obs_digest(whole[cut - 1].next_obs))
    rest_actions = iter(s.action for s in whole[cut:])
    rest = list(
        rollout(
            env,
            lambda o: next(rest_actions),
            lambda i: episode_seed(1, i),
            episodes=2,
            resume=resume,
        )
    )
    assert [(s.episode, s.t) for s in rest] == [(s.episode, s.t) for s in whole[cut:]]
    assert all(
        np.array_equal(a.next_obs, b.next_obs) for a, b in zip(rest, whole[cut:], strict=True)
    )


def test_resume_refuses_a_state_it_cannot_reach():
    resume = Resume(0, [0, 1, 2], "0" * 16)
    with pytest.raises(RunFailed, match="did not reach the saved observation"):
        next(rollout(_env(), lambda o: 0, lambda i: i, resume=resume))


#: Every place allowed to step an environment, and how many calls each holds.
SANCTIONED_STEPS = {
    "agents/interpret/adversarial.py": 1,  # the emulator edits' no-op steps after a RAM edit
    "agents/peers/sb3_dqn.py": 1,  # a wrapper passing SB3's own loop through, to log episodes
    "agents/rollout.py": 2,  # the episode loop, and the replay that resumes an episode
    "agents/vector_runner.py": 1,  # the vector loop (it resumes through the rollout's replay)
}
STEP_CALL = re.compile(r"\benvs?\.step\(")


def test_only_the_two_loops_step_an_environment():
    """env.step / envs.step is called in the episode loop and the vector loop, and in the two
    sanctioned special cases, nowhere else in the package, the benchmarks or the tools."""
    calls: dict[str, int] = {}
    for folder in ("agents", "benchmarks", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found = len(STEP_CALL.findall(path.read_text()))
            if found:
                calls[str(path.relative_to(ROOT))] = found
    assert calls == SANCTIONED_STEPS


def test_the_guard_sees_every_spelling_of_a_step():
    spelled = ["env.step(0)", "self.env.step(a)", "envs.step(actions)", "self.envs.step(x)"]
    assert all(STEP_CALL.search(line) for line in spelled)
    assert not any(STEP_CALL.search(line) for line in ["optimizer.step()", "stepper.step(a)"])


def test_a_recurrent_agent_is_reset_at_every_episode_start(tmp_path, monkeypatch):
    """The runner's training loop calls begin_episode once per episode, before its first act."""
    from agents.random_agent import RandomAgent
    from agents.runner import RunSpec, train

    events = []
    monkeypatch.setattr(RandomAgent, "begin_episode", lambda self, obs: events.append("begin"))
    real_act = RandomAgent.act
    monkeypatch.setattr(
        RandomAgent, "act", lambda self, o, s, r: events.append("act") or real_act(self, o, s, r)
    )
    summary = train(
        RunSpec("random", "MinAtar-Breakout", 0, 400, "minatar"), tmp_path / "r", progress=False
    )
    assert events[0] == "begin"
    begins = [i for i, e in enumerate(events) if e == "begin"]
    # One begin per finished episode, plus the one the budget cut short (if any).
    assert summary["episodes"] <= len(begins) <= summary["episodes"] + 1
    assert all(events[i + 1] == "act" for i in begins)


def test_the_random_agent_is_a_full_agent(tmp_path):
    """A third agent through the CLI: listed, trained, evaluated."""
    import json

    run = tmp_path / "random"
    common = [sys.executable, "-m", "agents"]
    listed = json.loads(
        subprocess.run([*common, "list"], capture_output=True, text=True, check=True).stdout
    )
    assert listed["agents"]["random"] == ["minatar", "paper"]
    train = [*common, "train", "--agent", "random", "--game", "MinAtar-Breakout"]
    train += ["--preset", "minatar", "--frames", "3000", "--out", str(run), "--no-progress"]
    subprocess.run(train, check=True, capture_output=True)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["episodes"] >= 100 and summary["updates"] == 0
    assert 0.0 < summary["final_return_100"] < 2.0  # a random policy's Breakout score
    evaluate = [*common, "evaluate", "--run", str(run), "--episodes", "3", "--no-progress"]
    subprocess.run(evaluate, check=True, capture_output=True)
    assert len((run / "eval.csv").read_text().splitlines()) == 4
