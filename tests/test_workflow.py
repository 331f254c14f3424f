"""The Snakemake pipeline end to end: the smoke run and the same DAG through Slurm.

The dry-run checks (DAG shape, config validation) are in test_workflow_config.py and the
kill-and-resume check in test_workflow_resume.py, so that pytest-xdist runs them beside this
file's one shared smoke DAG.
"""

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from workflow_helpers import snakemake

from agents.outputs import OUTPUTS
from agents.reports import PAPER_COLUMNS

SMOKE_GAMES = ["Qbert", "SpaceInvaders"]


def _smoke(profile: str, folder: Path) -> Path:
    reports = folder / "reports"
    snakemake(
        "all",
        "--profile",
        profile,
        "--config",
        f"runs_dir={folder / 'runs'}",
        f"reports_dir={reports}",
    )
    return reports


@pytest.fixture(scope="module")
def smoke_reports(tmp_path_factory) -> Path:
    return _smoke("workflow/profiles/smoke", tmp_path_factory.mktemp("smoke"))


@pytest.mark.slow
def test_smoke_workflow_builds_every_study_table_and_figure(smoke_reports):
    ablations, sensitivity = smoke_reports / "ablations", smoke_reports / "sensitivity"
    settings = ["bellman-diversity", "bellman-distributional-diversity", "all-losses"]
    settings += ["no-bellman", "no-diversity"]
    assert pd.read_csv(ablations / "ablation.csv")["setting"].tolist() == settings
    diversity = pd.read_csv(ablations / "diversity.csv")
    assert set(diversity["setting"]) == {"all-losses", "no-diversity"}
    per_seed = diversity[diversity["seed"].astype(str) != "all"]
    assert per_seed["entropy"].between(0, per_seed["entropy max"]).all()
    assert per_seed["keys"].between(1, per_seed["keys max"]).all()
    assert (diversity["seed"].astype(str) == "all").sum() == 2  # one summary row per setting
    table = pd.read_csv(sensitivity / "sensitivity.csv")
    assert len(table) == 8 and table["paper"].notna().sum() == 6
    for name in ("ablation", "diversity"):
        data = (ablations / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
        assert (ablations / f"{name}.pdf").read_bytes()[:4] == b"%PDF", name
        assert (ablations / f"{name}.md").stat().st_size > 200, name
    assert (sensitivity / "sensitivity.tex").stat().st_size > 200
    for name in ("reconstructions", "agreeing-ae-gray"):  # Figs 6 and 5, from the Table 2 runs
        data = (smoke_reports / "interpret" / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name


@pytest.mark.slow
def test_smoke_workflow_produces_every_output(smoke_reports):
    reports = smoke_reports
    table = pd.read_csv(reports / "table1.csv")
    assert table["game"].tolist() == SMOKE_GAMES
    for column in PAPER_COLUMNS.values():
        assert table[column].notna().all(), column
    # Smoke runs finish a handful of episodes: the 100-episode statistic is undefined, and the
    # tables say why instead of averaging a partial window (agents.stats).
    for column in ["DDQN (ours)", "i-DQN (ours)", "Attention (ours)"]:
        assert table[column].isna().all(), column
    assert table["note"].str.contains("too few episodes").all()
    verdict = pd.read_csv(reports / "verdict.csv").set_index("agent")
    assert len(verdict) == 3 * len(SMOKE_GAMES)
    assert (verdict.loc[["DDQN", "i-DQN"], "verdict"] == "too few episodes").all()
    assert (verdict.loc["Attention", "verdict"] == "no reference").all()  # the paper has no row
    aggregate = pd.read_csv(reports / "aggregate.csv")
    assert {"IQM", "P(i-DQN > DDQN)"} <= set(aggregate["metric"])
    for name in ("table1.md", "table1.tex", "verdict.md", "aggregate.md"):
        assert (reports / name).stat().st_size > 100, name
    for name in ("figure8.png", "aggregate.png"):
        data = (reports / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    for name in ("figure8.pdf", "aggregate.pdf"):
        assert (reports / name).read_bytes()[:4] == b"%PDF", name
    table2 = pd.read_csv(reports / "table2.csv")
    assert len(table2) == 8 and set(table2["input"]) == {"color", "gray"}
    assert set(table2["variant"]) == {
        "AE",
        "VAE (beta = 0)",
        "VAE (beta = 0.01)",
        "Dense VAE (beta = 0)",
    }
    assert (
        table2["agreement (paper)"].notna().all()
        and table2["agreement (ours)"].between(0, 100).all()
    )
    assert (table2["random"].round(2) == 11.11).all()  # MsPacman has 9 actions
    adversarial = (reports / "interpret" / "adversarial-ae-gray.png").read_bytes()
    assert adversarial[:8] == b"\x89PNG\r\n\x1a\n" and len(adversarial) > 10_000
    for game in SMOKE_GAMES:
        for kind in ("keys", "maps", "tsne", "interpolation", "adversarial"):
            data = (reports / "interpret" / game / f"{kind}.png").read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, (game, kind)
        strip = (reports / "interpret" / game / "attention-strip.png").read_bytes()
        assert strip[:8] == b"\x89PNG\r\n\x1a\n" and len(strip) > 10_000, game
        assert (reports / "interpret" / game / "attention-strip.pdf").read_bytes()[:4] == b"%PDF"
        assert (reports / "interpret" / game / "attention-video.gif").read_bytes()[:6] == b"GIF89a"
    html = reports.parent / "report.html"
    snakemake(
        "--report",
        str(html),
        "--profile",
        "workflow/profiles/smoke",
        "--config",
        f"runs_dir={reports.parent / 'runs'}",
        f"reports_dir={reports}",
    )
    assert html.stat().st_size > 100_000
    text = html.read_text(errors="replace")
    for name, output in OUTPUTS.items():  # each caption, from the registry through output.rst
        if output.in_run:  # written into a run's folder (Table 2's agreement), not the report
            continue
        assert output.caption.split("**")[1] in text, name  # its bold title: "Table 1." ...


def _slurm_available() -> bool:
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.slow
def test_slurm_smoke_matches_the_local_run(smoke_reports, tmp_path):
    if not _slurm_available():
        if os.environ.get("CI"):
            pytest.fail("CI must start Slurm first: bash tools/slurm/setup-local-slurm.sh")
        pytest.skip(
            "no Slurm cluster here (start one with: sudo bash tools/slurm/setup-local-slurm.sh)"
        )
    # One game through Slurm: every agent's training, the tables and figure built from runs, and
    # one figure of each interpret rule. The other rules are the same kind of job, built locally.
    game, reports = SMOKE_GAMES[0], tmp_path / "reports"
    targets = [reports / name for name in ("table1.csv", "verdict.csv", "figure8.png")]
    targets += [
        reports / "interpret" / game / f"{kind}.png" for kind in ("keys", "attention-strip")
    ]
    snakemake(
        *map(str, targets),
        "--profile",
        "workflow/profiles/slurm-smoke",
        "--config",
        f"runs_dir={tmp_path / 'runs'}",
        f"reports_dir={reports}",
        f"games=[{game}]",
    )
    # Seeded single-thread training: the cluster reproduces the local episodes exactly (all but
    # their wall-clock seconds) and so the tables' rows.
    local_runs = smoke_reports.parent / "runs"
    for agent in ("ddqn", "idqn", "attention"):
        run = Path(agent) / game / "s0" / "episodes.csv"
        ours, local = (
            pd.read_csv(f).drop(columns="seconds")
            for f in (tmp_path / "runs" / run, local_runs / run)
        )
        assert len(ours) > 0, agent
        pd.testing.assert_frame_equal(ours, local, obj=agent)
    for name in ("table1.csv", "verdict.csv"):
        ours, local = pd.read_csv(reports / name), pd.read_csv(smoke_reports / name)
        pd.testing.assert_frame_equal(ours, local[local["game"] == game].reset_index(drop=True))
    for path in targets[2:]:
        assert path.stat().st_size > 10_000, path
