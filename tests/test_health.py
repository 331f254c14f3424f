import json

import numpy as np
import pytest
import torch

from agents.__main__ import main
from agents.config import build_config
from agents.ddqn import DDQNAgent, DDQNConfig
from agents.envs import EnvSpec
from agents.health import (
    directed_exploration,
    health_table,
    network_health,
    value_against_return,
)
from agents.idqn import IDQNAgent, IDQNConfig
from agents.replay import FrameReplay


def _pong_ddqn():
    torch.manual_seed(0)
    config = build_config(DDQNConfig, "ddqn", "paper", {"batch_size": 4})
    spec = EnvSpec("Pong", 3, (4, 84, 84), (84, 84), 4, ("NOOP", "FIRE", "RIGHT"))
    return DDQNAgent(config, spec, torch.device("cpu"))


def test_a_dead_first_layer_reads_as_dead_and_state_independent():
    agent = _pong_ddqn()
    observations = np.random.default_rng(0).integers(0, 256, (64, 4, 84, 84), dtype=np.uint8)
    alive = network_health(agent, observations)
    assert [k for k in alive if k.startswith("active")] == [
        "active trunk.1",
        "active trunk.3",
        "active trunk.5",
        "active head.1",
    ]
    assert 0.5 < alive["active trunk.1"] <= 1.0 and alive["Q spread"] > 0
    with torch.no_grad():  # every first-layer unit negative on every state: Pong's run at 1.8M
        agent.online.trunk[0].bias.fill_(-1e4)
    dead = network_health(agent, observations)
    assert dead["active trunk.1"] == 0.0 and dead["active trunk.3"] == 0.0
    assert dead["Q spread"] == 0.0 and dead["greedy actions"] == 1


def test_directed_exploration_counts_states_whose_bonus_changes_the_action():
    spec = EnvSpec("MinAtar-Breakout", 3, (4, 10, 10), (10, 10), 1, ("NOOP", "LEFT", "RIGHT"))
    observations = np.random.default_rng(0).integers(0, 2, (64, 4, 10, 10), dtype=np.uint8)

    def share(exploration_lambda: float) -> float:
        torch.manual_seed(0)
        config = build_config(
            IDQNConfig, "idqn", "minatar", {"exploration_lambda": exploration_lambda}
        )
        agent = IDQNAgent(config, spec, torch.device("cpu"))
        return directed_exploration(agent, observations)["directed not greedy"]

    assert share(0.0) == 0.0  # no bonus: the directed action is the greedy one
    assert share(1e6) > 0.0  # a bonus that swamps Q picks the widest spread instead
    assert directed_exploration(_pong_ddqn(), observations) == {}  # ε does not use the network


def test_health_of_a_run_and_of_a_kept_checkpoint(tiny_minatar_run, tmp_path, capsys):
    kept = tmp_path / "kept.pt"
    kept.write_bytes((tiny_minatar_run / "checkpoint.pt").read_bytes())
    table = health_table(tiny_minatar_run, [kept, tiny_minatar_run / "checkpoint.pt"], states=50)
    assert list(table["frames"]) == [600, 600] and list(table["states"]) == [50, 50]
    assert (table["Q spread"] > 0).all()
    assert (table["states with a return"] > 0).all()  # Breakout's 600 steps end episodes
    assert table["mean Q of action taken"].notna().all() and table["mean return"].notna().all()
    assert main(["health", "--run", str(tiny_minatar_run), "--out", str(tmp_path / "h")]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["frames"] == 600 and rows[0]["states"] == 600  # every transition of 600 steps
    assert (tmp_path / "h.csv").is_file() and (tmp_path / "h.md").is_file()


def test_a_resume_point_is_measured_on_the_checkpoints_states(tiny_minatar_run, tmp_path):
    from agents.rundir import write_resume_point

    point = torch.load(write_resume_point(tiny_minatar_run), weights_only=False)
    alive = tmp_path / "alive.pt"
    torch.save(point, alive)
    point["agent"]["online"]["trunk.0.bias"].fill_(-1e4)  # every first-layer unit off: dead
    dead = tmp_path / "dead.pt"
    torch.save(point, dead)
    table = health_table(tiny_minatar_run, states=50, resume_points=[alive, dead])
    assert list(table["frames"]) == [600] * 3 and list(table["states"]) == [50] * 3
    rows = table.set_index("checkpoint")
    last = rows.loc[str(tiny_minatar_run / "checkpoint.pt")]
    half, off = rows.loc[str(alive)], rows.loc[str(dead)]
    # The checkpoint's network in float16, on the same states: the same measures, near enough.
    assert half["Q spread"] == pytest.approx(last["Q spread"], rel=0.02)
    assert half["greedy actions"] == last["greedy actions"]
    assert off["Q spread"] == 0.0 and off["greedy actions"] == 1  # its own network, not the last
    assert np.isnan(half["mean return"]) and not np.isnan(last["mean return"])


def test_health_of_several_runs_is_one_row_each(tiny_minatar_run, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    for path in tiny_minatar_run.iterdir():
        if path.is_file():
            (other / path.name).write_bytes(path.read_bytes())
    runs = [str(tiny_minatar_run), str(other)]
    assert main(["health", "--run", *runs, "--states", "50", "--out", str(tmp_path / "h")]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [row["run"] for row in rows] == runs
    assert rows[0] | {"run": ""} == rows[1] | {"run": ""}  # the same checkpoint twice
    written = (tmp_path / "h.csv").read_text().splitlines()
    assert written[0].startswith("run,checkpoint,frames") and len(written) == 3


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--checkpoints", "missing.pt"], "missing.pt: no such checkpoint"),
        (["--run", "elsewhere", "--checkpoints", "a.pt"], "files of one --run"),
        (["--run", "elsewhere", "--resume-points", "r.pt"], "files of one --run"),
        (["--states", "1"], "--states must be at least 2"),
    ],
)
def test_bad_input_is_one_line(tiny_minatar_run, capsys, extra, message):
    assert main(["health", "--run", str(tiny_minatar_run), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


class _ConstantQ:
    """Q = 2 for action 1 and -1 elsewhere, on every state."""

    def q_values(self, observations):
        q = torch.full((len(observations), 3), -1.0)
        q[:, 1] = 2.0
        return q


def test_value_against_return_reads_the_action_taken_and_the_return_that_followed():
    replay = FrameReplay(100, (2, 2), frame_stack=2)
    frame = np.zeros((2, 2), dtype=np.uint8)
    replay.start_episode(frame)
    for action, reward, terminated in [(1, 0.0, False), (0, 1.0, False), (1, -1.0, True)]:
        replay.add(action, reward, terminated, frame)
    replay.start_episode(frame)
    replay.add(1, 1.0, False, frame)  # still running: no return
    measured = value_against_return(_ConstantQ(), replay, gamma=0.5, states=10)
    returns = [0.0 + 0.5 * (1.0 + 0.5 * -1.0), 1.0 + 0.5 * -1.0, -1.0]
    assert measured["states with a return"] == 3
    assert measured["mean Q of action taken"] == pytest.approx((2.0 - 1.0 + 2.0) / 3)
    assert measured["mean return"] == pytest.approx(np.mean(returns))
    assert value_against_return(_ConstantQ(), replay, 0.5, states=2)["states with a return"] == 2
    empty = FrameReplay(100, (2, 2), frame_stack=2)
    empty.start_episode(frame)
    assert np.isnan(value_against_return(_ConstantQ(), empty, 0.5, 10)["mean return"])
