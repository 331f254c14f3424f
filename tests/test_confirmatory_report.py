"""The confirmatory study's report on constructed runs (agents.confirmatory_report)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.__main__ import main
from agents.confirmatory import SCORE_GAMES
from agents.confirmatory_report import (
    ANCHORS,
    Study,
    build,
    load_study,
    preregistered_tests,
    run_test,
)
from agents.errors import UsageError

BUDGET = 1000
GAMES = [*SCORE_GAMES, "MinAtar-Seaquest"]


def _config(root, arms=None) -> dict:
    return {
        "confirmatory": {
            "runs_dir": str(root),
            "budgets": dict.fromkeys(GAMES, BUDGET),
            "evaluation": {"phases": 10, "episodes": 2, "max_steps": 100},
            "arms": arms
            or {
                "ddqn": {"agent": "ddqn", "preset": "minatar", "seeds": [0, 1, 2, 3, 4]},
                "idqn": {"agent": "idqn", "preset": "minatar", "seeds": [0, 1, 2, 3, 4]},
            },
        }
    }


def _write_run(folder, final: float, early: float, cpu="CPU A") -> None:
    """A finished run whose last phase averages ``final`` and first phase ``early``."""
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    (folder / "meta.json").write_text(json.dumps({"invocations": [{"cpu_model": cpu}]}))
    rows = ["frame,episode,return,length"]
    for phase in range(1, 11):
        value = early if phase == 1 else final
        rows += [f"{phase * 100},0,{value - 1},5", f"{phase * 100},1,{value + 1},5"]
    (folder / "evals.csv").write_text("\n".join(rows) + "\n")
    episodes = ["frame,episode,return,length,seconds"]
    episodes += [
        f"{f},{i},{final if f > 900 else early},10,0.1" for i, f in enumerate(range(10, 1001, 10))
    ]
    (folder / "episodes.csv").write_text("\n".join(episodes) + "\n")


def _study(root, shift_norm: float) -> None:
    """DDQN at the reference DQN everywhere, i-DQN ``shift_norm`` normalised units from it."""
    anchors = pd.read_csv(ANCHORS).set_index("game")
    rng = np.random.default_rng(0)
    for game in GAMES:
        scale = anchors.loc[game, "dqn_at_budget"] - anchors.loc[game, "random"]
        for seed in range(5):
            noise = rng.normal(0, 0.02) * scale
            base = anchors.loc[game, "dqn_at_budget"]
            _write_run(root / "ddqn" / game / f"s{seed}", base + noise, base + noise)
            shifted = base + shift_norm * scale - noise
            _write_run(root / "idqn" / game / f"s{seed}", shifted, shifted)


def _verdicts(out) -> pd.DataFrame:
    return pd.read_csv(out / "verdicts.csv", dtype={"claim": str})


def _primary(verdicts: pd.DataFrame, claim: str, kind="non-inferiority") -> str:
    row = verdicts[
        (verdicts["claim"] == claim)
        & (verdicts["scope"] == "aggregate (IQM)")
        & (verdicts["kind"] == kind)
        & verdicts["statistic"].isin(["final_eval", "early_eval"])
    ]
    return row["verdict"].item()


def test_a_tie_is_competitive_and_not_faster(tmp_path):
    _study(tmp_path / "runs", 0.0)
    build(_config(tmp_path / "runs"), tmp_path / "out")
    verdicts = _verdicts(tmp_path / "out")
    assert _primary(verdicts, "1") == "holds"
    assert _primary(verdicts, "2") == "holds"
    assert _primary(verdicts, "2", "superiority") == "inconclusive"
    per_game = verdicts[(verdicts["claim"] == "1") & (verdicts["statistic"] == "final_eval")]
    assert set(per_game["verdict"]) == {"holds"} and len(per_game) == 5  # aggregate + 4 games
    assert (tmp_path / "out" / "curves.png").is_file()
    assert (tmp_path / "out" / "aggregate.png").is_file()
    main_table = pd.read_csv(tmp_path / "out" / "main.csv")
    assert set(main_table["runs"]) == {"5/5"}


def test_a_clear_loss_does_not_hold(tmp_path):
    _study(tmp_path / "runs", -0.6)
    build(_config(tmp_path / "runs"), tmp_path / "out")
    verdicts = _verdicts(tmp_path / "out")
    assert _primary(verdicts, "1") == "does not hold"
    assert _primary(verdicts, "2", "superiority") == "does not hold"


def test_missing_runs_give_not_yet_and_a_failed_run_scores_as_random(tmp_path):
    from agents.runtable import FAILED_FILE, is_failed_run, record_failure

    _study(tmp_path / "runs", 0.0)
    missing = tmp_path / "runs" / "idqn" / "MinAtar-Breakout" / "s4"
    for path in missing.iterdir():
        path.unlink()
    build(_config(tmp_path / "runs"), tmp_path / "out")
    # Amendment 15: one run short, the whole group is withheld, every test and table of it.
    withheld = "not yet (withheld: 49 of 50 runs of the score claims group finished)"
    verdicts = _verdicts(tmp_path / "out")
    assert set(verdicts["verdict"]) == {withheld}
    assert verdicts["estimate"].isna().all() and verdicts["runs"].isna().all()
    main_table = pd.read_csv(tmp_path / "out" / "main.csv")
    assert main_table["final_eval"].isna().all()
    assert set(main_table["runs"]) == {"withheld (5/5 finished)", "withheld (4/5 finished)"}
    # Without the group's rule, the test itself counts its runs.
    study = Study.from_config(_config(tmp_path / "runs"))
    runs = load_study(study, pd.read_csv(ANCHORS).set_index("game"))
    tests = [t for t in preregistered_tests(study) if t.claim == "1" and t.aggregate]
    assert run_test(runs, tests[0])["verdict"] == "not yet (39 of 40 runs)"
    # The rule declares aggregate.png: it is written (saying "not yet") before every run is in.
    assert (tmp_path / "out" / "aggregate.png").is_file()
    (missing / "train.log").write_text("interrupted\n")  # a killed run has not failed
    assert record_failure(missing) is None and not (missing / FAILED_FILE).exists()
    assert not is_failed_run(missing)
    (missing / "train.log").write_text("error: non-finite loss loss at update 7 (step 90)\n")
    marker = record_failure(missing)
    assert json.loads(marker.read_text()) == {
        "reason": "error: non-finite loss loss at update 7 (step 90)"
    }
    assert is_failed_run(missing)
    runs = load_study(
        Study.from_config(_config(tmp_path / "runs")), pd.read_csv(ANCHORS).set_index("game")
    )
    failed = runs[runs["failed"]]
    assert len(failed) == 1 and failed["final_eval_norm"].item() == pytest.approx(0.0)
    build(_config(tmp_path / "runs"), tmp_path / "out")
    verdicts = _verdicts(tmp_path / "out")
    assert not _primary(verdicts, "1").startswith("not yet")  # the failed run is finished
    breakout = verdicts[
        (verdicts["claim"] == "1")
        & (verdicts["scope"] == "MinAtar-Breakout")
        & (verdicts["statistic"] == "final_eval")
    ]
    assert breakout["runs"].item() == "10/10" and breakout["estimate"].item() < -0.15


def _rewrite_training_returns(root, arm: str, value_of) -> None:
    """Set every training episode's return of ``arm`` to ``value_of(game)``."""
    for folder in (root / arm).glob("*/s*"):
        episodes = pd.read_csv(folder / "episodes.csv")
        episodes["return"] = value_of(folder.parent.name)
        episodes.to_csv(folder / "episodes.csv", index=False)


def test_a_clear_win_is_faster_and_the_aggregate_reports_p_improvement(tmp_path):
    _study(tmp_path / "runs", 0.6)
    build(_config(tmp_path / "runs"), tmp_path / "out")
    verdicts = _verdicts(tmp_path / "out")
    assert _primary(verdicts, "1") == "holds"
    assert _primary(verdicts, "2", "superiority") == "holds"
    aggregate = verdicts[verdicts["scope"] == "aggregate (IQM)"]
    assert (aggregate["p_improvement"] == 1.0).all()
    assert (aggregate["detectable_margin_80"] > 0).all()
    assert verdicts.loc[verdicts["scope"] != "aggregate (IQM)", "p_improvement"].isna().all()


def test_a_wide_interval_is_inconclusive_in_the_report(tmp_path):
    _study(tmp_path / "runs", 0.0)
    anchors = pd.read_csv(ANCHORS).set_index("game")
    for seed, sign in enumerate((-1, 1, -1, 1, 0)):  # i-DQN's seeds 1.5 references apart
        for game in GAMES:
            scale = anchors.loc[game, "dqn_at_budget"] - anchors.loc[game, "random"]
            score = anchors.loc[game, "dqn_at_budget"] + sign * 1.5 * scale
            folder = tmp_path / "runs" / "idqn" / game / f"s{seed}"
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
            _write_run(folder, score, score)
    build(_config(tmp_path / "runs"), tmp_path / "out")
    verdicts = _verdicts(tmp_path / "out")
    per_game = verdicts[
        (verdicts["claim"] == "1")
        & (verdicts["scope"] != "aggregate (IQM)")
        & (verdicts["statistic"] == "final_eval")
    ]
    assert set(per_game["verdict"]) == {"inconclusive"}


def test_secondary_rows_are_not_binding_and_disagreements_are_named(tmp_path):
    _study(tmp_path / "runs", 0.0)
    anchors = pd.read_csv(ANCHORS).set_index("game")
    _rewrite_training_returns(tmp_path / "runs", "idqn", lambda game: anchors.loc[game, "random"])
    build(_config(tmp_path / "runs"), tmp_path / "out")
    verdicts = _verdicts(tmp_path / "out")
    claim1 = verdicts[(verdicts["claim"] == "1") & (verdicts["scope"] == "aggregate (IQM)")]
    primary, secondary = (
        claim1[claim1["statistic"] == s].iloc[0] for s in ("final_eval", "train_last10")
    )
    assert primary["binding"] and primary["verdict"] == "holds"
    assert not secondary["binding"] and secondary["verdict"] == "does not hold"
    assert secondary["note"] == "disagrees with the primary statistic (holds)"
    assert verdicts.loc[verdicts["binding"], "note"].isna().all()  # empty: written as ""


def _secondary_arms_config(root) -> dict:
    config = _config(root)
    config["confirmatory"]["arms"] |= {
        "sb3-dqn": {"agent": "sb3-dqn", "preset": "minatar", "seeds": [0, 1, 2]},
        "idqn-original-code": {
            "agent": "idqn",
            "preset": "minatar-original-code",
            "seeds": [0, 1, 2],
            "games": ["MinAtar-Breakout", "MinAtar-Freeway"],
        },
    }
    return config


def test_s1_and_s2_on_constructed_arms(tmp_path):
    """SB3 at DDQN's level (S2 holds); the original code's settings 0.6 below i-DQN on
    Breakout (a change, and not competitive with DDQN) and equal to it on Freeway."""
    root = tmp_path / "runs"
    _study(root, 0.0)
    anchors = pd.read_csv(ANCHORS).set_index("game")
    rng = np.random.default_rng(2)
    for game in GAMES:
        base, random = anchors.loc[game, "dqn_at_budget"], anchors.loc[game, "random"]
        for seed in range(3):
            noise = rng.normal(0, 0.02) * (base - random)
            _write_run(root / "sb3-dqn" / game / f"s{seed}", base + noise, base + noise)
            if game in ("MinAtar-Breakout", "MinAtar-Freeway"):
                shift = -0.6 if game == "MinAtar-Breakout" else 0.0
                score = base + (shift + rng.normal(0, 0.02)) * (base - random)
                _write_run(root / "idqn-original-code" / game / f"s{seed}", score, score)
    build(_secondary_arms_config(root), tmp_path / "out")
    verdicts = _verdicts(tmp_path / "out")
    primary = verdicts[verdicts["binding"]]

    def found(claim: str, scope: str, b: str) -> str:
        row = primary[
            (primary["claim"] == claim) & (primary["scope"] == scope) & (primary["b"] == b)
        ]
        return row["verdict"].item()

    assert found("S2", "aggregate (IQM)", "SB3 DQN") == "holds"
    assert found("S2", "MinAtar-Breakout", "SB3 DQN") == "holds"
    assert found("S1", "MinAtar-Breakout", "i-DQN") == "holds"  # the settings change the score
    assert found("S1", "MinAtar-Breakout", "DDQN") == "does not hold"
    assert found("S1", "MinAtar-Freeway", "i-DQN") == "does not hold"  # no change
    assert found("S1", "MinAtar-Freeway", "DDQN") == "holds"
    s1 = verdicts[verdicts["claim"] == "S1"]
    assert set(s1["statistic"]) == {"final_eval", "train_last10"} and len(s1) == 8
    # Equivalence needs both sides: its detectable margin is at one-sided power 0.9.
    from agents.confirmatory import detectable_margin

    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    breakout = runs[runs["game"] == "MinAtar-Breakout"].groupby("arm")["final_eval_norm"]
    sd = breakout.std(ddof=1)
    row = primary[(primary["claim"] == "S2") & (primary["scope"] == "MinAtar-Breakout")]
    assert row["detectable_margin_80"].item() == pytest.approx(
        detectable_margin(sd["ddqn"], sd["sb3-dqn"], 5, 3, power=0.9),
        rel=5e-3,  # CSV: 4 digits
    )


def test_a_nan_in_a_log_stops_the_report_naming_the_file(tmp_path, capsys):
    _study(tmp_path / "runs", 0.0)
    evals = tmp_path / "runs" / "ddqn" / "MinAtar-Freeway" / "s2" / "evals.csv"
    evals.write_text(evals.read_text() + "1000,2,nan,5\n")
    config = tmp_path / "study.yaml"
    import yaml

    config.write_text(yaml.safe_dump(_config(tmp_path / "runs")))
    assert main(["confirmatory", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    assert f"run {evals.parent}: evals.csv row 21 has return nan" in capsys.readouterr().err
    assert not (tmp_path / "out" / "verdicts.csv").exists()


def _load(root) -> pd.DataFrame:
    return load_study(Study.from_config(_config(root)), pd.read_csv(ANCHORS).set_index("game"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("1000,1,", "1000,9,", 1) + "1000,2,3,5\n", "phases of 2"),
        (lambda text: text.replace("500,", "550,"), "phases of 2 episodes at every 100 steps"),
    ],
)
def test_a_run_off_the_evaluation_protocol_stops_the_report_naming_it(tmp_path, edit, message):
    _study(tmp_path / "runs", 0.0)
    evals = tmp_path / "runs" / "idqn" / "MinAtar-Asterix" / "s3" / "evals.csv"
    _load(tmp_path / "runs")  # the constructed runs follow it
    evals.write_text(edit(evals.read_text()))
    with pytest.raises(UsageError, match=f"{evals}: not 10 {message}"):
        _load(tmp_path / "runs")
    # Withheld too (amendment 17): where its phases are is checked, and no return is read.
    study = Study.from_config(_config(tmp_path / "runs"))
    anchors = pd.read_csv(ANCHORS).set_index("game")
    with pytest.raises(UsageError, match=f"{evals}: not 10 {message}"):
        load_study(study, anchors, withheld={"idqn"})


def test_a_finished_run_that_leaves_a_window_empty_or_is_marked_failed_stops_the_report(tmp_path):
    _study(tmp_path / "runs", 0.0)
    run = tmp_path / "runs" / "ddqn" / "MinAtar-Freeway" / "s1"
    episodes = pd.read_csv(run / "episodes.csv")
    episodes[(episodes["frame"] <= 900) | (episodes["frame"] == 1000)].to_csv(
        run / "episodes.csv", index=False
    )
    _load(tmp_path / "runs")  # one episode in (900, 1000] is enough
    episodes[episodes["frame"] <= 900].to_csv(run / "episodes.csv", index=False)
    with pytest.raises(
        UsageError, match="no training episode ends in the last 10% of the first 1000"
    ):
        _load(tmp_path / "runs")
    episodes.to_csv(run / "episodes.csv", index=False)
    (run / "failed.json").write_text("{}")
    with pytest.raises(UsageError, match="holds both summary.json and failed.json"):
        _load(tmp_path / "runs")


def test_packed_logs_read_the_same(tmp_path):
    from agents.files import pack_logs

    _study(tmp_path / "runs", 0.0)
    build(_config(tmp_path / "runs"), tmp_path / "plain")
    for run in (tmp_path / "runs").glob("*/*/s*"):
        pack_logs(run)
    assert not list((tmp_path / "runs").rglob("*.csv"))
    build(_config(tmp_path / "runs"), tmp_path / "packed")
    for name in ("runs.csv", "main.csv", "verdicts.csv"):
        assert (tmp_path / "plain" / name).read_text() == (tmp_path / "packed" / name).read_text()


def test_halved_weights_load_and_act_like_the_originals(tiny_minatar_run):
    """A model.pt stored as float16 loads into the float32 agent; its Q-values are the
    original's to float16's precision."""
    import torch

    from agents.rundir import load_agent

    out = tiny_minatar_run
    (out / "checkpoint.pt").unlink()  # as committed: weights only
    size = (out / "model.pt").stat().st_size
    _, _, full = load_agent(out, "cpu")
    assert main(["pack", "--half-weights", str(out)]) == 0
    assert (out / "model.pt").stat().st_size < 0.6 * size
    _, _, halved = load_agent(out, "cpu")
    obs = torch.randint(0, 2, (8, *full.spec.obs_shape), dtype=torch.uint8) * 255
    assert torch.allclose(halved.q_values(obs), full.q_values(obs), rtol=1e-2, atol=1e-3)
    assert next(halved.online.parameters()).dtype == torch.float32


MOTT_GAMES = ["MinAtar-Breakout", "MinAtar-SpaceInvaders", "MinAtar-Asterix"]
OTHER_GAMES = ["MinAtar-Freeway", "MinAtar-Seaquest"]


def _attention_config(root, pilot) -> dict:
    arms = {
        "attention": {"agent": "attention", "preset": "minatar-v2", "seeds": [0, 1, 2, 3, 4]},
        "no-attention": {"agent": "no-attention", "preset": "minatar-v2", "seeds": [0, 1, 2, 3, 4]},
        "attention-3-seeds": {"agent": "attention", "preset": "minatar-v2", "seeds": [0, 1, 2]},
    }
    arms["attention"]["games"] = arms["no-attention"]["games"] = MOTT_GAMES
    arms["attention-3-seeds"]["games"] = OTHER_GAMES
    config = _config(root)
    config["confirmatory"]["arms"] |= arms
    return config | {"runs_dir": str(pilot)}


def _attention_study(root, pilot, gap_norm: float, at_random: tuple[str, ...] = ()) -> None:
    """The baseline at the reference DQN, the attention agent ``gap_norm`` normalised units below
    it, except on ``at_random`` where it plays at random; random-policy episodes in ``pilot``."""
    _study(root, 0.0)
    anchors = pd.read_csv(ANCHORS).set_index("game")
    rng = np.random.default_rng(1)
    for game in GAMES:
        random = anchors.loc[game, "random"]
        folder = pilot / "random" / game / "s0"
        folder.mkdir(parents=True)
        rows = ["frame,episode,return,length,seconds"]
        rows += [f"{10 * i},{i},{random + rng.normal(0, 0.3):.3f},10,0.1" for i in range(1, 300)]
        (folder / "episodes.csv").write_text("\n".join(rows) + "\n")
        scale = anchors.loc[game, "dqn_at_budget"] - random
        for seed in range(5):
            base = anchors.loc[game, "dqn_at_budget"] + rng.normal(0, 0.02) * scale
            if game in MOTT_GAMES:
                _write_run(root / "no-attention" / game / f"s{seed}", base, base)
            score = random if game in at_random else base - gap_norm * scale
            arm = "attention" if game in MOTT_GAMES else "attention-3-seeds"
            if arm == "attention" or seed < 3:
                _write_run(root / arm / game / f"s{seed}", score, score)


def test_mott_claim_holds_for_a_tie_and_fails_for_a_clear_loss(tmp_path):
    for gap, expected in ((0.0, "holds"), (0.6, "does not hold")):
        runs, pilot, out = tmp_path / f"runs{gap}", tmp_path / f"pilot{gap}", tmp_path / f"out{gap}"
        _attention_study(runs, pilot, gap)
        build(_attention_config(runs, pilot), out)
        verdicts = _verdicts(out)
        mott = verdicts[verdicts["claim"] == "Mott"]
        assert set(mott["scope"]) == {"aggregate (IQM)", *MOTT_GAMES}
        assert _primary(verdicts, "Mott") == expected
        carrying = mott[mott["carries_claim"]]  # amendment 10: the aggregate, primary statistic
        assert list(carrying["scope"]) == ["aggregate (IQM)"]
        assert carrying["verdict"].item() == expected
        assert (out / "attention-curves.png").stat().st_size > 10_000


def test_the_attention_agent_above_random_on_four_games_holds_and_on_three_does_not(tmp_path):
    from agents.confirmatory_report import Study, above_random_test

    for at_random, expected in ((("MinAtar-Seaquest",), "holds"), (OTHER_GAMES, "does not hold")):
        root = tmp_path / "-".join(at_random)
        _attention_study(root / "runs", root / "pilot", 0.0, at_random)
        study = Study.from_config(_attention_config(root / "runs", root / "pilot"))
        table = above_random_test(study, root / "pilot")
        assert table["verdict"].iloc[-1].startswith(expected), table
        per_game = table.dropna(subset=["every_seed_above_random"])
        found = zip(per_game["game"], per_game["every_seed_above_random"], strict=True)
        assert dict(found) == {game: game not in at_random for game in GAMES}


def test_a_window_no_test_reads_may_be_empty_and_one_a_test_reads_may_not(tmp_path):
    # Amendment 16: 16 lockstep environments end Freeway's fixed-length episodes together, so
    # the attention agent's early window (steps 90-100) can hold no episode end. No test reads
    # that arm's training statistic early; claim 2's secondary reads i-DQN's.
    from agents.confirmatory_report import ARM_LABELS, Study, load_study, main_table

    _attention_study(tmp_path / "runs", tmp_path / "pilot", 0.0)
    study = Study.from_config(_attention_config(tmp_path / "runs", tmp_path / "pilot"))
    anchors = pd.read_csv(ANCHORS).set_index("game")
    for arm in ("attention-3-seeds", "idqn"):
        run = tmp_path / "runs" / arm / "MinAtar-Freeway" / "s0"
        episodes = pd.read_csv(run / "episodes.csv")
        episodes[(episodes["frame"] <= 80) | (episodes["frame"] > 100)].to_csv(
            run / "episodes.csv", index=False
        )
        if arm == "attention-3-seeds":
            runs = load_study(study, anchors)
            row = runs.set_index(["arm", "game", "seed"]).loc[(arm, "MinAtar-Freeway", 0)]
            assert row["complete"] and pd.isna(row["train_early"]), row
            assert row["train_last10"] == pytest.approx(row["final_eval"])
            # The game's cell is blank, not a mean over the seeds that have the window.
            cell = (
                main_table(runs)
                .set_index(["game", "arm"])
                .loc[("MinAtar-Freeway", ARM_LABELS[arm])]
            )
            assert pd.isna(cell["train_early"]) and cell["final_eval"] > 0, cell
    with pytest.raises(UsageError, match="idqn/MinAtar-Freeway/s0: no training episode ends"):
        load_study(study, anchors)


def test_the_above_random_test_needs_its_window_in_every_attention_run(tmp_path):
    # The above-random test reads the training episodes of the last 10% of the budget of every
    # attention arm, so that window must hold episodes (amendment 16), two for Welch's test.
    from agents.confirmatory_report import Study, above_random_test, load_study

    _attention_study(tmp_path / "runs", tmp_path / "pilot", 0.0)
    study = Study.from_config(_attention_config(tmp_path / "runs", tmp_path / "pilot"))
    anchors = pd.read_csv(ANCHORS).set_index("game")
    run = tmp_path / "runs" / "attention-3-seeds" / "MinAtar-Seaquest" / "s2"
    episodes = pd.read_csv(run / "episodes.csv")
    one_in_window = (episodes["frame"] <= 900) | (episodes["frame"] == 1000)
    episodes[one_in_window].to_csv(run / "episodes.csv", index=False)
    load_study(study, anchors)  # one episode in the window: the statistic is defined
    with pytest.raises(UsageError, match="1 training episodes end in the last 10%"):
        above_random_test(study, tmp_path / "pilot")
    episodes[episodes["frame"] <= 900].to_csv(run / "episodes.csv", index=False)
    with pytest.raises(UsageError, match="attention-3-seeds/MinAtar-Seaquest/s2: no training"):
        load_study(study, anchors)


def test_the_ac_lambda_test_reads_the_last_100_episodes_by_its_frames(tmp_path):
    from agents.confirmatory_report import Study, ac_lambda_test

    _attention_study(tmp_path / "runs", tmp_path / "pilot", 0.0)
    study = Study.from_config(_attention_config(tmp_path / "runs", tmp_path / "pilot"))
    # The constructed runs pay `early` until frame 900: by frame 500 that is the reference DQN's
    # score, above AC(lambda) on both games; a run whose early episodes pay 0 is below it.
    table = ac_lambda_test(study, steps=500, episodes_read=20)
    assert list(table["game"]) == ["MinAtar-Breakout", "MinAtar-SpaceInvaders", "both games"]
    assert list(table["verdict"]) == ["holds", "holds", "holds"]
    for seed in range(5):
        folder = tmp_path / "runs" / "attention" / "MinAtar-Breakout" / f"s{seed}"
        episodes = pd.read_csv(folder / "episodes.csv")
        episodes.loc[episodes["frame"] <= 500, "return"] = 0.0
        episodes.to_csv(folder / "episodes.csv", index=False)
    table = ac_lambda_test(study, steps=500, episodes_read=20)
    assert list(table["verdict"]) == ["does not hold", "holds", "does not hold"]  # both needed
    (tmp_path / "runs" / "attention" / "MinAtar-Asterix" / "s4" / "summary.json").unlink()
    assert ac_lambda_test(study, steps=500, episodes_read=20)["verdict"].tolist() == [
        "does not hold",
        "holds",
        "does not hold",
    ]
    (tmp_path / "runs" / "attention" / "MinAtar-Breakout" / "s4" / "summary.json").unlink()
    assert ac_lambda_test(study, steps=500, episodes_read=20)["verdict"].tolist()[-1] == (
        "not yet (1 of 2 games complete)"
    )
    with pytest.raises(UsageError, match="50 training episodes end by step 500, not the 100"):
        ac_lambda_test(study, steps=500)


def test_a_run_the_ac_lambda_test_cannot_read_stops_the_report_before_it_writes(tmp_path):
    _attention_study(tmp_path / "runs", tmp_path / "pilot", 0.0)
    folder = tmp_path / "runs" / "attention" / "MinAtar-Breakout" / "s2"
    episodes = pd.read_csv(folder / "episodes.csv")
    episodes = episodes[(episodes["frame"] <= 100) | (episodes["frame"] > 600)]
    episodes.to_csv(folder / "episodes.csv", index=False)
    with pytest.raises(UsageError, match="50 training episodes end by step 300000, not the 100"):
        build(_attention_config(tmp_path / "runs", tmp_path / "pilot"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_each_group_of_claims_is_read_at_once_when_its_runs_are_all_in(tmp_path):
    """Amendment 15: the score claims read while one attention run still trains, which
    withholds every test, table row and figure of the attention agent; then all of it."""
    import shutil

    import yaml

    runs, pilot, out = tmp_path / "runs", tmp_path / "pilot", tmp_path / "out"
    _attention_study(runs, pilot, 0.0)
    training = runs / "attention-3-seeds" / "MinAtar-Seaquest" / "s2"
    shutil.move(training, tmp_path / "later")
    # Withheld runs are not read: their logs unreadable, the report builds the same. Only where
    # their evaluation phases are is checked (amendment 17): no other column of evals.csv.
    logs = {
        path: path.read_bytes()
        for arm in ("attention", "no-attention", "attention-3-seeds")
        for path in (runs / arm).glob("*/s*/*.csv")
    }
    for path in logs:
        if path.name == "evals.csv":
            header, *rows = path.read_text().splitlines()
            path.write_text("\n".join([header, *(row.split(",")[0] + ",x,x,x" for row in rows)]))
        else:
            path.write_text("not a log\n")
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(_attention_config(runs, pilot)))
    command = ["confirmatory", "--config", str(config), "--out", str(out), "--no-progress"]
    assert main(command) == 0
    reading = pd.read_csv(out / "reading.csv").set_index("group")
    assert reading.loc["score claims", "read"] and not reading.loc["attention agent", "read"]
    assert reading.loc["attention agent", ["finished", "expected"]].tolist() == [35, 36]
    held = "not yet (withheld: 35 of 36 runs of the attention agent group finished)"
    verdicts = _verdicts(out)
    assert _primary(verdicts, "1") == "holds"
    mott = verdicts[verdicts["claim"] == "Mott"]
    assert set(mott["verdict"]) == {held} and mott["estimate"].isna().all()
    assert set(pd.read_csv(out / "attention-ac-lambda.csv")["verdict"]) == {held}
    above_random = pd.read_csv(out / "attention-above-random.csv")
    assert above_random["verdict"].iloc[-1] == held
    assert above_random["every_seed_above_random"].isna().all()
    assert "seeds_above_random" not in above_random
    main_table = pd.read_csv(out / "main.csv")
    attention = main_table[main_table["arm"].str.startswith(("attention", "no-attention"))]
    assert attention["final_eval"].isna().all() and len(attention) == 8
    assert set(attention["runs"]) == {
        "withheld (5/5 finished)",
        "withheld (3/3 finished)",
        "withheld (2/3 finished)",
    }
    idqn = main_table.loc[main_table["arm"] == "i-DQN", "final_eval"]
    assert len(idqn) == 5 and idqn.notna().all()
    summary = (out / "summary.md").read_text()
    row = "|attentionagent|attention,no-attention,attention-3-seeds|35/36|withheld|"
    assert row in summary.replace(" ", "")
    assert "85 of 86 runs finished." in summary

    for path, text in logs.items():
        path.write_bytes(text)
    shutil.move(tmp_path / "later", training)
    assert main(command) == 0
    assert _primary(_verdicts(out), "Mott") == "holds"
    assert pd.read_csv(out / "attention-above-random.csv")["verdict"].iloc[-1].startswith("holds")
    assert pd.read_csv(out / "main.csv")["final_eval"].notna().all()


def test_the_groups_withhold_the_scores_of_their_own_arms():
    """DDQN's and i-DQN's scores are the score claims' (their measures are the
    interpretability group's); every other arm's scores are its own group's."""
    import yaml

    from agents.confirmatory_report import measures_group, withheld_arms

    root = Path(__file__).resolve().parent.parent
    config = yaml.safe_load((root / "config" / "confirmatory.yaml").read_text())
    study = Study.from_config(config)
    variants = {"idqn-vae-beta0", "idqn-vae-beta0.01", "idqn-dense-vae", "idqn-no-diversity"}
    assert set(withheld_arms(study, {"interpretability": "x"})) == variants
    assert set(withheld_arms(study, {"score claims": "x"})) == {
        "ddqn",
        "idqn",
        "sb3-dqn",
        "idqn-original-code",
    }
    assert set(withheld_arms(study, {"attention agent": "x"})) == {
        "attention",
        "no-attention",
        "attention-3-seeds",
    }
    assert {measures_group(arm) for arm in ("ddqn", "idqn", *variants)} == {"interpretability"}
    assert measures_group("attention-3-seeds") == "attention agent"


def test_a_withheld_run_shows_only_whether_it_finished_or_failed(tmp_path):
    from agents.runtable import FAILED_FILE

    _study(tmp_path / "runs", 0.0)
    failed = tmp_path / "runs" / "idqn" / "MinAtar-Breakout" / "s4"
    (failed / "summary.json").unlink()
    (failed / FAILED_FILE).write_text('{"reason": "non-finite loss"}')
    study = Study.from_config(_config(tmp_path / "runs"))
    anchors = pd.read_csv(ANCHORS).set_index("game")
    runs = load_study(study, anchors, withheld={"idqn"})
    idqn = runs[runs["arm"] == "idqn"]
    assert idqn["finished"].all() and idqn["withheld"].all() and not idqn["complete"].any()
    assert idqn["failed"].sum() == 1  # shown from its collection (amendment 9)
    assert idqn["final_eval"].isna().all() and idqn["final_eval_norm"].isna().all()
    (failed / "summary.json").write_text("{}")  # both markers: an error, withheld or not
    with pytest.raises(UsageError, match="both summary.json and failed.json"):
        load_study(study, anchors, withheld={"idqn"})


def test_a_study_without_its_evaluation_protocol_is_refused(tmp_path):
    config = _config(tmp_path / "runs")
    del config["confirmatory"]["evaluation"]
    with pytest.raises(UsageError, match="has no `evaluation`"):
        Study.from_config(config)


def test_the_command_writes_a_summary_of_the_binding_verdicts(tmp_path):
    import yaml

    _study(tmp_path / "runs", 0.0)
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(_config(tmp_path / "runs")))
    out = tmp_path / "out"
    assert main(["confirmatory", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    summary = (out / "summary.md").read_text()
    verdicts = _verdicts(out)
    binding = verdicts[verdicts["binding"]]
    claim1 = binding[(binding["claim"] == "1") & (binding["scope"] == "aggregate (IQM)")]
    lines = [line for line in summary.splitlines() if "aggregate (IQM)" in line]
    assert len(lines) == len(binding[binding["scope"] == "aggregate (IQM)"])
    cells = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert cells[0] == "1" and cells[-2] == claim1["verdict"].item()
    assert "50 of 50 runs finished." in summary


def test_the_forest_plot_draws_each_binding_test_against_its_rule(tmp_path):
    from agents.confirmatory_report import forest_rows, verdict_table, verdicts_figure

    root = tmp_path / "runs"
    _study(root, 0.0)
    # S2 and S1 are not all in: not yet. Their group withholds every test in the report
    # (amendment 15); the table alone shows a plot with both kinds of row.
    study = Study.from_config(_secondary_arms_config(root))
    runs = load_study(study, pd.read_csv(ANCHORS).set_index("game"))
    verdicts = verdict_table(runs, preregistered_tests(study))
    (tmp_path / "out").mkdir()
    verdicts_figure(verdicts, tmp_path / "out" / "verdicts.png")
    rows = forest_rows(verdicts)
    assert len(rows) == int(verdicts["binding"].sum())
    by_label = {row["label"]: row for row in rows}
    claim1 = by_label["1: i-DQN vs DDQN, non-inferiority, aggregate (IQM)"]
    assert claim1["lines"] == [-0.2] and claim1["verdict"] == "holds"
    estimate, lower, upper = claim1["interval"]
    assert lower <= estimate <= upper and lower > -0.2
    assert by_label["2: i-DQN vs DDQN, superiority, aggregate (IQM)"]["lines"] == [0.0]
    s1 = by_label["S1: i-DQN (original code) vs i-DQN, change, Breakout"]
    assert s1["lines"] == [-0.2, 0.0, 0.2] and s1["interval"] is None
    assert s1["verdict"].startswith("not yet")
    s2 = by_label["S2: DDQN vs SB3 DQN, equivalence, aggregate (IQM)"]
    assert s2["lines"] == [-0.2, 0.2]
    # Amendment 10: the tests whose verdict is the claim's.
    carrying = {label for label, row in by_label.items() if row["carries_claim"]}
    assert carrying == {
        "1: i-DQN vs DDQN, non-inferiority, aggregate (IQM)",
        "2: i-DQN vs DDQN, non-inferiority, aggregate (IQM)",
        "2: i-DQN vs DDQN, superiority, aggregate (IQM)",
        "S1: i-DQN (original code) vs i-DQN, change, Breakout",
        "S1: i-DQN (original code) vs i-DQN, change, Freeway",
        "S2: DDQN vs SB3 DQN, equivalence, aggregate (IQM)",
    }
    assert not verdicts.loc[~verdicts["binding"], "carries_claim"].any()
    assert (tmp_path / "out" / "verdicts.png").stat().st_size > 10_000


def test_a_missing_value_is_an_empty_cell_in_the_markdown_tables():
    from agents.confirmatory_report import _markdown

    table = pd.DataFrame({"game": ["a", "both games"], "mean": [1.23456, float("nan")]})
    lines = _markdown(table).splitlines()
    assert "1.235" in lines[2]
    assert "nan" not in _markdown(table) and lines[3].split("|")[2].strip() == ""


def test_an_interpretability_case_the_rules_do_not_cover_stops_before_either_half_is_written(
    tmp_path, monkeypatch, capsys
):
    """Amendment 17: the interpretability half is computed before the score half is written, so
    that a stop there leaves no report that says one group is read and the other withheld."""
    import yaml

    from agents import confirmatory_interpret

    def refuse(*_, **__):
        raise UsageError("idqn MinAtar-Breakout s0: a measure under claim3 is not finite")

    monkeypatch.setattr(confirmatory_interpret, "compute", refuse)
    _study(tmp_path / "runs", 0.0)
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(_config(tmp_path / "runs")))
    out = tmp_path / "out"
    assert main(["confirmatory", "--config", str(config), "--out", str(out), "--no-progress"]) != 0
    assert "not finite" in capsys.readouterr().err
    assert not [path for path in out.rglob("*") if path.is_file() and "runs" not in path.parts]
