"""Amendment 1's tests on constructed per-run measures (agents.confirmatory_interpret)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from agents import confirmatory_interpret as ci
from agents.confirmatory_report import Study
from agents.errors import UsageError
from agents.interpret import run_measures as rm

GAMES = rm.AGREEMENT_GAMES


def _rollouts(centre: float, spread: float = 0.01) -> dict:
    """(game, seed) -> 10 per-rollout excess agreements around ``centre``."""
    rng = np.random.default_rng(1)
    return {
        (game, seed): list(centre + spread * rng.standard_normal(10))
        for game in GAMES
        for seed in rm.SEEDS
    }


@pytest.mark.parametrize(
    ("centre", "spread", "expected"),
    [(0.2, 0.01, "holds"), (-0.2, 0.01, "does not hold"), (0.0, 0.3, "inconclusive")],
)
def test_claim5_verdicts(centre, spread, expected):
    result = ci.claim5(_rollouts(centre, spread))
    assert result["verdict"] == expected
    assert result["lower"] <= result["estimate"] <= result["upper"]


def test_claim7_follows_the_order_of_the_variants():
    names = list(ci.VARIANTS)
    units = [(game, seed) for game in GAMES for seed in rm.SEEDS]
    in_order = {key: {name: 4.0 - i for i, name in enumerate(names)} for key in units}
    reversed_ = {key: {name: float(i) for i, name in enumerate(names)} for key in units}
    assert ci.claim7(in_order)["verdict"] == "holds"
    assert ci.claim7(in_order)["estimate"] == pytest.approx(1.0)
    assert ci.claim7(reversed_)["verdict"] == "does not hold"
    rng = np.random.default_rng(0)
    mixed = {key: dict(zip(names, rng.permutation(4).astype(float), strict=True)) for key in units}
    assert ci.claim7(mixed)["verdict"] == "inconclusive"
    tied = {key: dict.fromkeys(names, 0.1) for key in units}
    assert ci.claim7(tied)["verdict"] == "inconclusive"


def _units(values) -> dict:
    games = ci.EMBEDDING_GAMES
    return {
        (g, s): float(v)
        for (g, s), v in zip([(g, s) for g in games for s in rm.SEEDS], values, strict=True)
    }


def test_claim3_compares_with_log_1_5():
    rng = np.random.default_rng(0)
    near = _units(0.05 + 0.02 * rng.standard_normal(15))
    far = _units(1.0 + 0.02 * rng.standard_normal(15))
    around = _units(math.log(1.5) + 0.5 * rng.standard_normal(15))
    assert ci.claim3(near)["verdict"] == "holds"
    assert ci.claim3(far)["verdict"] == "does not hold"
    assert ci.claim3(around)["verdict"] == "inconclusive"


def test_claim4_needs_both_parts():
    rng = np.random.default_rng(0)
    high, low = _units(0.3 + 0.01 * rng.random(15)), _units(0.05 + 0.01 * rng.random(15))
    assert ci.claim4(high, low)[0]["verdict"] == "holds"
    assert ci.claim4(low, high)[0]["verdict"] == "does not hold"  # (b) does not hold
    noisy = _units(0.3 * rng.standard_normal(15))
    parts = ci.claim4(noisy, _units(np.zeros(15)))
    assert parts[0]["verdict"] == "inconclusive"
    assert parts[3]["verdict"] == ""  # DDQN's excess purity: no verdict
    # Amendment 10: the claim's row carries it; 4a, 4b and DDQN's row say where, not whether.
    assert [ci.carries_claim(row["test"]) for row in parts] == [True, False, False, False]


def test_claim9_needs_spread_across_states_and_few_keys():
    spread, flat = [2.7, 2.8, 2.75], [1.5, 1.7, 1.6]
    assert ci.claim9(spread, flat, [3.0, 3.2, 3.1])[0]["verdict"] == "holds"
    assert ci.claim9(flat, spread, [3.0, 3.2, 3.1])[0]["verdict"] == "does not hold"  # (a)
    assert ci.claim9(spread, flat, [11.0, 11.3, 11.2])[0]["verdict"] == "does not hold"  # (b)
    assert ci.claim9(spread, flat, [2.0, 8.0, 5.0])[0]["verdict"] == "inconclusive"


def _run(root, arm, game, seed, measures: dict, weights: bool) -> None:
    """A finished run with (fake) weights and its measures kept where the report keeps them, or
    an interpret.json for the arms without weights."""
    folder = root / "runs" / arm / game / f"s{seed}"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    result = {
        "schema_version": rm.SCHEMA_VERSION,
        "arm": arm,
        "game": game,
        "seed": seed,
        "settings": ci._settings_dict(rm.PREREGISTERED),
        "inputs": {},
        "measures": measures,
    }
    if weights:
        (folder / "model.pt").write_bytes(f"{arm}{game}{seed}".encode())
        result["inputs"]["weights_sha256"] = rm.weights_digest(folder)
        kept = root / "out" / "runs" / arm / game / f"s{seed}.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(result))
    else:
        (folder / rm.INTERPRET_FILE).write_text(json.dumps(result))


def _agreement(excess: float) -> dict:
    rollouts = [excess + 0.01 * i for i in range(-2, 3)]
    return {
        "claim5": {
            "rollout_excess": rollouts,
            "excess_agreement": float(np.mean(rollouts)),
            "agreement": 0.5 + excess,
            "chance": 0.5,
            "random": 1 / 3,
            "permutation_null_mean": 0.5,
        }
    }


def _interpret_study(tmp_path) -> Study:
    """Every variant's runs on the agreement games, i-DQN's grounding on Breakout, and the
    attention agent's seeds there; nothing on the embedding games' other arms."""
    arms = {
        arm: {"agent": "idqn", "preset": "minatar", "seeds": [0, 1, 2]} for arm in rm.ARM_MEASURES
    }
    arms["idqn-no-diversity"]["games"] = [rm.DIVERSITY_GAME]
    for arm in ci.VARIANTS.values():
        if arm != "idqn":
            arms[arm]["games"] = list(GAMES)
    arms["attention-3-seeds"]["games"] = ["MinAtar-Freeway"]
    arms["attention"]["games"] = [rm.BREAKOUT]
    study = Study(tmp_path / "runs", dict.fromkeys(ci.EMBEDDING_GAMES, 1000), arms)
    # Amendment 5's attention agent: every seed's interpret.json, on Breakout only.
    for seed in rm.SEEDS:
        shares = {"share_on_objects": 0.5 + 0.01 * seed, "occupancy": 0.05}
        measures = {"grounding": {"spatial_attention": shares}}
        _run(tmp_path, "attention", rm.BREAKOUT, seed, measures, weights=False)
    # Table 2: every variant's runs, in the paper's order; grounding on one game only.
    for rank, arm in enumerate(ci.VARIANTS.values()):
        for game in GAMES:
            for seed in rm.SEEDS:
                measures = _agreement(0.4 - 0.1 * rank)
                if arm == "idqn" and game == rm.BREAKOUT:
                    measures["grounding"] = {
                        "q_saliency": {"share_on_objects": 0.3 + 0.01 * seed, "occupancy": 0.03}
                        | {"examples": _examples(seed)}
                    }
                _run(tmp_path, arm, game, seed, measures, weights=arm == "idqn")
    return study


def test_the_report_judges_complete_claims_and_waits_for_the_rest(tmp_path):
    study = _interpret_study(tmp_path)
    # Every group read (amendment 15 would withhold this partial study): each test alone.
    paths = ci.build(study, None, tmp_path / "out", withheld={})
    assert {p.name for p in paths} >= {
        "verdicts.csv",
        "grounding.md",
        "verdicts.png",
        "grounding.png",
        "grounding-maps.png",
    }
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv").set_index("test")
    for name in ci.VARIANTS:
        assert verdicts.loc[f"5: agreement above chance, {name}", "verdict"] == "holds"
    assert verdicts.filter(like="7: order", axis=0)["verdict"].item() == "holds"
    assert verdicts.filter(like="3: keys", axis=0)["verdict"].item().startswith("not yet (0 of 15")
    claim4 = verdicts.filter(like="4: i-DQN", axis=0)["verdict"].item()
    assert claim4 == "not yet (0 of 15 i-DQN and DDQN pairs)"
    assert verdicts["carries_claim"].all()  # every row a claim's verdict: no part is judged yet
    assert verdicts.filter(like="9: attention", axis=0)["verdict"].item().startswith("not yet")
    grounding = pd.read_csv(tmp_path / "out" / "grounding.csv")
    row = grounding[
        (grounding["game"] == rm.BREAKOUT) & grounding["map"].str.startswith("i-DQN, saliency of Q")
    ]
    assert row["seeds"].item() == 3
    assert row["share"].item() == pytest.approx(0.31)
    assert row["share_over_occupancy"].item() == pytest.approx(0.31 / 0.03, rel=1e-3)
    assert row["share_low"].item() < 0.31 < row["share_high"].item()
    assert row["status"].item() == "measured"
    waiting = grounding.set_index(["map", "game"])["status"]
    assert waiting[("DDQN, saliency of Q(s, a*)", rm.BREAKOUT)] == "not yet (0 of 3 runs)"
    attention_row = ("attention agent, spatial attention", rm.BREAKOUT)
    assert waiting[attention_row] == "not yet (0 of 1 runs)"  # seed 0 only (amendment 4)
    amended = grounding.set_index(["map", "game"]).loc[
        "attention agent (amendment 5), spatial attention"
    ]
    assert amended.loc[rm.BREAKOUT, "share"] == pytest.approx(0.51)
    assert amended.loc[rm.BREAKOUT, "seeds"] == 3
    assert amended.loc["MinAtar-Freeway", "status"] == "not yet (0 of 3 runs)"
    assert set(amended.index) == {rm.BREAKOUT, "MinAtar-Freeway"}  # the arms' games only
    assert (tmp_path / "out" / "grounding-maps.png").stat().st_size > 0


def test_a_withheld_group_shows_no_measure_of_its_own(tmp_path, monkeypatch):
    """Amendment 15: the interpretability group withheld, every test and i-DQN's and the pilot
    attention agent's maps say so with no number while the attention arms' maps show; then the
    reverse. Without a word on what is withheld, the runs on disk decide."""
    study = _interpret_study(tmp_path)
    pilot = {"measures": {"spatial_attention": {"share_on_objects": 0.7, "occupancy": 0.05}}}
    monkeypatch.setattr(
        ci, "attention_result", lambda runs, game, *_: pilot if game == rm.BREAKOUT else None
    )
    ci.build(study, tmp_path, tmp_path / "out")
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv")
    assert verdicts["verdict"].str.startswith("not yet (withheld: ").all()
    ci.build(study, tmp_path, tmp_path / "out", withheld={"interpretability": "not yet (held)"})
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv")
    assert set(verdicts["verdict"]) == {"not yet (held)"}
    assert verdicts["estimate"].isna().all() and verdicts["carries_claim"].all()
    assert any(verdicts["test"].str.startswith("7: order"))  # named, not judged
    table2 = pd.read_csv(tmp_path / "out" / "table2.csv")
    assert list(table2.columns) == ["variant", "arm", "runs"]
    assert set(table2["runs"]) == {"not yet (held)"}
    grounding = pd.read_csv(tmp_path / "out" / "grounding.csv").set_index(["map", "game"])
    saliency = grounding.loc[("i-DQN, saliency of Q(s, a*)", rm.BREAKOUT)]
    assert saliency["status"] == "not yet (held)" and np.isnan(saliency["share"])
    amended = grounding.loc[("attention agent (amendment 5), spatial attention", rm.BREAKOUT)]
    assert amended["status"] == "measured" and amended["share"] == pytest.approx(0.51)
    measured = grounding.loc[("attention agent, spatial attention", rm.BREAKOUT)]
    assert measured["status"] == "not yet (held)"  # amendment 1's row, from the pilot's runs
    assert np.isnan(measured["share"])
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert set(runs["arm"]) == {"attention", "attention-3-seeds"}

    ci.build(study, tmp_path, tmp_path / "out", withheld={"attention agent": "not yet (held)"})
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv").set_index("test")
    assert verdicts.filter(like="7: order", axis=0)["verdict"].item() == "holds"
    grounding = pd.read_csv(tmp_path / "out" / "grounding.csv").set_index(["map", "game"])
    amended = grounding.loc["attention agent (amendment 5), spatial attention"]
    assert set(amended["status"]) == {"not yet (held)"} and amended["share"].isna().all()
    assert grounding.loc[("i-DQN, saliency of Q(s, a*)", rm.BREAKOUT), "status"] == "measured"
    measured = grounding.loc[("attention agent, spatial attention", rm.BREAKOUT)]
    assert measured["status"] == "measured" and measured["share"] == pytest.approx(0.7)
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert not set(runs["arm"]) & {"attention", "attention-3-seeds"}


def _examples(seed: int) -> dict:
    """Two constructed Breakout states: the paddle and ball, and a map on the ball alone."""
    names = ("paddle", "ball", "trail", "brick")
    frames = np.zeros((2, len(names), 10, 10), dtype=int)
    frames[:, 0, 9, 4:7] = 1
    frames[:, 1, 5, 5 + seed] = 1
    maps = np.zeros((2, 10, 10))
    maps[:, 5, 5 + seed] = 1.0
    return {"channel_names": list(names), "frames": frames.tolist(), "maps": maps.tolist()}


def test_the_maps_figure_shows_a_rows_maps_only_once_the_table_does():
    complete = {
        ("idqn", rm.BREAKOUT, seed): {
            "measures": {
                "grounding": {
                    "q_saliency": {"share_on_objects": 0.5, "occupancy": 0.04}
                    | {"examples": _examples(seed)}
                }
            }
        }
        for seed in rm.SEEDS
    }
    partial = {
        ("ddqn", rm.BREAKOUT, seed): {
            "measures": {
                "grounding": {
                    "q_saliency": {"share_on_objects": 0.1, "occupancy": 0.04}
                    | {"examples": _examples(seed)}
                }
            }
        }
        for seed in (0, 1)
    }
    attention = {
        (rm.BREAKOUT, 0): {
            "measures": {
                "spatial_attention": {"share_on_objects": 0.2, "occupancy": 0.04}
                | {"examples": _examples(0)}
            }
        }
    }
    results = complete | partial
    table = ci.grounding_table(results, attention)
    examples = ci.map_examples(results, attention, table)
    assert examples[("i-DQN, saliency of Q(s, a*)", rm.BREAKOUT)] == _examples(0)  # seed 0's
    assert examples[("DDQN, saliency of Q(s, a*)", rm.BREAKOUT)] is None  # 2 of 3 seeds
    assert examples[("attention agent, spatial attention", rm.BREAKOUT)] == _examples(0)
    assert examples[("i-DQN, saliency of w_a*(s)", rm.BREAKOUT)] is None
    ddqn = table[(table["map"] == "DDQN, saliency of Q(s, a*)") & (table["game"] == rm.BREAKOUT)]
    assert ddqn["status"].item() == "not yet (2 of 3 runs)" and ddqn["share"].isna().all()


def test_a_kept_result_of_other_weights_is_not_reused(tmp_path):
    _run(tmp_path, "ddqn", rm.BREAKOUT, 0, {"grounding": {}}, weights=True)
    folder = tmp_path / "runs" / "ddqn" / rm.BREAKOUT / "s0"
    kept = json.loads((tmp_path / "out" / "runs" / "ddqn" / rm.BREAKOUT / "s0.json").read_text())
    assert ci._current_inputs(kept | {"game": rm.BREAKOUT, "seed": 0}, folder)
    (folder / "model.pt").write_bytes(b"retrained")
    assert not ci._current_inputs(kept | {"game": rm.BREAKOUT, "seed": 0}, folder)


def test_measure_runs_keeps_each_runs_measures_and_writes_no_verdict(tmp_path):
    arms = {arm: {"agent": "idqn", "preset": "minatar", "seeds": [0, 1, 2]} for arm in ("idqn",)}
    arms["idqn-dense-vae"] = {"agent": "idqn", "preset": "minatar", "seeds": [0, 1, 2]}
    study = Study(tmp_path / "runs", {rm.BREAKOUT: 1000}, arms)
    for seed in (0, 1):
        _run(tmp_path, "idqn", rm.BREAKOUT, seed, _agreement(0.2), weights=True)
    _run(tmp_path, "idqn-dense-vae", rm.BREAKOUT, 2, _agreement(0.1), weights=False)
    failed = tmp_path / "runs" / "idqn-dense-vae" / rm.BREAKOUT / "s0"
    failed.mkdir(parents=True)
    (failed / "failed.json").write_text(json.dumps({"reason": "error: non-finite loss"}))
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*"))
    found = ci.measure_runs(study, tmp_path / "out" / "runs", progress=False)
    assert found == [
        f"idqn/{rm.BREAKOUT}/s0",
        f"idqn/{rm.BREAKOUT}/s1",
        f"idqn-dense-vae/{rm.BREAKOUT}/s2",
    ]
    # Kept results of the same weights are reused, and nothing else is written.
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*")) == before


def test_a_collected_measure_of_another_run_or_other_sizes_is_refused(tmp_path):
    from dataclasses import replace

    _run(tmp_path, "idqn-dense-vae", GAMES[0], 1, _agreement(0.1), weights=False)
    path = tmp_path / "runs" / "idqn-dense-vae" / GAMES[0] / "s1" / rm.INTERPRET_FILE
    found = ci.run_result(
        tmp_path / "runs", "idqn-dense-vae", GAMES[0], 1, tmp_path, rm.PREREGISTERED
    )
    assert found["measures"] == _agreement(0.1)
    with pytest.raises(UsageError, match="at other sizes than the pre-registered ones"):
        ci.run_result(
            tmp_path / "runs",
            "idqn-dense-vae",
            GAMES[0],
            1,
            tmp_path,
            replace(rm.PREREGISTERED, rollouts=2),
        )
    result = json.loads(path.read_text())
    path.write_text(json.dumps(result | {"seed": 2}))
    with pytest.raises(UsageError, match=r"measures \('idqn-dense-vae', '.*', 2\), not the run"):
        ci.run_result(tmp_path / "runs", "idqn-dense-vae", GAMES[0], 1, tmp_path, rm.PREREGISTERED)


def test_a_failed_run_makes_every_test_and_row_that_needs_it_not_testable(tmp_path):
    """Amendment 9: a run collected as failed has no agent to measure; the tests and grounding
    rows that read it say so for good, the others are judged as before."""
    failed_dir = tmp_path / "runs" / "idqn-vae-beta0" / GAMES[0] / "s1"
    failed_dir.mkdir(parents=True)
    reason = "error: the loss became non-finite at step 52000"
    (failed_dir / "failed.json").write_text(json.dumps({"reason": reason}))
    failed = ci.run_result(
        tmp_path / "runs", "idqn-vae-beta0", GAMES[0], 1, tmp_path / "cache", rm.PREREGISTERED
    )
    assert failed == {"failed": reason} and ci.is_failed(failed)
    assert not ci.is_failed(None) and not ci.is_failed({"measures": {}})
    (failed_dir / "failed.json").write_text("{")
    with pytest.raises(UsageError, match="not a failure marker"):
        ci.run_result(tmp_path / "runs", "idqn-vae-beta0", GAMES[0], 1, tmp_path, rm.PREREGISTERED)

    results = {
        (arm, game, seed): {"measures": _agreement(0.4 - 0.1 * rank)}
        for rank, arm in enumerate(ci.VARIANTS.values())
        for game in GAMES
        for seed in rm.SEEDS
    }
    results[("idqn-vae-beta0", GAMES[0], 1)] = failed
    results[("idqn-no-diversity", rm.DIVERSITY_GAME, 2)] = {"failed": reason}
    shares = {"share_on_objects": 0.5, "occupancy": 0.05}
    for seed in rm.SEEDS:
        results[("attention", rm.BREAKOUT, seed)] = {
            "measures": {"grounding": {"spatial_attention": shares}}
        }
    results[("attention", rm.BREAKOUT, 2)] = {"failed": reason}

    rows, table2 = ci.verdict_rows(results)
    verdicts = pd.DataFrame(rows).set_index("test")["verdict"]
    failed_runs = pd.DataFrame(table2).set_index("variant")["failed runs"]
    assert failed_runs["VAE beta=0"] == f"idqn-vae-beta0 {GAMES[0]} s1"
    assert failed_runs["AE"] == ""
    not_testable = f"not testable (idqn-vae-beta0 {GAMES[0]} s1 failed: non-finite)"
    assert verdicts["5: agreement above chance, VAE beta=0"] == not_testable
    assert verdicts["5: agreement above chance, AE"] == "holds"
    assert verdicts.filter(like="7: order").item() == not_testable
    claim9 = verdicts.filter(like="9: attention").item()
    assert claim9 == f"not testable (idqn-no-diversity {rm.DIVERSITY_GAME} s2 failed: non-finite)"
    assert verdicts.filter(like="3: keys").item().startswith("not yet")  # no failure there

    table = ci.grounding_table(results, {}).set_index(["map", "game"])
    row = table.loc[("attention agent (amendment 5), spatial attention", rm.BREAKOUT)]
    assert row["status"] == "not testable (s2 failed: non-finite)"
    assert math.isnan(row["share"])
    runs = ci.runs_table(results).set_index(["arm", "game", "seed"])
    assert runs.loc[("idqn-vae-beta0", GAMES[0], 1), "failed"]
    assert not runs.loc[("idqn-vae-beta0", GAMES[0], 1), "measured"]
    assert runs.loc[("idqn", GAMES[0], 1), "measured"]


def test_every_judged_test_reports_its_detectable_margin():
    """Amendments 10.6 and 17: beside each interval, the smallest true distance from the
    threshold its test detects with 80% power; the bootstrap tests' from their draws, claim 9's
    parts from the noncentral t (Welch's, and the one-sample test's)."""
    from agents.confirmatory import detectable_margin

    narrow, wide = ci.claim5(_rollouts(0.2, 0.01)), ci.claim5(_rollouts(0.2, 0.3))
    assert 0 < narrow[ci.DETECTABLE] < wide[ci.DETECTABLE]
    # (z(0.975) + z(0.8)) times the draws' spread, about 1.43 times the interval's half-width.
    half_width = (wide["upper"] - wide["lower"]) / 2
    assert wide[ci.DETECTABLE] == pytest.approx(2.80 / 1.96 * half_width, rel=0.05)
    rng = np.random.default_rng(0)
    assert ci.claim3(_units(0.05 + 0.02 * rng.standard_normal(15)))[ci.DETECTABLE] > 0
    parts = ci.claim4(_units(0.3 + 0.01 * rng.random(15)), _units(0.05 + 0.01 * rng.random(15)))
    assert all(parts[i][ci.DETECTABLE] > 0 for i in (1, 2))
    assert ci.DETECTABLE not in parts[0] and ci.DETECTABLE not in parts[3]  # no test of its own
    on, off, keys = [2.7, 2.8, 2.75], [1.5, 1.7, 1.6], [3.0, 3.2, 3.1]
    rows = ci.claim9(on, off, keys)
    assert rows[1][ci.DETECTABLE] == pytest.approx(
        detectable_margin(np.std(on, ddof=1), np.std(off, ddof=1), 3, 3)
    )
    assert rows[2][ci.DETECTABLE] == pytest.approx(detectable_margin(np.std(keys, ddof=1), 0, 3, 0))
    assert math.isnan(ci.claim9([2.7], [1.5], [3.0])[1][ci.DETECTABLE])  # one seed: no margin


def test_a_measure_that_is_not_finite_stops_the_report_naming_the_run():
    """Amendment 17: the rules score no NaN or infinity; the report stops on it (before it
    writes anything), naming the run, and shows no number."""
    results = {
        (arm, game, seed): {"measures": _agreement(0.3)}
        for arm in ci.VARIANTS.values()
        for game in GAMES
        for seed in rm.SEEDS
    }
    assert ci.verdict_rows(results)[0][0]["verdict"] == "holds"
    results[("idqn-dense-vae", rm.BREAKOUT, 1)]["measures"]["claim5"]["rollout_excess"][2] = np.nan
    with pytest.raises(UsageError, match=f"^idqn-dense-vae {rm.BREAKOUT} s1: .* not finite"):
        ci.verdict_rows(results)
    # A failed run of the same arm comes first: its tests are not testable (amendment 9).
    results[("idqn-dense-vae", rm.BREAKOUT, 2)] = {"failed": {"reason": "non-finite loss"}}
    rows = {row["test"]: row["verdict"] for row in ci.verdict_rows(results)[0]}
    assert rows["5: agreement above chance, Dense VAE"].startswith("not testable")
    assert rows["5: agreement above chance, AE"] == "holds"
