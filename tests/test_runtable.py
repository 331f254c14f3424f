"""The run table: every run's command line, and lockstep jobs that never retrain a finished run."""

import subprocess
import sys

import pytest
import yaml
from workflow_helpers import ROOT

from agents.errors import UsageError
from agents.lockstep import LEARNERS
from agents.registry import AGENTS
from agents.runtable import attention_showcase, check_lockstep, run_table, training_jobs


def _merged(base: dict, top: dict) -> dict:
    """``top`` on ``base``, mappings merged key by key, as Snakemake merges config files."""
    merged = dict(base)
    for key, value in top.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both else value
    return merged


def _config(**changes) -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config = _merged(config, yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text()))
    config["games"], config["agents"] = ["Qbert"], ["ddqn", "idqn"]
    config["seeds"] = [0, 1, 2, 3, 4]
    return config | changes


def test_the_commands_are_the_ones_the_rules_ran():
    runs = {run.path: run for run in run_table(_config())}
    main = runs["results/smoke/runs/ddqn/Qbert/s1"].command("py")
    assert main == (
        "py -m agents train --agent ddqn --game Qbert --seed 1 --frames 6000 --preset paper "
        "--set learning_starts=300 --set replay_capacity=2000 --set batch_size=8 "
        "--set checkpoint_every_steps=500 --set log_loss_every_updates=20 "
        "--out results/smoke/runs/ddqn/Qbert/s1 --no-progress"
    )
    # The pre-registered command line, argument order included (docs/preregistration.md).
    study = yaml.safe_load((ROOT / "config" / "confirmatory.yaml").read_text())
    runs = {run.path: run for run in run_table(_merged(_config(), study))}
    arm = runs["results/confirmatory/runs/idqn-no-diversity/MinAtar-Breakout/s2"].command("py")
    assert arm == (
        "py -m agents train --agent idqn --preset minatar --no-progress --game MinAtar-Breakout "
        "--seed 2 --frames 1000000 --set lambda_diversity=0 --set eval_every_steps=100000 "
        "--set eval_episodes=20 --set eval_max_steps=10000 "
        "--out results/confirmatory/runs/idqn-no-diversity/MinAtar-Breakout/s2"
    )
    peer = runs["results/confirmatory/runs/sb3-dqn/MinAtar-Asterix/s0"].command("py")
    assert peer.startswith("py -m agents peer sb3-dqn --game MinAtar-Asterix --seed 0 ")


def _grid_jobs(config, done=()):
    grid = [run for run in run_table(config) if "/runs/ddqn/" in run.path]
    return training_jobs(grid, config, exists=lambda path: path.rsplit("/", 1)[0] in done)


def test_lockstep_is_off_by_default_and_groups_a_cells_seeds_when_on():
    assert all(len(job) == 1 for job in _grid_jobs(_config()))
    jobs = _grid_jobs(_config(lockstep=2))
    assert [[run.seed for run in job] for job in jobs] == [[0, 1], [2, 3], [4]]
    assert [len(job) for job in _grid_jobs(_config(lockstep="all"))] == [5]
    # An agent without a lockstep learner (the attention agent): a single value leaves it alone.
    config = _config(lockstep="all", agents=["ddqn", "attention"])
    attention = [run for run in run_table(config) if "/runs/attention/" in run.path]
    assert attention and all(len(job) == 1 for job in training_jobs(attention, config))


def test_a_finished_run_is_never_in_a_lockstep_job():
    done = {"results/smoke/runs/ddqn/Qbert/s1", "results/smoke/runs/ddqn/Qbert/s3"}
    jobs = _grid_jobs(_config(lockstep="all"), done)
    groups = sorted([run.seed for run in job] for job in jobs)
    assert groups == [[0, 2, 4], [1], [3]]  # the finished seeds keep their own one-run jobs
    lockstep = next(job for job in jobs if len(job) > 1)
    assert all(run.path not in done for run in lockstep)


def test_the_confirmatory_studys_runs_train_alone_whatever_lockstep_says():
    config = _config(lockstep="all")
    grid = [run for run in run_table(config) if "/runs/ddqn/" in run.path]
    # This grid's folder stands for the study's runs_dir; a mere prefix of it does not count.
    study = config | {"confirmatory": {"runs_dir": "results/smoke/runs"}}
    assert all(len(job) == 1 for job in training_jobs(grid, study))
    prefix = config | {"confirmatory": {"runs_dir": "results/smoke/run"}}
    assert [len(job) for job in training_jobs(grid, prefix)] == [5]


def test_the_attention_figures_show_seed_0_of_each_game_and_refuse_two_candidates():
    study = yaml.safe_load((ROOT / "config" / "confirmatory.yaml").read_text())
    showcase = attention_showcase(study)
    assert sorted(showcase) == [
        f"MinAtar-{game}"
        for game in sorted(["Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders"])
    ]
    assert (
        showcase["MinAtar-Freeway"]
        == "results/confirmatory/runs/attention-3-seeds/MinAtar-Freeway/s0"
    )
    assert showcase["MinAtar-Breakout"] == "results/confirmatory/runs/attention/MinAtar-Breakout/s0"
    arms = study["confirmatory"]["arms"]
    arms["attention-again"] = dict(arms["attention-3-seeds"], games=["MinAtar-Breakout"])
    with pytest.raises(UsageError, match="amendment 7 draws one run per game"):
        attention_showcase(study)


def test_the_registry_says_which_agents_train_in_lockstep():
    assert {name for name, entry in AGENTS.items() if entry.lockstep} == set(LEARNERS)
    with pytest.raises(UsageError, match="random cannot train in lockstep"):
        check_lockstep({"lockstep": {"random": 4}})


def test_the_run_table_imports_no_torch():
    code = "import sys, agents.runtable, agents.pipeline; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
