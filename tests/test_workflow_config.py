"""The Snakemake pipeline planned but not run: the paper DAG, config validation, wildcards, conda."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from workflow_helpers import ROOT, git_clone, job_counts, planned_runs, snakemake

from agents.outputs import OUTPUTS, outputs_needing
from agents.pipeline import inputs


@pytest.fixture(scope="module")
def paper_plan() -> dict[str, int]:
    """The paper config's dry run of ``all``, jobs per rule: planned once for the tests that
    read it (each dry run builds the whole DAG)."""
    out = snakemake("-n", "--quiet", "rules", "all")
    return job_counts(out.stdout + out.stderr)


def test_paper_dry_run_has_72_training_jobs(paper_plan):
    counts = paper_plan
    # One training rule: 72 main-grid runs (DDQN, i-DQN and the attention agent; 8 games, 3
    # seeds), Table 2's 8 variant runs and the studies' 36.
    assert counts["train"] == 3 * 8 * 3 + 8 + 36
    # Every output of agents/outputs.py built from runs once, by one rule per kind of input and
    # file-type group with a {kind}.
    reports = {rule: n for rule, n in counts.items() if rule.startswith("report_")}
    assert reports == {
        "report_table": 4,
        "report_agreements_table": 1,
        "report_figure": 2,
        "report_table_figure": 1,
    }
    assert sum(reports.values()) == len(outputs_needing("runs") + outputs_needing("agreements"))
    # Per game: keys, maps, t-SNE, interpolation, adversarial and the attention strip (figures),
    # Fig 2's numbers (JSON) and the attention video (GIF).
    assert counts["interpret_game_figure"] == 8 * 6
    assert counts["interpret_game_json"] == counts["interpret_game_gif"] == 8
    assert counts["interpret_variant_run_json"] == 8  # an agreement score per Table 2 run
    assert counts["interpret_variant_figure"] == 2  # Figs 7 and 5 of the adversarial run
    assert counts["interpret_variants_figure"] == 1  # Fig 6


@pytest.mark.parametrize(
    "config,message",
    [
        ("games=[Zork]", "error: config games: unknown game 'Zork'"),
        ("frames=-5", "error: config frames: -5 is less than the minimum of 4"),
        ("seeds=[-1]", "error: config seeds[0]: -1 is less than the minimum of 0"),
        ("seeds=[0.5]", "error: config seeds[0]: 0.5 is not of type 'integer'"),
        ("frames=8000.5", "error: config frames: 8000.5 is not of type 'integer'"),
        ('table2={"seed": -2}', "error: config table2.seed: -2 is less than the minimum of 0"),
        ("framse=8000", "error: config (top level): Additional properties are not allowed"),
    ],
)
def test_schema_rejects_bad_config(config, message):
    out = snakemake("all", "-n", "--config", config, check=False)
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), out.stderr[-2000:]
    # The reason itself, not Snakemake's echo of the schema (where "minimum" always appears).
    assert "Failed validating" not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_the_readmes_override_example_plans_one_game_and_one_seed():
    # Snakemake 9 reads list items given with --config as text, seeds=[0] as ["0"], which the
    # schema refused ('0' is not of type 'integer'); they are taken as the integers it asks for.
    out = snakemake("all", "-n", "--quiet", "rules", "--config", "games=[MsPacman]", "seeds=[0]")
    counts = job_counts(out.stdout + out.stderr)
    assert counts["train"] == 3 + 8 + 39  # one game and seed of 3 agents; Table 2; studies


def test_a_whole_float_budget_reaches_training_as_an_integer():
    # frames=8000.0 passed the schema as a float, then every training job failed on
    # `--frames 8000.0`; inside a mapping, "4e3" was text the schema refused.
    config = ["frames=8000.0", "games=[Pong]", 'table2={"seed": 1, "frames": 4e3}']
    commands = _shell_commands("all", "--forceall", "--config", *config)
    main = [line for line in commands if re.search(r"--out results/runs/\w+/Pong/s\d ", line)]
    variants = [line for line in commands if " train " in line and "runs/table2/" in line]
    assert len(main) == 9 and all("--frames 8000 " in line for line in main), main
    assert variants and all("--seed 1 --frames 4000 " in line for line in variants), variants


def test_a_boolean_given_with_config_is_a_boolean():
    # sensitivity={"reuse_main_runs": false} arrives as the text "false".
    config = 'sensitivity={"reuse_main_runs": false}'
    out = snakemake("sensitivity", "-n", "--quiet", "rules", "--config", config)
    counts = job_counts(out.stdout + out.stderr)
    assert counts["train"] == 8 * 3, counts  # none reused: 8 settings x 3 seeds


@pytest.mark.parametrize(
    "config,message",
    [
        (
            'overrides={"ddqn": [], "idqn": ["learnin_starts=100"]}',
            "error: config presets.idqn + overrides.idqn: unknown config key 'learnin_starts' "
            "for agent idqn",
        ),
        (
            'presets={"ddqn": "papr", "idqn": "paper"}',
            "error: config presets.ddqn + overrides.ddqn: unknown preset 'papr' for agent ddqn",
        ),
        (
            'overrides={"ddqn": ["batch_size=0"], "idqn": []}',
            "error: config presets.ddqn + overrides.ddqn: invalid config value for batch_size",
        ),
        (
            'overrides={"ddqn": [], "idqn": [], "iqdn": ["lr=1e-4"]}',
            "unknown agent 'iqdn'",
        ),
    ],
)
def test_dry_run_rejects_bad_presets_and_overrides(config, message):
    out = snakemake("all", "-n", "--config", config, check=False)
    assert out.returncode != 0
    assert message in out.stdout + out.stderr
    assert "Traceback" not in out.stderr  # one line, not a stack


def test_dry_run_rejects_a_bad_table2_variant():
    # --config merges into config.yaml's table2: one misspelled variant among the good ones.
    table2 = {"variants": {"vae-typo": ["embeding=vae"]}}
    out = snakemake("all", "-n", "--config", f"table2={json.dumps(table2)}", check=False)
    assert out.returncode != 0
    assert "error: config table2 run vae-typo-color" in out.stderr
    assert "unknown config key 'embeding' for agent idqn" in out.stderr


def test_paper_dry_run_of_the_studies_has_39_training_jobs(paper_plan):
    """5 ablation and 8 sensitivity settings x 3 seeds; the sensitivity default is the main
    grid's MsPacman i-DQN runs (same preset, budget and seeds), read instead of retrained."""
    out = snakemake("-n", "ablations", "sensitivity", "--quiet", "rules")
    counts = job_counts(out.stdout + out.stderr)
    assert counts["train"] == (5 + 7) * 3 + 3, counts
    assert counts["study_figure_table"] == 2 and counts["study_table"] == 1  # Figs 9a-c, the table
    assert paper_plan["train"] == 72 + 8 + 36, paper_plan


@pytest.mark.parametrize(
    "study,message",
    [
        (
            {"ablations": {"settings": {"no-typo": ["lambda_diversty=0.0"]}}},
            "error: config ablations.settings.no-typo (presets.idqn + ablations.overrides + "
            "ablations.settings.no-typo): unknown config key 'lambda_diversty' for agent idqn",
        ),
        (
            {"sensitivity": {"settings": {"neg": ["lambda_bellman=-1"]}}},
            "error: config sensitivity.settings.neg",
        ),
        (
            {"ablations": {"diversity": ["all-losses", "no-diversty"]}},
            "error: config ablations.diversity: 'no-diversty' is not one of ablations.settings",
        ),
        (
            {"sensitivity": {"default": "defualt"}},
            "error: config sensitivity.default: 'defualt' is not one of sensitivity.settings",
        ),
    ],
)
def test_a_bad_study_setting_stops_before_any_training(study, message):
    key, value = next(iter(study.items()))
    out = snakemake("all", "-n", "--config", f"{key}={json.dumps(value)}", check=False)
    assert out.returncode != 0
    assert message in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_dry_run_accepts_pong():
    out = snakemake("all", "-n", "--quiet", "rules", "--config", "games=[Pong]")
    counts = job_counts(out.stdout + out.stderr)
    assert counts["train"] == 3 * 3 + 8 + 36  # 3 agents on Pong; Table 2; studies (none reused)


def test_the_pong_config_plans_its_two_runs_and_their_report_only():
    """config/pong.yaml (issue 27): DDQN and i-DQN on Pong at 10M frames, and `grid` builds the
    grid's tables and figures and i-DQN's Pong figures, without Table 2's MsPacman runs or the
    studies."""
    # In runs and reports directories of their own, so that the committed runs and report do
    # not enter (with the report committed, nothing would be planned).
    fresh = "results/atari/pong-plan"
    out = snakemake(
        "grid",
        "-n",
        "--configfile",
        "config/pong.yaml",
        "--config",
        f"runs_dir={fresh}",
        "reports_dir=reports/atari/pong-plan",
    )
    counts = job_counts(out.stdout + out.stderr)
    assert counts["train"] == 2, counts
    assert sorted(planned_runs(out.stdout)) == [f"{fresh}/{a}/Pong/s0" for a in ("ddqn", "idqn")]
    assert "--frames 10000000 --preset paper" in out.stdout
    assert "--reference-curves data/atari/dopamine_pong_dqn.csv" in out.stdout  # Dopamine's DQN
    assert counts["interpret_game_figure"] == 5 and "report_agreements_table" not in counts, counts


def test_figure8_takes_the_reference_curves_as_an_input_only_where_the_config_names_them():
    config = {"agents": ["ddqn"], "games": ["Pong"], "seeds": [0], "runs_dir": "runs"}
    figure8, table1 = SimpleNamespace(kind="figure8"), SimpleNamespace(kind="table1")
    assert set(inputs(config, "runs", figure8)) == {"run"}
    config["reference_curves"] = "data/atari/dopamine_pong_dqn.csv"
    assert inputs(config, "runs", figure8)["reference_curves"] == [config["reference_curves"]]
    assert set(inputs(config, "runs", table1)) == {"run"}


def test_interpret_figures_need_the_ddqn_run_only_for_tsne():
    for kind, trainings in (("keys", 1), ("tsne", 2)):
        out = snakemake(f"reports/interpret/Alien/{kind}.png", "-n", "--quiet", "rules")
        assert job_counts(out.stdout + out.stderr)["train"] == trainings, kind
    # Without DDQN runs every figure is still drawn (t-SNE without the DDQN panel).
    out = snakemake("all", "-n", "--quiet", "rules", "--config", "agents=[idqn]")
    counts = job_counts(out.stdout + out.stderr)
    assert counts["interpret_game_figure"] == 8 * 5 and counts["train"] == 8 * 3 + 8 + 36


# Answers the three queries of a Snakemake dry run with --sdm conda, as conda would; only a real
# run would create the environment, so a dry run needs no conda installed.
FAKE_CONDA = """#!/bin/sh
case "$*" in
  "--version") echo "conda 24.11.0" ;;
  "info --json") echo '{"conda_prefix": "/nonexistent", "platform": "linux-64"}' ;;
  "config --get channel_priority --json") echo '{"get": {"channel_priority": "strict"}}' ;;
  *) echo "fake conda cannot: $*" >&2; exit 1 ;;
esac
"""


def _shell_commands(*args, env=None) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    return [line.removeprefix("Shell command: ") for line in lines if "-m agents" in line]


def test_rules_run_the_conda_environments_python_under_sdm_conda(tmp_path):
    small = ["all", "--forceall", "--config", "games=[Pong]"]
    commands = _shell_commands(*small)
    assert commands and all(f"{sys.executable} -m agents" in line for line in commands)

    (tmp_path / "conda").write_text(FAKE_CONDA)
    (tmp_path / "conda").chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    commands = _shell_commands(*small, "--sdm", "conda", env=env)
    assert len(commands) > 10  # training, every report output, interpretability figures
    for line in commands:
        assert sys.executable not in line
        assert re.match(r"(OMP_NUM_THREADS=\d+ )?python -m agents ", line), line


# --- Suites: games and agents come from agents/suites.py and the registry, not from lists ---


def test_dry_run_accepts_any_ale_game():
    out = snakemake("all", "-n", "--quiet", "rules", "--config", "games=[Breakout]")
    assert job_counts(out.stdout + out.stderr)["train"] == 3 * 3 + 8 + 39  # Table 2, studies


def test_dry_run_accepts_minatar_games_with_the_minatar_preset():
    out = snakemake(
        "all",
        "-n",
        "--quiet",
        "rules",
        "--config",
        "games=[MinAtar-Breakout, MinAtar-SpaceInvaders]",
        'presets={"ddqn": "minatar", "idqn": "minatar", "attention": "minatar"}',
    )
    assert job_counts(out.stdout + out.stderr)["train"] == 3 * 2 * 3 + 8 + 39


def test_train_wildcards_take_every_suite_game_and_registry_agent():
    # A run of a game outside config games, named by its file: the wildcards come from the
    # suites and the registry, so MinAtar's "-" passes and a misspelled name has no rule.
    out = snakemake("results/runs/ddqn/MinAtar-Freeway/s0/summary.json", "-n", "--quiet", "rules")
    assert job_counts(out.stdout + out.stderr) == {"train": 1, "total": 1}
    for target in (
        "results/runs/ddqn/Breakot/s0/summary.json",
        "results/runs/dqn/Pong/s0/summary.json",
    ):
        out = snakemake("-n", target, check=False)
        assert out.returncode != 0 and "MissingRuleException" in out.stdout + out.stderr


@pytest.mark.parametrize(
    "config,message",
    [
        (
            ["games=[Breakot]"],
            "error: config games: unknown game 'Breakot'; valid games: Alien, Freeway",
        ),
        (["agents=[dqn]"], "error: config agents: unknown agent 'dqn'; valid agents: ddqn"),
        (
            ['table2={"game": "MsPacmann"}'],
            "error: config table2.game: unknown game 'MsPacmann'",
        ),
        (
            ["games=[MinAtar-Breakout]"],
            "error: config presets.ddqn + overrides.ddqn, game MinAtar-Breakout: MinAtar has no "
            "action repeat",
        ),
    ],
)
def test_dry_run_rejects_a_bad_game_or_agent_with_one_line(config, message):
    out = snakemake("all", "-n", "--config", *config, check=False)
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_a_third_agent_joins_the_pipeline_from_its_registry_line():
    out = snakemake(
        "all", "-n", "--quiet", "rules", "--config", "agents=[ddqn, idqn, random]", "games=[Pong]"
    )
    assert job_counts(out.stdout + out.stderr)["train"] == 3 * 3 + 8 + 36  # Table 2, studies


def test_a_fresh_clone_rebuilds_the_minatar_reports_without_training(tmp_path):
    """The committed MinAtar runs, and finished Pong runs, are finished runs, whatever Snakemake
    finds on a fresh clone.

    A clone has no ``.snakemake/`` metadata and file times in checkout order, so the tracked files
    are copied with shuffled times (the runs' files newer or older than the code and configs)
    and the dry run must plan no training job, only reports.
    """
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    clone, rng = tmp_path / "clone", np.random.default_rng(0)
    for name in filter(None, tracked):
        source = ROOT / os.fsdecode(name)
        if not source.is_file():
            continue  # deleted in the working tree but not yet committed
        target = clone / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        when = 1.7e9 + rng.uniform(0, 1e7)
        os.utime(target, (when, when))
    runs = clone / "results" / "minatar" / "runs"
    summaries = [
        p
        for folder in ("ddqn", "idqn", "random", "table2")
        for p in (runs / folder).rglob("summary.json")
    ]
    assert len(summaries) == 45 + 4, "the committed main grid and Table 2 variant runs"

    def plan(target: str, *configs: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", target, "--cores", "2"]
            + ["--configfile", *(configs or ["config/minatar.yaml"])],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    reports = job_counts(plan("reports"))  # make minatar-reports: no training of any kind
    assert not [job for job in reports if job.startswith("train")], reports
    # The Pong runs (config/pong.yaml, issue 27): a finished one (its summary.json committed)
    # is never trained again; one still training in chunks is planned.
    pong = [f"results/atari/pong/{agent}/Pong/s0" for agent in ("ddqn", "idqn")]
    unfinished = [run for run in pong if not (clone / run / "summary.json").is_file()]
    assert len(unfinished) < 2, "DDQN's Pong run is committed finished"
    assert planned_runs(plan("grid", "config/pong.yaml")) == unfinished
    # The studies' runs are committed chunk by chunk: exactly the missing ones are planned, in
    # lockstep jobs (config/minatar.yaml) or alone.
    studies = [
        p for folder in ("ablations", "sensitivity") for p in (runs / folder).rglob("summary.json")
    ]
    planned = planned_runs(plan("all"))
    assert len(planned) == len(set(planned)) == (5 * 3 + 7 * 3) - len(studies), planned
    # The confirmatory study (config/confirmatory.yaml): 71 pre-registered runs, amendment 1's
    # 21 and amendment 5's 36, committed as they finish; a clone plans exactly the missing ones,
    # never the pilot's, each a single run as pre-registered (no lockstep job).
    committed = list((clone / "results" / "confirmatory" / "runs").rglob("summary.json"))
    study = plan("confirmatory", "config/minatar.yaml", "config/confirmatory.yaml")
    assert len(planned_runs(study)) == 71 + 21 + 36 - len(committed), study[-3000:]
    assert "train_lockstep" not in study
    # A run collected as stopped on a non-finite loss (its failed.json, no summary.json) is
    # finished: it scores as random in the report and is never retrained (amendment 8); a
    # failed attention seed 0 has no weights, so its game gets no strip or GIF.
    failed = [
        f"results/confirmatory/runs/{arm}/MinAtar-Breakout/s0" for arm in ("ddqn", "attention")
    ]
    for run in failed:
        for name in ("summary.json", "model.pt"):
            (clone / run / name).unlink(missing_ok=True)
        (clone / run / "failed.json").write_text('{"reason": "non-finite loss"}\n')
    again = plan("confirmatory", "config/minatar.yaml", "config/confirmatory.yaml")
    assert set(planned_runs(again)) == set(planned_runs(study))
    assert job_counts(again)["confirmatory_attention_video"] == 4
    assert "attention/MinAtar-Breakout-video.gif" not in again
    # Amendment 7: seed 0's attention strip and GIF on each of the five games (the GIFs are
    # never committed; a committed strip may be redrawn, its run's files being newer here).
    jobs = job_counts(study)
    strips = list((clone / "reports" / "confirmatory" / "attention").glob("*-strip.png"))
    assert jobs["confirmatory_attention_video"] == 5, jobs
    assert jobs.get("confirmatory_attention_strip", 0) >= 5 - len(strips), jobs


# The smallest GIF: one pixel. Only its presence matters to the report's plan.
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


def test_a_fresh_clone_builds_the_report_of_every_committed_configuration(tmp_path):
    """`snakemake --report` of each config whose reports are committed (the MinAtar reproduction's
    config/minatar.yaml), on a fresh `git clone` of HEAD, from what git holds.

    It stopped on "attention-video.gif marked for report but does not exist": the GIFs are
    git-ignored, but the report still asked for them. Once built, they are in the report.
    """
    clone = git_clone(tmp_path / "clone")
    committed = {}
    for path in sorted((clone / "config").glob("*.yaml")):
        folder = yaml.safe_load(path.read_text()).get("reports_dir")
        if folder is None:  # loaded on top of another config (confirmatory.yaml on minatar.yaml)
            continue
        reports = clone / folder
        if (reports / "table1.csv").is_file():
            committed[path.relative_to(clone).as_posix()] = reports
    assert "config/minatar.yaml" in committed, committed
    for config, reports in committed.items():
        html = tmp_path / f"{Path(config).stem}.html"
        # A report without Table 2 was built by `grid` (config/pong.yaml); `all` would ask for it.
        target = [] if (reports / "table2.csv").is_file() else ["grid"]
        snakemake(*target, "--report", str(html), "--configfile", config, "--cores", "1", cwd=clone)
        text = html.read_text(errors="replace")
        assert len(text) > 100_000, config
        assert OUTPUTS["table1"].caption.split("**")[1] in text, config  # "Table 1." ...
        assert "attention-video.gif" not in text, config
    # With the GIFs built (`snakemake attention`), the report shows them.
    games = yaml.safe_load((clone / "config" / "minatar.yaml").read_text())["games"]
    for game in games:
        (committed["config/minatar.yaml"] / "interpret" / game / "attention-video.gif").write_bytes(
            GIF
        )
    html = tmp_path / "with-gifs.html"
    snakemake(
        "--report", str(html), "--configfile", "config/minatar.yaml", "--cores", "1", cwd=clone
    )
    assert "attention-video.gif" in html.read_text(errors="replace")


def test_the_peers_target_plans_one_peer_run_per_game_and_seed(tmp_path):
    out = snakemake(
        "-n",
        "-p",
        "peers",
        "--configfile",
        "config/minatar.yaml",
        "--config",
        f"runs_dir={tmp_path / 'runs'}",
        f"reports_dir={tmp_path / 'reports'}",  # the committed peer reports would be up to date
    )
    counts = job_counts(out.stdout)
    # The peer's runs and the main runs: ddqn, idqn, attention and random x 5 games x 3 seeds
    # (DDQN's and i-DQN's in lockstep jobs, config/minatar.yaml).
    planned = planned_runs(out.stdout)
    assert len(planned) == len(set(planned)) == 5 * 3 + 4 * 5 * 3, counts
    assert counts["peer_reports"] == 1
    # The aggregate with the peers beside our agents (issue 21: SB3 beside DDQN, i-DQN, attention).
    assert f"{tmp_path / 'reports'}/peers/aggregate.csv" in out.stdout
    assert "report aggregate" in out.stdout and "sb3-dqn --reference" in out.stdout
    bad = snakemake("-n", "peers", "--config", "peers=[sb4-dqn]", check=False)
    assert bad.returncode != 0 and "sb4-dqn" in bad.stdout + bad.stderr
