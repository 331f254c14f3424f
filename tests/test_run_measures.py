"""A run's interpretability measures (agents.interpret.run_measures) and their collection."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.errors import UsageError
from agents.interpret import run_measures as rm

ROOT = Path(__file__).resolve().parent.parent
PILOT_IDQN = ROOT / "results/minatar/runs/idqn/MinAtar-Breakout/s0"
TINY = rm.Settings(
    rollouts=2,
    max_steps=40,
    permutations=20,
    embedding_states=30,
    gaussian_draws=5,
    purity_permutations=10,
    fixed_states=6,
    grounding_states=4,
)


def test_each_arm_carries_the_measures_of_amendment_1():
    assert rm.measures_of("idqn", "MinAtar-Breakout") == (
        "claim3",
        "claim4",
        "claim5",
        "claim9",
        "grounding",
    )
    assert rm.measures_of("idqn", "MinAtar-Freeway") == ("claim3", "claim4", "grounding")
    assert rm.measures_of("idqn-vae-beta0", "MinAtar-SpaceInvaders") == ("claim5",)
    assert rm.measures_of("idqn-no-diversity", "MinAtar-Breakout") == ("claim9",)
    assert rm.measures_of("sb3-dqn", "MinAtar-Breakout") == ()


def test_the_sizes_are_amendment_1s():
    """The pre-registered sizes (docs/preregistration-amendments.md, A1.3 and A1.4), written out
    here once more so that a change to the defaults fails a test, not a verdict."""
    from dataclasses import asdict

    from agents.confirmatory import BOOTSTRAP_REPS, BOOTSTRAP_SEED
    from agents.confirmatory_interpret import CLAIM3_THRESHOLD, FEW_KEYS

    assert asdict(rm.PREREGISTERED) == {
        "rollouts": 10,
        "max_steps": 5_000,
        "permutations": 1_000,
        "embedding_states": 500,
        "gaussian_draws": 200,
        "neighbours": 10,
        "purity_permutations": 1_000,
        "fixed_states": 200,
        "grounding_states": 200,
        "grounding_examples": 3,
    }
    assert (BOOTSTRAP_REPS, BOOTSTRAP_SEED) == (10_000, 0)
    assert pytest.approx(np.log(1.5)) == CLAIM3_THRESHOLD and FEW_KEYS == 5.0


def test_the_permutation_null_matches_other_rollouts_only():
    actions = [np.zeros(50, int), np.ones(40, int), np.full(60, 2)]
    # Each rollout's suggestions equal its own actions: the observed agreement is 1, and any
    # other rollout's actions never agree.
    null = rm.permutation_null(actions, actions, permutations=200, seed=0)
    assert null.shape == (200,) and (null == 0).all()
    same = [np.zeros(50, int)] * 3
    assert (rm.permutation_null(same, same, 10, 0) == 1).all()
    with pytest.raises(ValueError, match="2 rollouts"):
        rm.permutation_null(actions[:1], actions[:1], 10, 0)


def test_interpret_json_round_trips_and_records_its_provenance(tmp_path):
    result = rm.compute(PILOT_IDQN, settings=TINY, arm="idqn-vae-beta0")
    path = rm.write(tmp_path / rm.INTERPRET_FILE, result)
    again = rm.read(path)
    assert again == json.loads(json.dumps(result))
    assert again["schema_version"] == rm.SCHEMA_VERSION and again["code_commit"]
    assert again["streams"]["agreement"] == {"stream": "AGREEMENT_STREAM", "run_seed": 0}
    claim5 = again["measures"]["claim5"]
    assert len(claim5["rollout_excess"]) == 2
    assert max(claim5["rollout_steps"]) <= 40
    assert claim5["excess_agreement"] == pytest.approx(claim5["agreement"] - claim5["chance"])
    assert set(again["measures"]) == {"claim5"}
    path.write_text(json.dumps(again | {"schema_version": 0}))
    with pytest.raises(UsageError, match="schema version"):
        rm.read(path)


def test_claim9_is_measured_on_the_reference_runs_fixed_states():
    first = rm.compute(PILOT_IDQN, settings=TINY, arm="idqn-no-diversity")
    second = rm.compute(PILOT_IDQN, settings=TINY, arm="idqn-no-diversity")
    assert first["inputs"]["fixed_states_sha256"] == second["inputs"]["fixed_states_sha256"]
    claim9 = first["measures"]["claim9"]
    assert claim9["states"] == 6 and 1 <= claim9["effective_keys"] <= claim9["keys"]


def _fake_run(folder: Path, interpret: bool) -> None:
    folder.mkdir(parents=True)
    for name in ("config.yaml", "meta.json", "train.log", "summary.json"):
        (folder / name).write_text("{}\n")
    (folder / "episodes.csv").write_text("frame,episode,return,length,seconds\n")
    (folder / "evals.csv").write_text("frame,episode,return,length\n")
    if interpret:
        (folder / rm.INTERPRET_FILE).write_text('{"schema_version": 1}\n')


def test_collect_refuses_a_variant_run_without_interpret_json(tmp_path):
    repo, source = tmp_path / "repo", tmp_path / "training"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "collect_confirmatory.sh", repo / "tools")
    shutil.copy(ROOT / "tools" / "run_states.sh", repo / "tools")
    runs = source / "results/confirmatory/runs"
    _fake_run(runs / "idqn-vae-beta0/MinAtar-Breakout/s0", interpret=False)  # no weights either
    _fake_run(runs / "idqn-dense-vae/MinAtar-Breakout/s0", interpret=True)
    env = os.environ | {"PY": sys.executable, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["bash", str(repo / "tools/collect_confirmatory.sh"), str(source)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "refused results/confirmatory/runs/idqn-vae-beta0/MinAtar-Breakout/s0" in done.stderr
    refused = repo / "results/confirmatory/runs/idqn-vae-beta0/MinAtar-Breakout"
    assert not list(refused.glob("s0*"))  # neither the run nor its incoming folder
    collected = repo / "results/confirmatory/runs/idqn-dense-vae/MinAtar-Breakout/s0"
    assert (collected / rm.INTERPRET_FILE).is_file() and not (collected / "model.pt").exists()
    assert (collected / "episodes.csv.xz").is_file()


def test_collect_keeps_the_no_attention_losses_of_seed_0_only(tmp_path):
    """Amendment 5: of the attention arms' runs, only seed 0 brings its losses.csv."""
    repo, source = tmp_path / "repo", tmp_path / "training"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "collect_confirmatory.sh", repo / "tools")
    shutil.copy(ROOT / "tools" / "run_states.sh", repo / "tools")
    for seed in (0, 1):
        run = source / f"results/confirmatory/runs/no-attention/MinAtar-Breakout/s{seed}"
        _fake_run(run, interpret=False)
        (run / "losses.csv").write_text("update,loss\n")
        (run / "model.pt").write_bytes(b"")
    env = os.environ | {"PY": sys.executable, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        ["bash", str(repo / "tools/collect_confirmatory.sh"), str(source)],
        capture_output=True,
        env=env,
        check=True,
    )
    runs = repo / "results/confirmatory/runs/no-attention/MinAtar-Breakout"
    assert (runs / "s0" / "losses.csv.xz").is_file()
    assert (runs / "s1" / "episodes.csv.xz").is_file() and not (
        runs / "s1" / "losses.csv.xz"
    ).exists()
    assert not list(runs.glob("s*/model.pt"))  # the baseline brings no weights


def test_collect_brings_a_run_stopped_on_a_non_finite_loss_with_its_marker(tmp_path):
    """The pre-registration scores a failed run as random: it is collected with failed.json."""
    repo, source = tmp_path / "repo", tmp_path / "training"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "collect_confirmatory.sh", repo / "tools")
    shutil.copy(ROOT / "tools" / "run_states.sh", repo / "tools")
    runs = source / "results/confirmatory/runs/idqn/MinAtar-Breakout"
    for seed, log in ((0, "error: non-finite td loss at update 9 (step 80)\n"), (1, "killed\n")):
        _fake_run(runs / f"s{seed}", interpret=False)
        (runs / f"s{seed}" / "summary.json").unlink()
        (runs / f"s{seed}" / "train.log").write_text(log)
        (runs / f"s{seed}" / "checkpoint.pt").write_bytes(b"")
    env = os.environ | {"PY": sys.executable, "PYTHONPATH": str(ROOT)}
    command = ["bash", str(repo / "tools/collect_confirmatory.sh"), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    collected = repo / "results/confirmatory/runs/idqn/MinAtar-Breakout"
    assert done.stdout.split() == ["results/confirmatory/runs/idqn/MinAtar-Breakout/s0"]
    assert "as failed (non-finite loss)" in done.stderr
    assert json.loads((collected / "s0" / "failed.json").read_text())["reason"].startswith(
        "error: non-finite td loss"
    )
    assert (collected / "s0" / "episodes.csv.xz").is_file()
    assert not (collected / "s0" / "checkpoint.pt").exists() and not (collected / "s1").exists()
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert again.stdout.strip() == ""  # collected once


def test_examples_keep_evenly_spaced_states_with_their_maps_as_shares():
    names = ("paddle", "ball")
    states = np.zeros((6, 2 * len(names), 10, 10), dtype=np.uint8)  # two stacked frames
    states[:, -1, 3, 3] = 255  # the newest frame's ball
    states[:, 1, 0, 0] = 255  # the older frame's ball: not drawn
    maps = np.zeros((6, 10, 10))
    maps[:, 3, 3] = np.arange(6)  # state 0's map has no mass
    maps[:, 4, 4] = 1.0
    found = rm._examples(states, maps, names, count=3)
    assert found["channel_names"] == list(names)
    frames = np.asarray(found["frames"])
    assert frames.shape == (3, 2, 10, 10) and frames.max() == 1 and frames[:, 1, 0, 0].sum() == 0
    shares = np.asarray(found["maps"])
    assert shares.sum(axis=(1, 2)) == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
    assert shares[:, 3, 3] == pytest.approx([0.0, 2 / 3, 4 / 5], abs=1e-5)  # states 0, 2, 4


def test_grounding_keeps_example_maps_of_the_states_it_measures():
    from agents.rundir import load_agent

    run, config, agent = load_agent(PILOT_IDQN, device="cpu")
    found = rm.grounding_measures(run, config, agent, 0, rm.Settings(grounding_states=4))
    for name in ("q_saliency", "attention_saliency"):
        examples = found[name]["examples"]
        assert len(examples["maps"]) == 3 and "paddle" in examples["channel_names"]
        assert np.asarray(examples["frames"]).shape == (3, len(examples["channel_names"]), 10, 10)
    quiet = rm.Settings(grounding_states=4, grounding_examples=0)
    assert (
        "examples" not in rm.grounding_measures(run, config, agent, 0, quiet, False)["q_saliency"]
    )


def test_the_attention_agents_grounding_reads_its_attention_as_it_plays():
    run = ROOT / "results/minatar/runs/attention/MinAtar-Breakout/s0"
    found = rm.attention_agent_grounding(run, count=3, examples=2)
    shares = found["spatial_attention"]
    assert shares["states"] == 3 and 0.0 <= shares["share_on_objects"] <= 1.0
    assert 0.0 < shares["occupancy"] < 0.2
    maps = np.asarray(shares["examples"]["maps"])
    assert maps.shape == (2, 10, 10) and maps.sum(axis=(1, 2)) == pytest.approx(
        [1.0, 1.0], abs=1e-3
    )


def test_an_attention_arms_run_carries_its_grounding_on_every_seed(tmp_path):
    """Amendment 5: the attention arms' interpret.json holds the spatial attention's share on the
    objects, from the run's weights; the no-attention baseline has no attention to measure."""
    assert rm.measures_of("attention", "MinAtar-Freeway") == ("grounding",)
    assert rm.measures_of("no-attention", "MinAtar-Breakout") == ()
    run = ROOT / "results/minatar/runs/attention/MinAtar-Breakout/s0"
    result = rm.compute(run, settings=TINY)
    assert result["arm"] == "attention" and result["seed"] == 0
    assert result["inputs"]["weights_sha256"] == rm.weights_digest(run)
    shares = result["measures"]["grounding"]["spatial_attention"]
    assert shares["states"] == TINY.grounding_states and 0.0 <= shares["share_on_objects"] <= 1.0
    assert rm.read(rm.write(tmp_path / rm.INTERPRET_FILE, result)) == json.loads(json.dumps(result))
    with pytest.raises(UsageError, match="needs an attention-agent run"):
        rm.compute(PILOT_IDQN, settings=TINY, arm="attention")
