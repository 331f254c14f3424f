"""Table 1, Figure 8, the rliable aggregate and the verdicts, on synthetic run directories."""

import io
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from episode_logs import set_field, write_episode_log

from agents import outputs, reports
from agents.__main__ import _parser, main
from agents.errors import UsageError
from agents.outputs import OUTPUTS, Output, kinds_of
from agents.reports import (
    PAPER_COLUMNS,
    VERDICTS,
    load_episodes,
    per_seed_scores,
    read_reference,
    read_reference_curves,
    run_dir,
    verdict_table,
)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "paper" / "table1.csv"
PONG_CURVES = ROOT / "data" / "atari" / "dopamine_pong_dqn.csv"
PAPER_TEXT = ROOT / "data" / "paper" / "excerpt.txt"  # the lines of the paper checked here
GAMES = ["Freeway", "MsPacman"]


def _fake_runs(root: Path, level: dict[str, float], seeds=(0, 1, 2)) -> None:
    """Episode logs whose returns rise linearly to ``level[agent] * paper DDQN``."""
    reference = read_reference(REFERENCE)
    rng = np.random.default_rng(0)
    for agent, factor in level.items():
        for game in GAMES:
            for seed in seeds:
                target = factor * reference.loc[game, "ddqn_10m"]
                n = 300
                returns = np.linspace(0, target, n) + rng.normal(0, 0.01 * target + 0.1, n)
                folder = run_dir(root, agent, game, seed)
                folder.mkdir(parents=True)
                write_episode_log(folder, returns)


def _report(kind, runs, out, *extra):
    args = [
        "report",
        kind,
        "--runs",
        str(runs),
        "--games",
        *GAMES,
        "--seeds",
        "0",
        "1",
        "2",
        "--reference",
        str(REFERENCE),
        "--out",
        str(out),
        *extra,
    ]
    assert main(args) == 0


def test_reference_matches_the_paper_text():
    lines = PAPER_TEXT.read_text().splitlines()
    table = pd.read_csv(REFERENCE)
    columns = [
        "ddqn_10m",
        "idqn_10m",
        "ddqn_final",
        "distrib_dqn_final",
        "q_ensemble_final",
        "bootstrap_dqn_final",
        "noisy_dqn_final",
    ]
    assert len(table) == 8
    for _, row in table.iterrows():
        name = "Space Invaders" if row.game == "SpaceInvaders" else row.game
        rows = [_numbers(text[len(name) :]) for text in lines if text.startswith(name + " ")]
        assert [row[c] for c in columns] in rows, row.game


def _numbers(text: str) -> list[float] | None:
    try:
        return [float(token.replace(",", "")) for token in text.split()]
    except ValueError:
        return None


def test_table1_and_verdict(tmp_path):
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0, "idqn": 0.5})
    _report("table1", tmp_path / "runs", tmp_path / "table1")
    table = pd.read_csv(tmp_path / "table1.csv")
    assert table["game"].tolist() == GAMES
    ours = ["DDQN (ours)", "i-DQN (ours)", "DDQN final mean", "DDQN final sd"]
    for column in ours + list(PAPER_COLUMNS.values()):
        assert column in table.columns and table[column].notna().all(), column
    # The best 100-episode average of a rising curve is its last window (about 0.83 of the top).
    assert table.loc[0, "DDQN (ours)"] == pytest.approx(22.5 * 0.835, rel=0.03)
    assert "\\begin{table}" in (tmp_path / "table1.tex").read_text()
    assert "| game" in (tmp_path / "table1.md").read_text()

    _report("verdict", tmp_path / "runs", tmp_path / "verdict", "--tolerance", "0.2")
    verdicts = pd.read_csv(tmp_path / "verdict.csv").set_index(["game", "agent"])["verdict"]
    assert verdicts[("Freeway", "DDQN")] == "reproduced"  # 0.835 of the paper, within 20%
    assert verdicts[("Freeway", "i-DQN")] == "not reproduced"  # ~0.22 of the paper's i-DQN


def test_verdict_within_spread():
    scores = pd.DataFrame(
        {"agent": "ddqn", "game": "Freeway", "seed": [0, 1, 2], "best_100": [5.0, 15.0, 25.0]}
    )
    reference = read_reference(REFERENCE)
    row = verdict_table(scores, reference, ["Freeway"], 0.1).iloc[0]
    assert row["verdict"] == "within spread"  # mean 15 vs 22.5, sd 10


def test_figure8_and_aggregate_are_images(tmp_path):
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0, "idqn": 1.5})
    _report("figure8", tmp_path / "runs", tmp_path / "figure8")
    _report("aggregate", tmp_path / "runs", tmp_path / "aggregate", "--reps", "200")
    for name in ("figure8.png", "aggregate.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert (tmp_path / "figure8.pdf").read_bytes()[:4] == b"%PDF"
    table = pd.read_csv(tmp_path / "aggregate.csv")
    improvement = table[table["metric"] == "P(i-DQN > DDQN)"]["estimate"].item()
    assert improvement > 0.9  # i-DQN's fake scores are 1.5x DDQN's on every run
    iqm = table[(table["metric"] == "IQM") & (table["normalised by"] == "random -> paper DDQN")]
    assert (iqm["ci_low"] <= iqm["estimate"]).all() and (iqm["estimate"] <= iqm["ci_high"]).all()


def test_aggregate_on_games_the_paper_never_ran_normalises_by_our_runs(tmp_path):
    """MinAtar: no paper score, so random and our DDQN / i-DQN means set the scale."""
    from agents.reports import aggregate, normalisation_reference

    games, rows = ["MinAtar-Breakout", "MinAtar-Freeway"], []
    levels = {"random": (1.0, 0.5), "ddqn": (7.0, 40.0), "idqn": (7.0, 12.0)}
    for agent, per_game in levels.items():
        for game, level in zip(games, per_game, strict=True):
            for seed, noise in enumerate((-0.1, 0.0, 0.1)):
                rows.append({"agent": agent, "game": game, "seed": seed, "best_100": level + noise})
    scores = pd.DataFrame(rows)
    paper = read_reference(REFERENCE)
    reference, norms = normalisation_reference(scores, paper, games)
    assert norms == ("our DDQN", "our i-DQN")
    assert reference.loc["MinAtar-Freeway", "ddqn_10m"] == pytest.approx(40.0)
    assert normalisation_reference(scores, paper, ["Freeway"])[1] == ("paper DDQN", "paper i-DQN")
    table = aggregate(scores, paper, games, tmp_path / "aggregate", reps=200).set_index(
        ["normalised by", "agent"]
    )
    assert table.loc[("random -> our DDQN", "DDQN"), "estimate"] == pytest.approx(1.0, abs=0.02)
    assert table.loc[("random -> our DDQN", "Random"), "estimate"] == pytest.approx(0.0, abs=0.02)
    # i-DQN matches DDQN on Breakout and reaches (12 - 0.5) / (40 - 0.5) of it on Freeway.
    assert 0.25 < table.loc[("random -> our DDQN", "i-DQN"), "estimate"] < 1.0


def test_aggregate_intervals_are_the_same_at_every_build_whatever_agents_are_beside(tmp_path):
    """rliable's bootstrap draws from numpy's global generator: the aggregate seeds it, whatever
    state it is left in, and puts that state back (issue 21: the committed intervals moved)."""
    from agents.reports import aggregate

    rng, rows = np.random.default_rng(0), []
    for agent, level in {"random": 0.5, "ddqn": 10.0, "idqn": 7.0}.items():
        for game in ("MinAtar-Breakout", "MinAtar-Freeway", "MinAtar-Asterix"):
            for seed in range(3):
                rows.append(
                    {"agent": agent, "game": game, "seed": seed, "best_100": level + rng.normal()}
                )
    scores, games = pd.DataFrame(rows), ["MinAtar-Breakout", "MinAtar-Freeway", "MinAtar-Asterix"]
    tables = []
    for state in (1, 2):
        np.random.seed(state)
        tables.append(
            aggregate(scores, read_reference(REFERENCE), games, tmp_path / f"a{state}", reps=100)
        )
        assert np.random.randint(10**9) == np.random.RandomState(state).randint(10**9)
    pd.testing.assert_frame_equal(tables[0], tables[1])
    # A row does not depend on the agents beside it: the peers' aggregate adds SB3's row to these.
    peer = scores[scores["agent"] == "ddqn"].assign(
        agent="sb3-dqn", best_100=lambda d: d["best_100"] + 1
    )
    wider = aggregate(
        pd.concat([scores, peer]), read_reference(REFERENCE), games, tmp_path / "wide", reps=100
    )
    shared = wider[wider["agent"] != "SB3 DQN"].reset_index(drop=True)
    pd.testing.assert_frame_equal(shared, tables[0])


def test_aggregate_names_the_normaliser_and_takes_a_peer_as_a_row(tmp_path):
    """Our DDQN's IQM is 1 (random's 0) because it sets the scale: the note says so. A peer
    baseline (SB3's DQN) is one more row, never a baseline of P(agent > baseline)."""
    from agents.reports import aggregate, normaliser_note

    games, rows = ["MinAtar-Breakout", "MinAtar-Freeway"], []
    levels = {
        "random": (1.0, 0.5),
        "ddqn": (7.0, 40.0),
        "idqn": (7.0, 12.0),
        "sb3-dqn": (8.5, 46.0),  # 1.25 of our DDQN's scale on Breakout, about 1.15 on Freeway
    }
    for agent, per_game in levels.items():
        for game, level in zip(games, per_game, strict=True):
            for seed, noise in enumerate((-0.1, 0.0, 0.1)):
                rows.append({"agent": agent, "game": game, "seed": seed, "best_100": level + noise})
    table = aggregate(
        pd.DataFrame(rows), read_reference(REFERENCE), games, tmp_path / "aggregate", reps=200
    ).set_index(["normalised by", "agent"])
    assert 1.1 < table.loc[("random -> our DDQN", "SB3 DQN"), "estimate"] < 1.3
    assert table.loc[("none needed", "i-DQN vs DDQN"), "metric"] == "P(i-DQN > DDQN)"
    assert not table["metric"].str.contains("SB3").any()
    notes = table["note"]
    assert notes[("random -> our DDQN", "DDQN")].startswith("1 by construction")
    assert notes[("random -> our i-DQN", "i-DQN")].startswith("1 by construction")
    assert notes[("random -> our DDQN", "Random")].startswith("0 by construction")
    assert notes[("random -> our DDQN", "i-DQN")] == notes[("random -> our DDQN", "SB3 DQN")] == ""
    # Normalised by the paper's scores, no agent of ours is the normaliser.
    assert normaliser_note("random -> paper DDQN", "DDQN", ("paper DDQN", "paper i-DQN")) == ""


def test_missing_runs_are_a_clear_error(tmp_path, capsys):
    code = main(
        [
            "report",
            "table1",
            "--runs",
            str(tmp_path),
            "--games",
            "Freeway",
            "--seeds",
            "0",
            "--reference",
            str(REFERENCE),
            "--out",
            str(tmp_path / "t"),
        ]
    )
    assert code == 2 and "missing log" in capsys.readouterr().err


def test_load_episodes_adds_the_moving_average(tmp_path):
    _fake_runs(tmp_path, {"ddqn": 1.0}, seeds=(0,))
    episodes = load_episodes(tmp_path, ["ddqn"], ["Freeway"], [0])
    assert episodes["return_100"].iloc[99] == pytest.approx(episodes["return"].iloc[:100].mean())
    scores = per_seed_scores(episodes)
    assert scores.loc[0, "episodes"] == 300


def _write_log(root: Path, agent: str, game: str, seed: int, returns) -> None:
    folder = run_dir(root, agent, game, seed)
    folder.mkdir(parents=True)
    write_episode_log(folder, returns, length=250)


def _cli(kind, runs, out, games, seeds, *extra, agents=("ddqn", "idqn")):
    args = ["report", kind, "--runs", str(runs), "--agents", *agents, "--games", *games]
    args += ["--seeds", *map(str, seeds), "--reference", str(REFERENCE), "--out", str(out)]
    assert main([*args, *extra]) == 0
    return out


def test_three_episodes_are_too_few_not_reproduced(tmp_path):
    # Before full windows: the first episode (300) was a "100-episode average" above 279.89.
    _write_log(tmp_path / "runs", "ddqn", "Gravitar", 0, [300.0, 0.0, 150.0])
    common = (tmp_path / "runs", ["Gravitar"], [0])
    _cli("verdict", common[0], tmp_path / "verdict", *common[1:], agents=["ddqn"])
    row = pd.read_csv(tmp_path / "verdict.csv").iloc[0]
    assert row["verdict"] == "too few episodes" and np.isnan(row["ours"])
    assert "too few episodes (3 < 100)" in row["reason"]
    _cli("table1", common[0], tmp_path / "table1", *common[1:], agents=["ddqn"])
    table = pd.read_csv(tmp_path / "table1.csv").iloc[0]
    assert np.isnan(table["DDQN (ours)"]) and np.isnan(table["DDQN final mean"])
    assert table["note"] == "DDQN seed 0: too few episodes (3 < 100)"
    assert "too few episodes (3 < 100)" in (tmp_path / "table1.md").read_text()


@pytest.mark.parametrize(
    "seeds,verdict", [([0, 1, 2], "not reproduced"), ([0], "inconclusive (1 seed)")]
)
def test_early_luck_is_not_reproduced(tmp_path, seeds, verdict):
    # 150 Venture episodes, the first 100 and the rest 0: was 100 against the paper's 70.87.
    for seed in seeds:
        _write_log(tmp_path / "runs", "ddqn", "Venture", seed, [100.0] + [0.0] * 149)
    _cli("verdict", tmp_path / "runs", tmp_path / "v", ["Venture"], seeds, agents=["ddqn"])
    row = pd.read_csv(tmp_path / "v.csv").iloc[0]
    assert row["ours"] == pytest.approx(1.0)  # the best full window: 100 / 100
    assert row["verdict"] == verdict != "reproduced"


def test_verdict_weighs_the_seed_spread():
    reference = read_reference(REFERENCE)  # Freeway: paper DDQN 22.5; T = 20.25 at 10%

    def verdict(values):
        scores = pd.DataFrame(
            {"agent": "ddqn", "game": "Freeway", "seed": range(len(values)), "best_100": values}
        )
        return verdict_table(scores, reference, ["Freeway"], 0.1).iloc[0]

    spread = verdict([30.0, 30.0, 5.0])  # mean 21.67 >= T, but one seed far below
    assert spread["ours"] > spread["threshold"] and spread["verdict"] == "within spread"
    assert spread["lower bound"] < spread["threshold"] <= spread["upper bound"]
    tight = verdict([21.0, 21.5, 22.0])  # mean 21.5, L = 21.5 - 2.92 * 0.5 / sqrt(3) = 20.66
    assert tight["lower bound"] == pytest.approx(21.5 - 2.919986 * 0.5 / np.sqrt(3), rel=1e-5)
    assert tight["verdict"] == "reproduced"
    assert verdict([10.0, 11.0, 12.0])["verdict"] == "not reproduced"  # U = 12.7 < T
    assert verdict([40.0])["verdict"] == "inconclusive (1 seed)"
    assert verdict([40.0, np.nan, 40.0])["verdict"] == "too few episodes"
    assert set(VERDICTS) >= {"reproduced", "within spread", "not reproduced", "too few episodes"}


def test_short_runs_still_give_every_report(tmp_path):
    """The smoke pipeline's case: tables with empty cells and the reason, an undefined aggregate."""
    runs = tmp_path / "runs"
    for agent in ("ddqn", "idqn"):
        _write_log(runs, agent, "Freeway", 0, np.arange(40, dtype=float))  # too few
        _write_log(runs, agent, "MsPacman", 0, np.linspace(0, 2000, 180))  # enough
    games, seeds = ["Freeway", "MsPacman"], [0]
    _cli("table1", runs, tmp_path / "table1", games, seeds)
    table = pd.read_csv(tmp_path / "table1.csv").set_index("game")
    assert table.loc["Freeway", ["DDQN (ours)", "i-DQN (ours)"]].isna().all()
    assert table.loc["Freeway", "note"] == (
        "DDQN seed 0: too few episodes (40 < 100); i-DQN seed 0: too few episodes (40 < 100)"
    )
    assert table.loc["MsPacman", "DDQN (ours)"] == pytest.approx(
        np.linspace(0, 2000, 180)[80:].mean(), abs=0.01
    )  # the last full window; the CSV keeps 2 decimals
    assert table[list(PAPER_COLUMNS.values())].notna().all().all()

    _cli("verdict", runs, tmp_path / "verdict", games, seeds)
    verdicts = pd.read_csv(tmp_path / "verdict.csv").set_index(["game", "agent"])["verdict"]
    assert (verdicts.loc["Freeway"] == "too few episodes").all()
    assert (verdicts.loc["MsPacman"] == "inconclusive (1 seed)").all()
    assert verdicts.isin(VERDICTS).all()

    _cli("figure8", runs, tmp_path / "figure8", games, seeds)
    _cli("aggregate", runs, tmp_path / "aggregate", games, seeds, "--reps", "50")
    aggregate = pd.read_csv(tmp_path / "aggregate.csv")
    assert {"IQM", "P(i-DQN > DDQN)"} <= set(aggregate["metric"])
    assert aggregate["estimate"].isna().all()
    assert aggregate["note"].str.startswith("undefined: 2 of 4 runs have fewer than 100").all()
    assert "ddqn Freeway seed 0: too few episodes (40 < 100)" in aggregate["note"][0]
    for name in ("figure8.png", "aggregate.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    for name in ("figure8.pdf", "aggregate.pdf"):
        assert (tmp_path / name).read_bytes()[:4] == b"%PDF", name


def test_figure8_when_no_run_has_a_full_window(tmp_path):
    runs = tmp_path / "runs"
    for agent in ("ddqn", "idqn"):
        _write_log(runs, agent, "Freeway", 0, [1.0, 2.0, 3.0])
    _cli("figure8", runs, tmp_path / "figure8", ["Freeway"], [0])
    assert (tmp_path / "figure8.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _pong_panel_beside_dopamine(tmp_path, monkeypatch, request, returns):
    """figure8's Pong panel for one DDQN run of ``returns``, with Dopamine's curves."""
    runs = tmp_path / "runs"
    _write_log(runs, "ddqn", "Pong", 0, returns)
    drawn = {}
    monkeypatch.setattr(reports, "_save_figure", lambda fig, outputs: drawn.setdefault("fig", fig))
    request.addfinalizer(lambda: plt.close("all"))
    curves = ("--reference-curves", str(PONG_CURVES))
    _cli("figure8", runs, tmp_path / "f8", ["Pong"], [0], *curves, agents=["ddqn"])
    return drawn["fig"].axes[0]


def test_figure8_draws_published_reference_curves_beside_ours(tmp_path, monkeypatch, request):
    """Pong's figure draws Dopamine's DQN (data/atari/README.md): the mean of the runs at each
    iteration's middle frame, dashed, and a legend entry naming how many runs."""
    ax = _pong_panel_beside_dopamine(tmp_path, monkeypatch, request, np.linspace(-21, 0, 150))
    published = pd.read_csv(PONG_CURVES)
    lines = {line.get_label(): line for line in ax.lines}
    assert "DQN (Dopamine), 5 runs (band: their range)" in lines
    assert lines["DDQN"].get_linestyle() == "-"
    reference = lines["DQN (Dopamine), 5 runs (band: their range)"]
    assert reference.get_linestyle() == "--"
    mean = published.groupby("iteration")["return"].mean().to_numpy()
    np.testing.assert_allclose(reference.get_ydata(), mean)
    np.testing.assert_allclose(reference.get_xdata(), (np.arange(10) + 0.5) * 1_000_000)


def test_without_a_full_window_of_ours_the_panel_says_whose_beside_a_reference(
    tmp_path, monkeypatch, request
):
    ax = _pong_panel_beside_dopamine(tmp_path, monkeypatch, request, [-21.0] * 40)
    assert [text.get_text() for text in ax.texts] == [
        "ours: no full 100-episode window:\nat most 40 episodes per run"
    ]
    assert [line.get_label() for line in ax.lines] == ["DQN (Dopamine), 5 runs (band: their range)"]


def test_the_published_pong_curves_span_the_papers_budget():
    curves = read_reference_curves(PONG_CURVES)
    assert curves.groupby("run").size().tolist() == [10] * 5  # five runs, iterations 0-9
    assert curves["frame_start"].min() == 0 and curves["frame_end"].max() == 10_000_000
    assert curves["return"].between(-21, 21).all()


def test_reference_curves_that_cannot_be_averaged_over_runs_are_refused(tmp_path):
    bad = tmp_path / "curves.csv"
    bad.write_text("game,run,frame,return\nPong,0,1000000,-20\n")
    with pytest.raises(UsageError, match="lack columns"):
        read_reference_curves(bad)
    with pytest.raises(UsageError, match="do not exist"):
        read_reference_curves(tmp_path / "none.csv")
    header = "game,label,run,frame_start,frame_end,return\n"
    for rows, message in (
        ("Pong,DQN,0,0,1000000,-20\nPong,DQN,0,0,1000000,-19\n", "repeat a run's stretch"),
        ("Pong,DQN,0,0,1000000,-20\nPong,DQN,1,1000000,2000000,-19\n", "cover different frames"),
        ("Pong,DQN,0,0,1000000,\n", "empty cells"),
    ):
        bad.write_text(header + rows)
        with pytest.raises(UsageError, match=message):
            read_reference_curves(bad)


def test_table1_has_the_papers_reported_ddqn_column(tmp_path):
    assert PAPER_COLUMNS["ddqn_final"] == "DDQN (paper, reported 200M)"
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0, "idqn": 1.0})
    _report("table1", tmp_path / "runs", tmp_path / "table1")
    table = pd.read_csv(tmp_path / "table1.csv").set_index("game")
    reported = table["DDQN (paper, reported 200M)"]
    assert reported.to_dict() == {"Freeway": 33.3, "MsPacman": 2711.4}  # Table 1, Hessel et al.
    assert "DDQN (paper, reported 200M)" in (tmp_path / "table1.md").read_text()


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT / "workflow" / "report").glob("*.rst"))
)
def test_report_captions_are_clean_restructuredtext(name):
    core = pytest.importorskip("docutils.core")
    text = (ROOT / "workflow" / "report" / name).read_text()
    warnings = io.StringIO()
    core.publish_doctree(text, settings_overrides={"warning_stream": warnings, "report_level": 1})
    assert warnings.getvalue() == ""  # e.g. "|A|" is an undefined substitution


def test_table2_caption_writes_no_substitution():
    text = OUTPUTS["table2"].caption  # the one caption: CLI tables and the Snakemake report
    assert not re.search(r"\|\w+\|", text)
    assert "100 / (number of actions)" in text


def test_aggregate_of_a_game_without_reference_says_why(tmp_path):
    # Pong is accepted by the pipeline but the paper gives no Pong score to normalise by.
    runs = tmp_path / "runs"
    for agent in ("ddqn", "idqn"):
        for seed in (0, 1):
            _write_log(runs, agent, "Pong", seed, np.linspace(-21, 0, 150))
    _cli("aggregate", runs, tmp_path / "aggregate", ["Pong"], [0, 1], "--reps", "50")
    table = pd.read_csv(tmp_path / "aggregate.csv")
    assert table["estimate"].isna().all()
    assert table["note"].str.contains("Pong: no paper reference to normalise by").all()
    assert (tmp_path / "aggregate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# Values a caption is filled with: the CLI's arguments, or the workflow's config.
CAPTION_VALUES = {"seeds": [0, 1, 2], "games": GAMES, "agents": ["ddqn"], "tolerance": 0.1}
CAPTION_VALUES |= {"reps": 2000}


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_output_captions_are_clean_restructuredtext(name):
    core = pytest.importorskip("docutils.core")
    text = OUTPUTS[name].caption_text(CAPTION_VALUES)
    warnings = io.StringIO()
    core.publish_doctree(text, settings_overrides={"warning_stream": warnings, "report_level": 1})
    assert warnings.getvalue() == ""  # e.g. "|A|" is an undefined substitution
    assert not re.search(r"\|\w+\|", text)


def test_cli_report_choices_are_the_registry():
    report = _parser()._subparsers._group_actions[0].choices["report"]
    kind = next(action for action in report._actions if action.dest == "kind")
    assert list(kind.choices) == kinds_of("report")
    assert (ROOT / "workflow" / "report" / "output.rst").read_text().strip() == (
        "{{ snakemake.params.caption }}"  # the report shows the registry's caption, no copy
    )


def test_table_captions_are_the_registrys_in_markdown_and_latex(tmp_path):
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0, "idqn": 1.0})
    _report("verdict", tmp_path / "runs", tmp_path / "verdict", "--tolerance", "0.2")
    caption = OUTPUTS["verdict"].caption_text(CAPTION_VALUES | {"tolerance": 0.2})
    markdown = (tmp_path / "verdict.md").read_text()
    assert markdown.startswith("**Reproduction verdicts.** ")
    assert markdown.split("\n\n")[0] == " ".join(caption.split()).replace("``", "`")
    assert "T = paper - 0.2 * abs(paper)" in markdown
    latex = (tmp_path / "verdict.tex").read_text()
    line = next(line for line in latex.splitlines() if line.startswith("\\caption{"))
    assert line.startswith("\\caption{Reproduction verdicts. Each of our cells")
    assert "95\\% Student-t" in line and "**" not in line and "``" not in line
    assert "L \\textgreater{}= T" in line
    _report("table1", tmp_path / "runs", tmp_path / "table1")
    assert "Seeds: [0, 1, 2]." in (tmp_path / "table1.md").read_text()
    assert "data/paper/table1.csv" in (tmp_path / "table1.md").read_text()  # ``...`` -> `...`


def test_a_new_output_is_one_declaration(tmp_path, monkeypatch):
    """A table declared in the registry with its function: the CLI builds it with its caption."""

    def seed_scores(runs, out, caption):
        return reports.write_table(runs.scores, out, caption)

    from agents import reports

    new = Output(seed_scores, ("table",), "**Seed scores.** Seeds: {seeds}.", "Seed scores")
    monkeypatch.setitem(outputs.OUTPUTS, "seed_scores", new)
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0, "idqn": 1.0})
    _report("seed_scores", tmp_path / "runs", tmp_path / "scores")
    assert len(pd.read_csv(tmp_path / "scores.csv")) == 2 * len(GAMES) * 3
    assert (tmp_path / "scores.md").read_text().startswith("**Seed scores.** Seeds: [0, 1, 2].")


def test_reports_cover_the_given_agents_and_a_third_one(tmp_path):
    """Tables follow --agents, label agents from the registry and compare each with its baseline.

    ``random`` (label "Random", no baseline) stands for any agent added to the registry: it has no
    ``random_10m`` reference column, so its verdict is "no reference", not a KeyError.
    """
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0, "idqn": 1.5, "random": 0.1})
    three = ["ddqn", "idqn", "random"]
    seeds = [0, 1, 2]
    _cli("table1", tmp_path / "runs", tmp_path / "table1", GAMES, seeds, agents=three)
    table = pd.read_csv(tmp_path / "table1.csv")
    for label in ("DDQN", "i-DQN", "Random"):
        assert table[f"{label} (ours)"].notna().all(), label
    assert table["Random (ours)"].lt(table["DDQN (ours)"]).all()

    _cli("verdict", tmp_path / "runs", tmp_path / "verdict", GAMES, seeds, agents=three)
    verdicts = pd.read_csv(tmp_path / "verdict.csv").set_index(["game", "agent"])["verdict"]
    assert verdicts[("Freeway", "Random")] == "no reference"
    assert verdicts[("Freeway", "DDQN")] == "not reproduced"  # 0.835 of the paper, below 90%

    _cli(
        "aggregate", tmp_path / "runs", tmp_path / "agg", GAMES, seeds, "--reps", "50", agents=three
    )
    aggregate = pd.read_csv(tmp_path / "agg.csv")
    iqm = aggregate[aggregate["metric"] == "IQM"]
    assert set(iqm["agent"]) == {"DDQN", "i-DQN", "Random"}
    pairs = aggregate[aggregate["metric"].str.startswith("P(")]
    assert pairs["metric"].tolist() == ["P(i-DQN > DDQN)"]  # Random has no baseline
    assert pairs["estimate"].item() > 0.9

    # Without its baseline an agent is reported alone, and nothing is compared.
    _cli("table1", tmp_path / "runs", tmp_path / "alone", GAMES, seeds, agents=["idqn", "random"])
    columns = pd.read_csv(tmp_path / "alone.csv").columns
    assert "i-DQN (ours)" in columns and "DDQN (ours)" not in columns
    _cli(
        "aggregate",
        tmp_path / "runs",
        tmp_path / "a2",
        GAMES,
        seeds,
        "--reps",
        "50",
        agents=["idqn"],
    )
    assert not pd.read_csv(tmp_path / "a2.csv")["metric"].str.startswith("P(").any()


def test_an_unknown_agent_is_a_clear_error(tmp_path, capsys):
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0})
    args = ["report", "table1", "--runs", str(tmp_path / "runs"), "--agents", "ddqn", "rainbow"]
    args += ["--games", *GAMES, "--seeds", "0", "--out", str(tmp_path / "t")]
    assert main([*args, "--reference", str(REFERENCE)]) == 2
    assert "unknown agent 'rainbow'" in capsys.readouterr().err


def test_claims_table_gives_the_t_interval_over_seeds_and_the_early_score(tmp_path):
    # Seeds whose returns are 1, 2 and 3 throughout: mean 2, sd 1 over three seeds.
    for seed, level in enumerate((1.0, 2.0, 3.0)):
        _write_log(tmp_path, "ddqn", "Freeway", seed, np.full(300, level))
    # i-DQN's seed 0 rises late: its final window differs from its early one.
    _write_log(tmp_path, "idqn", "Freeway", 0, np.r_[np.zeros(150), np.full(150, 10.0)])
    _write_log(tmp_path, "idqn", "Freeway", 1, np.full(300, 5.0))
    _cli("claims", tmp_path, tmp_path / "claims", ["Freeway"], [0, 1])
    _cli("claims", tmp_path, tmp_path / "claims3", ["Freeway"], [0, 1, 2], agents=("ddqn",))
    ddqn = pd.read_csv(tmp_path / "claims3.csv").iloc[0]
    half = 4.302653 / np.sqrt(3)  # t(0.975; 2) * sd / sqrt(n)
    assert ddqn["final_100"] == pytest.approx(2.0)
    assert (ddqn["final_low"], ddqn["final_high"]) == pytest.approx((2 - half, 2 + half), abs=0.01)
    assert ddqn["early_frame"] == 100_000 and ddqn["early_100"] == pytest.approx(2.0)
    idqn = pd.read_csv(tmp_path / "claims.csv").set_index("agent").loc["i-DQN"]
    assert idqn["final_100"] == pytest.approx(7.5)  # seed 0's last 100 episodes are all 10
    assert idqn["early_100"] == pytest.approx(2.5)  # seed 0 is at 0 at episode 100
    assert idqn["seeds"] == 2


def test_claims_table_gives_one_seed_its_mean_without_an_interval(tmp_path):
    # config/pong.yaml trains one seed: its final average is a number, its interval is not.
    _write_log(tmp_path, "ddqn", "Freeway", 0, np.r_[np.zeros(150), np.full(150, 4.0)])
    _cli("claims", tmp_path, tmp_path / "claims", ["Freeway"], [0], agents=("ddqn",))
    row = pd.read_csv(tmp_path / "claims.csv").iloc[0]
    assert row["seeds"] == 1 and row["final_100"] == pytest.approx(4.0)
    assert row["early_100"] == pytest.approx(0.0)  # episode 100 ends at 100K frames
    assert np.isnan(row["final_low"]) and np.isnan(row["final_high"])


def test_claims_table_leaves_a_seed_without_a_full_window_empty(tmp_path):
    for seed in (0, 1):
        _write_log(tmp_path, "ddqn", "Freeway", seed, np.full(120, 1.0))
    _cli("claims", tmp_path, tmp_path / "claims", ["Freeway"], [0, 1], agents=("ddqn",))
    row = pd.read_csv(tmp_path / "claims.csv").iloc[0]
    assert row["final_100"] == pytest.approx(1.0)
    assert np.isnan(row["early_100"])  # 1/3 of 120K frames is episode 40: no 100-episode window


def test_claims_table_judges_long_episodes_by_their_last_ten_episodes_early(tmp_path):
    # 120 episodes ending every 1,000 frames: one third of the budget is 40,000 frames, where
    # only 40 episodes have ended, too few for a 100-episode window but not for the last 10.
    for seed, offset in enumerate((0.0, 1.0, 2.0)):
        _write_log(tmp_path, "ddqn", "Freeway", seed, np.arange(120, dtype=float) + offset)
    _cli("claims", tmp_path, tmp_path / "claims", ["Freeway"], [0, 1, 2], agents=("ddqn",))
    row = pd.read_csv(tmp_path / "claims.csv").iloc[0]
    assert row["early_frame"] == 40_000 and np.isnan(row["early_100"])
    # Seed 0's last 10 episodes by frame 40,000 are episodes 30-39: mean 34.5; seeds 1, 2 add 1, 2.
    half = 4.302653 / np.sqrt(3)  # t(0.975; 2) * sd (1) / sqrt(3)
    assert row["early_last10"] == pytest.approx(35.5)
    assert (row["early_last10_low"], row["early_last10_high"]) == pytest.approx(
        (35.5 - half, 35.5 + half), abs=0.01
    )


def test_claims_table_leaves_the_last_ten_empty_before_ten_episodes(tmp_path):
    from agents.reports import last_episodes_at

    log = pd.DataFrame({"frame": [1000, 2000, 3000], "return": [1.0, 2.0, 3.0]})
    assert np.isnan(last_episodes_at(log, 3000))
    assert last_episodes_at(log, 2500, count=2) == pytest.approx(1.5)  # episodes ending by 2,500


def test_milestones_give_the_first_frame_the_average_reaches_each_threshold(tmp_path):
    # Pong-like: -21 for 200 episodes, then +21; the 100-episode average rises from episode 200
    # (episode 200) by 0.42 an episode: it reaches 0 at episode 249 (frame 250,000: 50 wins in
    # the window) and passes 15 at episode 285 (frame 286,000: 86 wins give 15.12, 85 give 14.7).
    _write_log(tmp_path, "ddqn", "Pong", 0, np.r_[np.full(200, -21.0), np.full(120, 21.0)])
    # Still training and never past 0: its milestones are empty, its best is its first window.
    _write_log(tmp_path, "ddqn", "Pong", 1, np.r_[np.full(100, -20.0), np.full(50, -21.0)])
    # Under 100 episodes: no statistic at all, but its frames and episodes.
    for seed in (0, 1):
        _write_log(tmp_path, "idqn", "Pong", seed, np.full(60, 5.0))
    _cli("milestones", tmp_path, tmp_path / "m", ["Pong"], [0, 1], "--thresholds", "0", "15")
    table = pd.read_csv(tmp_path / "m.csv")
    risen, flat = table.iloc[0], table.iloc[1]
    assert list(table["agent"]) == ["DDQN", "DDQN", "i-DQN", "i-DQN"]
    assert risen["first_frame_100>=0"] == 250_000
    assert risen["first_frame_100>=15"] == 286_000
    assert risen["best_100"] == pytest.approx(21.0) and risen["best_100_frame"] == 300_000
    assert risen["final_100"] == pytest.approx(21.0) and risen["frames"] == 320_000
    assert flat["best_100"] == pytest.approx(-20.0) and flat["best_100_frame"] == 100_000
    assert flat["final_100"] == pytest.approx(-20.5)
    assert np.isnan(flat["first_frame_100>=0"]) and np.isnan(flat["first_frame_100>=15"])
    short = table.iloc[2]
    assert short["episodes"] == 60 and np.isnan(short["best_100"]) and np.isnan(short["final_100"])
    assert "--" in (tmp_path / "m.md").read_text()  # a missing cell, not "nan" or "<NA>"
    assert "nan" not in (tmp_path / "m.md").read_text().lower()


def _committed_runs(root: Path, agents=("ddqn", "idqn", "random")) -> None:
    """Copies of the committed MinAtar Breakout seed-0 runs' configs and logs."""
    import shutil

    for agent in agents:
        source = ROOT / "results" / "minatar" / "runs" / agent / "MinAtar-Breakout" / "s0"
        target = run_dir(root, agent, "MinAtar-Breakout", 0)
        target.mkdir(parents=True)
        for name in ("config.yaml", "episodes.csv", "losses.csv"):
            shutil.copy(source / name, target / name)


def test_diagnostics_draw_each_logged_quantity_of_the_agents_that_log_it(tmp_path, monkeypatch):
    _committed_runs(tmp_path)
    losses = reports.load_losses(tmp_path, ["ddqn", "idqn", "random"], ["MinAtar-Breakout"], [0])
    assert set(losses["agent"]) == {"ddqn", "idqn"}  # random never learns: no loss log
    assert losses.loc[losses["agent"] == "idqn", "epsilon"].isna().all()  # directed exploration
    drawn = {}
    monkeypatch.setattr(reports, "_save_figure", lambda fig, paths: drawn.setdefault("fig", fig))
    agents = ("ddqn", "idqn", "random")
    _cli("diagnostics", tmp_path, tmp_path / "d", ["MinAtar-Breakout"], [0], agents=agents)
    axes = drawn["fig"].axes
    labels = [ax.get_ylabel().split("\n")[0] for ax in axes]
    assert labels == ["training reward", "training loss", "mean Q of the", "ε (exploration)"]
    lines = [len(ax.lines) for ax in axes]
    assert lines == [3, 2, 2, 1]  # random has returns only; ε is DDQN's alone
    assert axes[1].get_yscale() == "log"  # both losses are positive


def test_diagnostics_of_a_run_without_its_loss_log_is_a_clear_error(tmp_path, capsys):
    _committed_runs(tmp_path, agents=("ddqn",))
    (run_dir(tmp_path, "ddqn", "MinAtar-Breakout", 0) / "losses.csv").unlink()
    args = ["report", "diagnostics", "--runs", str(tmp_path), "--agents", "ddqn"]
    args += ["--games", "MinAtar-Breakout", "--seeds", "0", "--out", str(tmp_path / "d")]
    assert main(args) == 2
    assert "losses.csv" in _one_error_line(capsys)
    assert not list(tmp_path.glob("d.*"))


def test_table2_gives_the_chance_rate_of_the_action_shares_beside_the_random_one(tmp_path):
    import json

    from agents.reports import table2

    result = {"agreement": 0.37, "random": 1 / 3, "chance": 0.37, "steps": 422, "rollouts": 5}
    result |= {"input": "channels", "variant": "AE"}
    (tmp_path / "agreement.json").write_text(json.dumps(result))
    row = table2([tmp_path / "agreement.json"], ROOT / "data" / "paper" / "table2.csv").iloc[0]
    assert row["agreement (ours)"] == pytest.approx(37.0) and row["random"] == pytest.approx(
        33.33, abs=0.01
    )
    assert row["chance (action shares)"] == pytest.approx(37.0)


# --- Corrupt data never reaches a report: every log is read by agents.rundir.read_episodes ---


def _verdict_args(runs: Path, out: Path, seeds=(0, 1, 2)) -> list[str]:
    args = ["report", "verdict", "--runs", str(runs), "--agents", "ddqn", "--games", "Freeway"]
    return args + ["--seeds", *map(str, seeds), "--reference", str(REFERENCE), "--out", str(out)]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_nan_return_stops_the_report_naming_the_run(tmp_path, capsys, value):
    # Three seeds that reproduce DDQN on Freeway; one return of seed 1 is not a number. It was
    # left out of seed 1's windows and the verdict still said "reproduced".
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0})
    run = run_dir(tmp_path / "runs", "ddqn", "Freeway", 1)
    set_field(run, 250, "return", value)
    out = tmp_path / "reports" / "verdict"
    assert main([*_verdict_args(tmp_path / "runs", out), "--tolerance", "0.2"]) == 2
    error = _one_error_line(capsys)
    assert error == (
        f"error: corrupt data in run {run}: episodes.csv row 251 has return {float(value)}, "
        "which no report counts (retrain the run or repair its log)"
    )
    assert not out.parent.exists()  # nothing written


@pytest.mark.parametrize("kind", sorted(outputs.outputs_needing("runs")))
def test_every_run_report_refuses_a_nan_return(tmp_path, capsys, kind):
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0, "idqn": 0.5})
    set_field(run_dir(tmp_path / "runs", "idqn", "MsPacman", 2), 10, "return", "nan")
    args = ["report", kind, "--runs", str(tmp_path / "runs"), "--games", *GAMES]
    args += ["--seeds", "0", "1", "2", "--reference", str(REFERENCE), "--out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "corrupt data in run" in _one_error_line(capsys)
    assert not list(tmp_path.glob("r.*"))


def test_a_seed_whose_returns_are_all_nan_is_corrupt_data_not_too_few_episodes(tmp_path, capsys):
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0})
    run = run_dir(tmp_path / "runs", "ddqn", "Freeway", 2)
    for row in range(300):
        set_field(run, row, "return", "nan")
    assert main(_verdict_args(tmp_path / "runs", tmp_path / "verdict")) == 2
    error = _one_error_line(capsys)
    assert error.startswith(f"error: corrupt data in run {run}: episodes.csv row 1 has return nan")
    assert "too few episodes" not in error and not list(tmp_path.glob("verdict.*"))


def test_a_torn_last_row_is_not_counted_as_an_episode(tmp_path):
    # A kill mid-write leaves "301000,300,1" without its line ending: the resume drops it, and so
    # must the reports (it was episode 301, with return 1, in the last 100-episode window).
    returns = np.linspace(19_000, 21_000, 300)
    _write_log(tmp_path / "runs", "ddqn", "Freeway", 0, returns)
    with open(run_dir(tmp_path / "runs", "ddqn", "Freeway", 0) / "episodes.csv", "a") as log:
        log.write("301000,300,1")
    episodes = load_episodes(tmp_path / "runs", ["ddqn"], ["Freeway"], [0])
    scores = per_seed_scores(episodes)
    assert scores.loc[0, "episodes"] == 300 and scores.loc[0, "frames"] == 300_000
    assert scores.loc[0, "final_100"] == pytest.approx(returns[-100:].mean())
    _cli("table1", tmp_path / "runs", tmp_path / "table1", ["Freeway"], [0], agents=["ddqn"])
    table = pd.read_csv(tmp_path / "table1.csv").iloc[0]
    assert table["DDQN final mean"] == pytest.approx(returns[-100:].mean(), abs=0.01)


def test_an_incomplete_row_inside_a_log_stops_the_report_naming_the_run(tmp_path, capsys):
    # Only the last row can be torn by a crash: a row cut short inside the log is damage.
    _fake_runs(tmp_path / "runs", {"ddqn": 1.0})
    run = run_dir(tmp_path / "runs", "ddqn", "Freeway", 0)
    lines = (run / "episodes.csv").read_text().splitlines(keepends=True)
    lines[120] = "120000,119\n"
    (run / "episodes.csv").write_text("".join(lines))
    assert main(_verdict_args(tmp_path / "runs", tmp_path / "verdict")) == 2
    assert _one_error_line(capsys) == (
        f"error: corrupt data in run {run}: 1 row(s) of episodes.csv are not complete "
        "(retrain the run or repair its log)"
    )
    assert not list(tmp_path.glob("verdict.*"))
