"""The stable-baselines3 DQN peer: our environment, our DDQN's network and settings, our logs."""

import json

import pandas as pd
import pytest
import torch

from agents.__main__ import main
from agents.config import build_config
from agents.ddqn import DDQNAgent, DDQNConfig
from agents.envs import env_spec, make_env


@pytest.fixture(scope="module")
def peer_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("peer") / "run"
    argv = ["peer", "sb3-dqn", "--game", "MinAtar-Breakout", "--seed", "1", "--frames", "3000"]
    assert main([*argv, "--out", str(out), "--set", "learning_starts=500"]) == 0
    return out


def test_the_peer_writes_a_run_the_reports_read(peer_run):
    summary = json.loads((peer_run / "summary.json").read_text())
    episodes = pd.read_csv(peer_run / "episodes.csv")
    assert list(episodes.columns) == ["frame", "episode", "return", "length", "seconds"]
    assert summary["agent_steps"] == 3000 and summary["episodes"] == len(episodes) > 100
    # Every step is in exactly one episode: the lengths add up to where each episode ended.
    assert (episodes["length"].cumsum() == episodes["frame"]).all()
    assert episodes["return"].between(0, 100).all()


def test_the_peer_network_equals_our_ddqn_network(peer_run):
    env = make_env("MinAtar-Breakout", frame_stack=1)
    spec = env_spec(env, "MinAtar-Breakout", 1)
    ours = DDQNAgent(build_config(DDQNConfig, "ddqn", "minatar", {}), spec, torch.device("cpu"))
    expected = sum(p.numel() for p in ours.online.parameters())
    assert json.loads((peer_run / "summary.json").read_text())["parameters"] == expected


def test_the_peer_refuses_a_finished_run_and_a_bad_game(peer_run, capsys):
    argv = ["peer", "sb3-dqn", "--game", "MinAtar-Breakout", "--frames", "10"]
    assert main([*argv, "--out", str(peer_run)]) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert main(["peer", "sb3-dqn", "--game", "Breakot", "--frames", "10", "--out", "x"]) == 2
    assert "unknown game 'Breakot'" in capsys.readouterr().err


def test_reports_name_the_peer():
    from agents.reports import comparisons, label

    assert label("sb3-dqn") == "SB3 DQN"
    assert comparisons(["ddqn", "idqn", "sb3-dqn"]) == [("idqn", "ddqn")]


def test_the_peers_evaluation_phases_leave_its_training_untouched(peer_run, tmp_path):
    """The confirmatory protocol's phases, played by the peer as by our agents: evals.csv at
    every eval_every_steps, and the same training episodes as the run without them."""
    out = tmp_path / "evaluated"
    argv = ["peer", "sb3-dqn", "--game", "MinAtar-Breakout", "--seed", "1", "--frames", "3000"]
    sets = ["learning_starts=500", "eval_every_steps=1000", "eval_episodes=2", "eval_max_steps=200"]
    assert main([*argv, "--out", str(out), *(a for s in sets for a in ("--set", s))]) == 0
    evals = pd.read_csv(out / "evals.csv")
    assert list(evals["frame"]) == [1000, 1000, 2000, 2000, 3000, 3000]
    assert evals["length"].between(1, 200).all()
    plain = pd.read_csv(peer_run / "episodes.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(pd.read_csv(out / "episodes.csv").drop(columns="seconds"), plain)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_eval_return"] == pytest.approx(evals["return"].iloc[-2:].mean())
    [invocation] = json.loads((out / "meta.json").read_text())["invocations"]
    assert invocation["git_commit"] and invocation["cpu_model"] and invocation["device"] == "cpu"
