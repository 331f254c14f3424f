"""Table 1, Figure 8, the rliable aggregate and the verdicts, on synthetic run directories."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.__main__ import main
from agents.reports import (
    PAPER_COLUMNS,
    load_episodes,
    per_seed_scores,
    read_reference,
    run_dir,
    verdict_table,
)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "paper" / "table1.csv"
SEED_TEXT = ROOT.parent / "shared" / "seeds" / "000_92af06f1b721b989.txt"
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
                pd.DataFrame(
                    {
                        "frame": np.arange(1, n + 1) * 1000,
                        "episode": np.arange(n),
                        "return": returns,
                        "length": 100,
                        "seconds": np.arange(n),
                    }
                ).to_csv(folder / "episodes.csv", index=False)


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
    if not SEED_TEXT.is_file():
        pytest.skip(f"the paper's text is not at {SEED_TEXT}")
    lines = SEED_TEXT.read_text().splitlines()
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
    assert code == 2 and "missing episode log" in capsys.readouterr().err


def test_load_episodes_adds_the_moving_average(tmp_path):
    _fake_runs(tmp_path, {"ddqn": 1.0}, seeds=(0,))
    episodes = load_episodes(tmp_path, ["ddqn"], ["Freeway"], [0])
    assert episodes["return_100"].iloc[99] == pytest.approx(episodes["return"].iloc[:100].mean())
    scores = per_seed_scores(episodes)
    assert scores.loc[0, "episodes"] == 300
