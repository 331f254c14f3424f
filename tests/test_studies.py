"""The studies of i-DQN settings (agents/studies.py): the paper's sensitivity numbers, the
ablation and sensitivity tables on constructed runs, reused main-grid runs, and bad input."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from episode_logs import set_field, write_episode_log

from agents.__main__ import main
from agents.files import atomic_write_yaml
from agents.rundir import RunSpec, config_document, resolve
from agents.studies import Study, read_sensitivity_reference, sensitivity_table, setting_table

ROOT = Path(__file__).resolve().parent.parent
SENSITIVITY = ROOT / "data" / "paper" / "sensitivity.csv"
PAPER_TEXT = ROOT / "data" / "paper" / "excerpt.txt"  # the lines of the paper checked here
GAME = "MinAtar-Breakout"


def _paper_number(text: str) -> float:
    """'3, 245.3' (the text's thousands separator, with a space) -> 3245.3."""
    return float(text.replace(", ", "").replace(",", ""))


def test_sensitivity_scores_are_the_quoted_numbers():
    reference = read_sensitivity_reference(SENSITIVITY)
    assert len(reference) == 8
    for setting, row in reference.iterrows():
        quoted = [_paper_number(n) for n in re.findall(r"\d(?:[\d,]|, (?=\d{3}))*\.\d+", row.quote)]
        if np.isnan(row.score):
            assert "significant effect" in row.quote, setting
        else:
            assert row.score in quoted, (setting, quoted)
        if not np.isnan(row.drop_percent):
            assert f"∼ {row.drop_percent:g}%" in row.quote, setting


def test_sensitivity_quotes_are_in_the_paper_text():
    words = " ".join(PAPER_TEXT.read_text().split())
    for setting, row in read_sensitivity_reference(SENSITIVITY).iterrows():
        assert row.quote in words, setting


def _run(root: Path, setting: str, seed: int, returns, overrides=None) -> Path:
    """A constructed run: a real resolved config and an episode log with ``returns``."""
    folder = root / setting / GAME / f"s{seed}"
    folder.mkdir(parents=True)
    run = RunSpec("idqn", GAME, seed, 300_000, "minatar")
    atomic_write_yaml(folder / "config.yaml", config_document(run, resolve(run, overrides or {})))
    write_episode_log(folder, returns, length=1000)
    return folder


def test_setting_table_gives_mean_and_sd_over_seeds(tmp_path):
    for seed, level in enumerate((1.0, 2.0, 3.0)):
        _run(tmp_path, "all-losses", seed, np.full(200, level))
        _run(tmp_path, "no-bellman", seed, np.r_[np.full(100, 5.0), np.zeros(100)])
    study = Study(tmp_path, ("all-losses", "no-bellman"), GAME, (0, 1, 2))
    _, scores = study.load()
    table = setting_table(scores, study.settings).set_index("setting")
    assert table.loc["all-losses", "final_100 mean"] == pytest.approx(2.0)
    assert table.loc["all-losses", "final_100 sd"] == pytest.approx(1.0)
    half = 4.302653 / np.sqrt(3)  # t(0.975; 2) * sd / sqrt(3)
    low, high = table.loc["all-losses", ["final_100 low", "final_100 high"]]
    assert (low, high) == pytest.approx((2 - half, 2 + half), abs=1e-4)
    assert table.loc["no-bellman", "best_100 mean"] == pytest.approx(5.0)  # its first window
    assert table.loc["no-bellman", "final_100 mean"] == pytest.approx(0.0)


def test_sensitivity_drops_are_measured_from_the_default(tmp_path):
    main_runs = tmp_path / "main"
    for seed in (0, 1):
        _run(main_runs, "idqn", seed, np.full(150, 10.0))  # the default: the main grid's runs
        _run(
            tmp_path / "study",
            "lambda3-0.5",
            seed,
            np.full(150, 6.0),
            {"lambda_reconstruction": 0.5},
        )
        _run(
            tmp_path / "study",
            "lambda_exp-0.001",
            seed,
            np.full(150, 9.0),
            {"exploration_lambda": 0.001},
        )
    settings = ("default", "lambda3-0.5", "lambda_exp-0.001")
    study = Study(tmp_path / "study", settings, GAME, (0, 1), {"default": main_runs / "idqn"})
    table = sensitivity_table(study, "default", read_sensitivity_reference(SENSITIVITY))
    table = table.set_index("setting")
    assert table.loc["lambda3-0.5", "ours drop %"] == pytest.approx(40.0)
    assert table.loc["lambda3-0.5", "lambda_reconstruction"] == "0.5"  # from the run's config
    assert table.loc["lambda_exp-0.001", "exploration_lambda"] == "0.001"
    assert table.loc["default", "ours drop %"] == pytest.approx(0.0)
    # The paper's own drop, from its reported scores: (6132.21 - 3245.3) / 6132.21.
    assert table.loc["lambda3-0.5", "paper drop %"] == pytest.approx(47.08, abs=0.01)
    assert table.loc["lambda3-0.5", "paper stated drop %"] == 45
    assert np.isnan(table.loc["lambda_exp-0.001", "paper"])


def test_study_cli_writes_the_ablation_table_and_figure(tmp_path):
    for setting in ("bellman-diversity", "all-losses"):
        for seed in (0, 1):
            _run(tmp_path / "runs", setting, seed, np.linspace(0, 5, 150))
    out = tmp_path / "reports" / "ablation"
    args = ["study", "ablation", "--runs", str(tmp_path / "runs"), "--game", GAME]
    args += [
        "--settings",
        "bellman-diversity",
        "all-losses",
        "--seeds",
        "0",
        "1",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    table = pd.read_csv(out.with_suffix(".csv"))
    assert table["setting"].tolist() == ["bellman-diversity", "all-losses"]
    assert (table["seeds"] == 2).all()
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Loss ablation" in out.with_suffix(".md").read_text()


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--settings", "a", "a"], "settings must be distinct"),
        (["--settings", "a", "--reuse", "b=/x"], "reused settings ['b'] are not among"),
        (["--settings", "a", "--reuse", "a"], "--reuse takes SETTING=FOLDER"),
        (["--settings", "missing"], "missing log"),
    ],
)
def test_study_cli_rejects_bad_input_with_one_line(tmp_path, capsys, extra, message):
    out = tmp_path / "ablation"
    args = ["study", "ablation", "--runs", str(tmp_path), "--game", GAME, "--seeds", "0"]
    assert main([*args, *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("ablation*"))


def test_sensitivity_needs_its_default_among_the_settings(tmp_path, capsys):
    _run(tmp_path, "a", 0, np.ones(10))
    args = ["study", "sensitivity", "--runs", str(tmp_path), "--game", GAME, "--seeds", "0"]
    assert main([*args, "--settings", "a", "--out", str(tmp_path / "s")]) == 2
    assert "needs --default" in capsys.readouterr().err
    assert main([*args, "--settings", "a", "--default", "b", "--out", str(tmp_path / "s")]) == 2
    assert "the sensitivity default 'b' is not among the settings" in capsys.readouterr().err


def test_a_nan_return_stops_the_study_naming_the_run(tmp_path, capsys):
    # A study reads its runs as the reports do (agents.rundir.read_episodes): no silent NaN.
    for setting in ("bellman-diversity", "all-losses"):
        for seed in (0, 1):
            _run(tmp_path / "runs", setting, seed, np.linspace(0, 5, 150))
    run = tmp_path / "runs" / "all-losses" / GAME / "s1"
    set_field(run, 140, "return", "nan")
    out = tmp_path / "reports" / "ablation"
    args = ["study", "ablation", "--runs", str(tmp_path / "runs"), "--game", GAME]
    args += ["--seeds", "0", "1", "--settings", "bellman-diversity", "all-losses"]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: corrupt data in run {run}: episodes.csv row 141 has return nan, which no report "
        "counts (retrain the run or repair its log)"
    ]
    assert not out.parent.exists()
