"""The confirmatory study's interpretability report: claims 3, 4, 5, 7, 9 and where agents look.

Applies amendment 1 (docs/preregistration-amendments.md, A1.3 and A1.4), and nothing else, to
the per-run measures of :mod:`agents.interpret.run_measures`. Built by ``python -m agents
confirmatory`` into ``OUT/interpret/``:

* ``verdicts.{csv,md}``: every test of A1.3, its estimate, 95% interval, threshold and verdict;
  "not yet" while any of its runs is missing (nothing is judged on part of the data), and
  "not testable" once one of them has failed (amendment 9);
* ``table2.{csv,md}``: claim 5 per variant (agreement, chance, excess, 1/|A|, permutation null);
* ``runs.{csv,md}``: every run's measures, one row per run;
* ``grounding.{csv,md}``: A1.4's table, per agent's map and game: the mean share over seeds with
  its 95% t-interval, the objects' occupancy, and share / occupancy; "not yet" until every seed
  of a row is measured, "not testable" once one of them has failed;
* ``verdicts.png`` (each test's interval against its threshold), ``grounding.png`` (the table's
  shares) and beside it ``grounding-maps.png`` (the maps themselves on example states, with the
  objects outlined; "not yet" where the table says so).

Amendment 15 comes first: while a group of claims is not read (a run of its arms unfinished),
its tests, table 2, its runs' rows and its maps say "withheld", with no number; the group is
amendment 1's for every test and map but amendment 5's attention arms' row, the attention
agent's for that row.

Where the measures come from: the arms amendment 2 keeps no weights of bring ``RUN/interpret.json``
(computed when collected); the ``idqn`` and ``ddqn`` runs' measures are computed here from their
committed weights and kept under ``OUT/interpret/runs/`` (recomputed when the weights, the DDQN
run claim 4 reads or the reference run of claim 9's states change); the attention agent's from
the pilot's committed attention runs (``<runs_dir>/attention``, config/minatar.yaml).
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from agents.confirmatory import (
    bootstrap_detectable_margin,
    detectable_margin,
    hierarchical_bootstrap,
    verdict,
    welch_interval,
)
from agents.errors import UsageError
from agents.interpret import run_measures as rm
from agents.runtable import FAILED_FILE, NON_FINITE

#: Table 2's variants in the paper's order (claim 7: AE > VAE beta=0 > Dense VAE > VAE beta=0.01).
VARIANTS = {
    "AE": "idqn",
    "VAE beta=0": "idqn-vae-beta0",
    "Dense VAE": "idqn-dense-vae",
    "VAE beta=0.01": "idqn-vae-beta0.01",
}
#: Claim 3's threshold: keys no farther from the states than 1.5 times Gaussian points.
CLAIM3_THRESHOLD = math.log(1.5)
#: Claim 9 (b): "a few keys", at most 5 of the 20 keys per action.
FEW_KEYS = 5.0
EMBEDDING_GAMES = (
    "MinAtar-Breakout",
    "MinAtar-Freeway",
    "MinAtar-SpaceInvaders",
    "MinAtar-Asterix",
    "MinAtar-Seaquest",
)
#: The grounding row of amendment 5's attention arms (both arms, one row per game).
ATTENTION_ARMS_ROW = "attention-arms"
#: A1.4's maps: (row label, arm or "attention", key under the run's measures).
MAPS = (
    ("i-DQN, saliency of Q(s, a*)", "idqn", ("grounding", "q_saliency")),
    ("i-DQN, saliency of w_a*(s)", "idqn", ("grounding", "attention_saliency")),
    ("DDQN, saliency of Q(s, a*)", "ddqn", ("grounding", "q_saliency")),
    ("attention agent, spatial attention", "attention", ("spatial_attention",)),
    # Amendment 5's runs (every seed's interpret.json): 0-4 on its Mott games, 0-2 elsewhere.
    (
        "attention agent (amendment 5), spatial attention",
        "attention-arms",
        ("grounding", "spatial_attention"),
    ),
)

#: The attention agent's seeds: its pilot runs commit seed 0's weights only (amendment 4).
ATTENTION_SEEDS = (0,)

Units = dict[tuple[str, int], Any]  # (game, seed) -> a run's value(s)


# -- the tests (pure functions of per-run values) --------------------------------------------


#: The column of each test's detectable margin (amendments 10.6 and 17), as in the score table.
DETECTABLE = "detectable_margin_80"


def bootstrap_interval(units: Units) -> dict[str, float]:
    """The mean over runs of each run's mean (A1.3), ``estimate``, with its 95% ``lower`` and
    ``upper`` bounds from 10,000 resamples (numpy seed 0) of seeds within each game, and of the
    values within each resampled run where a run has several (per-episode values); and the
    smallest true distance from a threshold the test detects with 80% power, from the same
    draws (:data:`DETECTABLE`, :func:`agents.confirmatory.bootstrap_detectable_margin`)."""
    runs = {key: np.atleast_1d(np.asarray(value, dtype=float)) for key, value in units.items()}
    estimate = float(np.mean([values.mean() for values in runs.values()]))
    draws = hierarchical_bootstrap(runs)
    lower, upper = (float(q) for q in np.quantile(draws, [0.025, 0.975]))
    return {"estimate": estimate, "lower": lower, "upper": upper} | {
        DETECTABLE: bootstrap_detectable_margin(draws)
    }


def t_interval(values) -> tuple[float, float, float]:
    """Mean and two-sided 95% Student-t interval over seeds (NaN bounds under 2 values)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        mean = float(values.mean()) if len(values) else float("nan")
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(values.mean() - half), float(values.mean() + half)


def below(lower: float, upper: float, threshold: float) -> str:
    """Holds when the interval lies wholly below ``threshold``, does not hold when wholly above
    (:func:`verdict`'s superiority at 0 of ``threshold - x``)."""
    return verdict(threshold - upper, threshold - lower, 0.0, "superiority")


def claim5(rollout_excess: Units) -> dict[str, Any]:
    """Claim 5 for one variant: the mean excess agreement, hierarchical over seeds and rollouts;
    superiority at 0."""
    found = bootstrap_interval(rollout_excess)
    return (
        found
        | {"threshold": 0.0}
        | {"verdict": verdict(found["lower"], found["upper"], 0.0, "superiority")}
    )


def spearman_with_paper(excess: dict[str, float]) -> float:
    """Spearman correlation between the paper's order of the variants (:data:`VARIANTS`, first
    highest) and their excess agreement in one (game, seed) unit; NaN when all tie."""
    paper = np.arange(len(VARIANTS), 0, -1, dtype=float)
    observed = np.array([excess[name] for name in VARIANTS], dtype=float)
    if np.ptp(observed) == 0:
        return float("nan")
    return float(stats.spearmanr(paper, observed).statistic)


def claim7(units: dict[tuple[str, int], dict[str, float]]) -> dict[str, Any]:
    """Claim 7: the mean Spearman correlation over (game, seed) units, resampled over seeds within
    each game; superiority at 0. A unit whose four variants all tie has no order: inconclusive."""
    rhos = {key: spearman_with_paper(excess) for key, excess in units.items()}
    if any(math.isnan(rho) for rho in rhos.values()):
        return {"estimate": float("nan"), "lower": float("nan"), "upper": float("nan")} | {
            "threshold": 0.0,
            "verdict": "inconclusive",
        }
    found = bootstrap_interval(rhos)
    return (
        found
        | {"threshold": 0.0}
        | {"verdict": verdict(found["lower"], found["upper"], 0.0, "superiority")}
    )


def claim3(log_ratios: Units) -> dict[str, Any]:
    """Claim 3: the mean of log(key statistic / Gaussian null) over the runs; holds when its
    interval lies wholly below log 1.5, does not hold when wholly above."""
    found = bootstrap_interval(log_ratios)
    return found | {
        "threshold": CLAIM3_THRESHOLD,
        "verdict": below(found["lower"], found["upper"], CLAIM3_THRESHOLD),
    }


def claim4(idqn: Units, ddqn: Units) -> list[dict[str, Any]]:
    """Claim 4's two parts and its verdict: (a) i-DQN's excess purity above 0, (b) i-DQN's
    minus DDQN's above 0 (both superiority at 0); holds if both hold, does not hold if either
    does not. Also DDQN's excess purity with its interval, no verdict."""
    rows = []
    for part, units in (
        ("4a: i-DQN excess purity", idqn),
        ("4b: i-DQN minus DDQN excess purity", {key: idqn[key] - ddqn[key] for key in idqn}),
    ):
        found = bootstrap_interval(units)
        rows.append(
            {"test": part}
            | found
            | {"threshold": 0.0}
            | {"verdict": verdict(found["lower"], found["upper"], 0.0, "superiority")}
        )
    parts = [row["verdict"] for row in rows]
    combined = (
        "holds"
        if all(v == "holds" for v in parts)
        else "does not hold"
        if "does not hold" in parts
        else "inconclusive"
    )
    found = bootstrap_interval(ddqn)
    rows.append(
        {"test": "DDQN excess purity (no verdict)"}
        | {name: found[name] for name in ("estimate", "lower", "upper")}
        | {"threshold": float("nan"), "verdict": ""}
    )
    return [
        {"test": "4: i-DQN's states cluster by top key, unlike DDQN's", "verdict": combined},
        *rows,
    ]


def claim9(
    all_losses_entropy, no_diversity_entropy, all_losses_effective_keys
) -> list[dict[str, Any]]:
    """Claim 9: (a) the state-averaged entropy, all-losses minus no-diversity, Welch interval
    over seeds, superiority at 0; (b) the effective number of keys under the loss, t-interval over
    seeds, below :data:`FEW_KEYS`. Holds if both hold; does not hold if (a) does not hold or (b)'s
    interval lies wholly above 5; otherwise inconclusive. Each part's detectable margin is the
    noncentral t's (Welch's for (a), the one-sample test's for (b))."""
    on, off, keys = (
        np.asarray(values, dtype=float)
        for values in (all_losses_entropy, no_diversity_entropy, all_losses_effective_keys)
    )
    detectable_a = detectable_b = float("nan")  # no margin under 2 seeds an arm
    if min(len(on), len(off), len(keys)) >= 2:
        detectable_a = detectable_margin(on.std(ddof=1), off.std(ddof=1), len(on), len(off))
        detectable_b = detectable_margin(keys.std(ddof=1), 0.0, len(keys), 0)
    diff, low_a, high_a = welch_interval(all_losses_entropy, no_diversity_entropy)
    part_a = verdict(low_a, high_a, 0.0, "superiority")
    mean_b, low_b, high_b = t_interval(all_losses_effective_keys)
    part_b = below(low_b, high_b, FEW_KEYS)
    if part_a == "holds" and part_b == "holds":
        combined = "holds"
    elif part_a == "does not hold" or (math.isfinite(low_b) and low_b > FEW_KEYS):
        combined = "does not hold"
    else:
        combined = "inconclusive"
    return [
        {"test": "9: attention spreads across states over few keys per state", "verdict": combined},
        {"test": "9a: state-averaged entropy, all losses minus lambda_4=0 (Welch)"}
        | {"estimate": diff, "lower": low_a, "upper": high_a, DETECTABLE: detectable_a}
        | {"threshold": 0.0, "verdict": part_a},
        {"test": "9b: effective keys exp(entropy) under the loss (t), below 5"}
        | {"estimate": mean_b, "lower": low_b, "upper": high_b, DETECTABLE: detectable_b}
        | {"threshold": FEW_KEYS, "verdict": part_b},
    ]


# -- the measures of the study's runs --------------------------------------------------------


def _current_inputs(result: dict[str, Any], run_dir: Path) -> bool:
    """Whether a kept result was computed from the inputs on disk now."""
    inputs = result.get("inputs", {})
    if inputs.get("weights_sha256") != rm.weights_digest(run_dir):
        return False
    for key, arm, game, seed in (
        ("ddqn", "ddqn", result["game"], result["seed"]),
        ("reference", "idqn", rm.BREAKOUT, 0),
    ):
        if f"{key}_run" not in inputs:
            continue
        other = rm._sibling(run_dir, arm, game, seed)
        present = rm.weights_digest(other) if _has_weights(other) else None
        if inputs.get(f"{key}_weights_sha256") != present:
            return False
    return True


def _has_weights(run_dir: Path) -> bool:
    from agents.rundir import MODEL_FILE

    return (run_dir / "summary.json").is_file() and any(
        (run_dir / name).is_file() for name in ("checkpoint.pt", MODEL_FILE)
    )


def run_result(
    runs_dir: Path, arm: str, game: str, seed: int, cache: Path, settings: rm.Settings
) -> dict[str, Any] | None:
    """One run's measures, None while the run (or its weights) is not there, or for a run
    collected as failed its marker's content under ``"failed"`` (:func:`is_failed`)."""
    run_dir = runs_dir / arm / game / f"s{seed}"
    failed = run_dir / FAILED_FILE
    if failed.is_file():
        try:
            return {"failed": str(json.loads(failed.read_text())["reason"])}
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(f"{failed} is not a failure marker ({error})") from None
    if not (run_dir / "summary.json").is_file():
        return None
    if arm in rm.MEASURED_AT_COLLECTION or arm in rm.ATTENTION_ARMS:
        path = run_dir / rm.INTERPRET_FILE
        return (
            _checked(rm.read(path), path, (arm, game, seed), settings) if path.is_file() else None
        )
    if not _has_weights(run_dir):
        return None
    kept = cache / arm / game / f"s{seed}.json"
    if kept.is_file():
        result = rm.read(kept)
        if result.get("settings") == _settings_dict(settings) and _current_inputs(result, run_dir):
            return result
    result = rm.compute(run_dir, settings=settings)
    rm.write(kept, result)
    return result


def _checked(
    result: dict[str, Any], path: Path, place: tuple[str, str, int], settings: rm.Settings
) -> dict[str, Any]:
    """A collected ``interpret.json``, refused (a one-line error) unless it was measured for the
    run at its place, at the pre-registered sizes: its weights are gone, so nothing else can
    show that it is the measure the pre-registration describes."""
    found = (result.get("arm"), result.get("game"), result.get("seed"))
    if found != place:
        raise UsageError(f"{path} measures {found}, not the run at its place {place}")
    if result.get("settings") != _settings_dict(settings):
        raise UsageError(
            f"{path} was measured at other sizes than the pre-registered ones "
            f"({result.get('settings')}); measure it again from the run's weights"
        )
    return result


def _settings_dict(settings: rm.Settings) -> dict[str, int]:
    from dataclasses import asdict

    return asdict(settings)


def attention_result(
    pilot_runs: Path, game: str, seed: int, cache: Path, settings: rm.Settings
) -> dict[str, Any] | None:
    """The attention agent's share on a pilot run with committed weights, or None."""
    from agents.rundir import MODEL_FILE

    run_dir = pilot_runs / "attention" / game / f"s{seed}"
    if not (run_dir / MODEL_FILE).is_file():
        return None
    kept = cache / "attention" / game / f"s{seed}.json"
    digest = rm.weights_digest(run_dir)
    if kept.is_file():
        result = rm.read(kept)
        if result.get("inputs", {}).get("weights_sha256") == digest and result.get(
            "settings"
        ) == _settings_dict(settings):
            return result
    from agents.rundir import _git_commit

    found = rm.attention_agent_grounding(
        run_dir, settings.grounding_states, examples=settings.grounding_examples
    )
    result = (
        {
            "schema_version": rm.SCHEMA_VERSION,
            "arm": "attention",
            "code_commit": _git_commit(),
            "settings": _settings_dict(settings),
            "streams": {
                "visited_states": {"stream": "STATES_STREAM", "run_seed": found["states_seed"]}
            },
            "inputs": {"weights_sha256": digest, "run": str(run_dir)},
        }
        | {key: found[key] for key in ("agent", "game", "seed")}
        | {"measures": {"spatial_attention": found["spatial_attention"]}}
    )
    rm.write(kept, result)
    return result


def _measure(result: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = None if result is None else result.get("measures")
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _all_finite(value: Any) -> bool:
    """Whether every number in a measure (a number, or lists and mappings of them) is finite."""
    if isinstance(value, dict):
        return all(_all_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_all_finite(item) for item in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return math.isfinite(value)
    return True


def is_failed(result: dict[str, Any] | None) -> bool:
    """Whether ``result`` stands for a run collected as failed (a non-finite loss): it has no
    trained agent to measure, so the tests and rows that need it are not testable (amendment 9)."""
    return result is not None and "failed" in result


def _failed_run_names(
    results: dict[tuple[str, str, int], dict | None], arms, games, seeds=rm.SEEDS
) -> list[str]:
    """The runs among ``arms`` x ``games`` x ``seeds`` collected as failed, by name."""
    return [
        f"{arm} {game} s{seed}"
        for arm in arms
        for game in games
        for seed in seeds
        if is_failed(results.get((arm, game, seed)))
    ]


def _not_testable(test: str, failed: list[str]) -> dict[str, Any]:
    return {"test": test, "verdict": f"not testable ({', '.join(failed)} failed: {NON_FINITE})"}


def _not_yet(test: str, have: int, expected: int, unit: str = "runs") -> dict[str, Any]:
    """A test waiting for its inputs, counted in what it reads: runs, or ``unit`` where it
    reads several runs at a time (claim 4's i-DQN and DDQN pairs, claim 7's variant sets)."""
    return {
        "test": test,
        "runs": f"{have}/{expected}" + ("" if unit == "runs" else f" {unit}"),
        "verdict": f"not yet ({have} of {expected} {unit})",
    }


#: The claims amendment 1 judges; a row whose test is one of them carries its verdict (claim 5
#: one row per variant), the parts 4a, 4b, 9a and 9b say where, not whether (amendment 10).
CLAIMS = ("3", "4", "5", "7", "9")


def carries_claim(test: str) -> bool:
    """Whether a row of the interpretability verdicts is a claim's verdict, not one of its parts."""
    return test.split(":")[0] in CLAIMS


def verdict_rows(results: dict[tuple[str, str, int], dict | None]) -> tuple[list[dict], list[dict]]:
    """Every A1.3 test (``verdicts``) and claim 5's per-variant table (``table2``)."""
    rows, table2 = [], []

    def gather(arm: str, games, path) -> Units:
        found = {}
        for game in games:
            for seed in rm.SEEDS:
                value = _measure(results.get((arm, game, seed)), path)
                if value is not None:
                    found[(game, seed)] = value
        return found

    def finite(arm: str, path: tuple[str, ...], units: Units) -> Units:
        """``units`` as they are, once a test is to be computed from them; a value that is not
        finite stops the report (amendment 17), naming its run and no number. Checked only
        where a test is computed, so that a failed run's "not testable" comes first (amendment
        9)."""
        for (game, seed), value in sorted(units.items()):
            if not _all_finite(value):
                raise UsageError(
                    f"{arm} {game} s{seed}: a measure under {'/'.join(path)} is not finite; "
                    "an amendment must say how to score it"
                )
        return units

    units_expected = len(rm.AGREEMENT_GAMES) * len(rm.SEEDS)
    per_variant = {}
    for name, arm in VARIANTS.items():
        runs = gather(arm, rm.AGREEMENT_GAMES, ("claim5",))
        per_variant[name] = runs
        test = f"5: agreement above chance, {name}"
        row = {"runs": f"{len(runs)}/{units_expected}"}
        if failed := _failed_run_names(results, [arm], rm.AGREEMENT_GAMES):
            rows.append(_not_testable(test, failed) | row)
        elif len(runs) < units_expected:
            rows.append(_not_yet(test, len(runs), units_expected))
        else:
            excess = {k: v["rollout_excess"] for k, v in finite(arm, ("claim5",), runs).items()}
            rows.append({"test": test} | row | claim5(excess))
        # A failed variant's means are over its other runs; the column says which one failed.
        table2.append(
            {"variant": name, "arm": arm}
            | row
            | _variant_means(runs)
            | {"failed runs": ", ".join(_failed_run_names(results, [arm], rm.AGREEMENT_GAMES))}
        )
    test = "7: order AE > VAE beta=0 > Dense VAE > VAE beta=0.01 (Spearman)"
    complete = set.intersection(*(set(runs) for runs in per_variant.values()))
    if failed := _failed_run_names(results, VARIANTS.values(), rm.AGREEMENT_GAMES):
        rows.append(_not_testable(test, failed))
    elif len(complete) < units_expected:
        rows.append(_not_yet(test, len(complete), units_expected, "units"))
    else:
        for name, arm in VARIANTS.items():
            finite(arm, ("claim5",), per_variant[name])
        units = {
            key: {name: per_variant[name][key]["excess_agreement"] for name in VARIANTS}
            for key in complete
        }
        rows.append({"test": test, "runs": f"{len(units)}/{units_expected} units"} | claim7(units))

    embedding_expected = len(EMBEDDING_GAMES) * len(rm.SEEDS)
    path = ("claim3", "log_key_over_null")
    ratios = gather("idqn", EMBEDDING_GAMES, path)
    test = "3: keys lie among the state embeddings (log key / Gaussian null < log 1.5)"
    if failed := _failed_run_names(results, ["idqn"], EMBEDDING_GAMES):
        rows.append(_not_testable(test, failed))
    elif len(ratios) < embedding_expected:
        rows.append(_not_yet(test, len(ratios), embedding_expected))
    else:
        judged = claim3(finite("idqn", path, ratios))
        rows.append({"test": test, "runs": f"{len(ratios)}/{embedding_expected}"} | judged)

    idqn = gather("idqn", EMBEDDING_GAMES, ("claim4", "excess_purity_idqn"))
    ddqn = gather("idqn", EMBEDDING_GAMES, ("claim4", "excess_purity_ddqn"))
    test = "4: i-DQN's states cluster by top key, unlike DDQN's"
    have = len(set(idqn) & set(ddqn))
    if failed := _failed_run_names(results, ["idqn", "ddqn"], EMBEDDING_GAMES):
        rows.append(_not_testable(test, failed))
    elif have < embedding_expected:
        rows.append(_not_yet(test, have, embedding_expected, "i-DQN and DDQN pairs"))
    else:
        judged = claim4(
            finite("idqn", ("claim4", "excess_purity_idqn"), idqn),
            finite("idqn", ("claim4", "excess_purity_ddqn"), ddqn),
        )
        rows += [row | {"runs": f"{have}/{embedding_expected} pairs"} for row in judged]

    diversity = {
        arm: gather(arm, (rm.DIVERSITY_GAME,), ("claim9",)) for arm in ("idqn", "idqn-no-diversity")
    }
    test = "9: attention spreads across states over few keys per state"
    have = sum(len(found) for found in diversity.values())
    if failed := _failed_run_names(results, list(diversity), (rm.DIVERSITY_GAME,)):
        rows.append(_not_testable(test, failed))
    elif have < 2 * len(rm.SEEDS):
        rows.append(_not_yet(test, have, 2 * len(rm.SEEDS)))
    else:
        digests = {
            results[(arm, rm.DIVERSITY_GAME, seed)]["inputs"]["fixed_states_sha256"]
            for arm in diversity
            for seed in rm.SEEDS
        }
        if len(digests) != 1:
            raise UsageError("claim 9's runs were measured on different fixed states")
        on, off = (finite(arm, ("claim9",), diversity[arm]) for arm in diversity)
        rows += [
            row | {"runs": f"{have}/{2 * len(rm.SEEDS)}"}
            for row in claim9(
                [on[k]["averaged_entropy"] for k in sorted(on)],
                [off[k]["averaged_entropy"] for k in sorted(off)],
                [on[k]["effective_keys"] for k in sorted(on)],
            )
        ]
    rows = [row | {"carries_claim": carries_claim(row["test"])} for row in rows]
    return rows, table2


def _variant_means(runs: Units) -> dict[str, float]:
    """Claim 5's numbers for one variant, each the mean over its runs; no verdict but the test's."""
    names = {
        "agreement": "agreement",
        "chance": "chance (action marginals)",
        "excess_agreement": "excess agreement",
        "random": "1/|A|",
        "permutation_null_mean": "permutation null",
    }
    if not runs:
        return {label: float("nan") for label in names.values()}
    return {
        label: float(np.mean([run[key] for run in runs.values()])) for key, label in names.items()
    }


def _map_values(
    results: dict[tuple[str, str, int], dict | None],
    attention: dict[tuple[str, int], dict | None],
    arm: str,
    game: str,
    path: tuple[str, ...],
) -> dict[int, dict[str, Any]]:
    """Seed -> one map's measured values (shares, examples) on ``game``, for the seeds it has."""
    found = {}
    for seed, result in _map_results(results, attention, arm, game).items():
        value = _measure(result, path)
        if value is not None:
            found[seed] = value
    return found


def _map_results(
    results: dict[tuple[str, str, int], dict | None],
    attention: dict[tuple[str, int], dict | None],
    arm: str,
    game: str,
) -> dict[int, dict | None]:
    """Seed -> the result a map's row reads on ``game``, for every seed it is reported on."""
    found = {}
    for seed in expected_seeds(arm, game, results):
        if arm == "attention":
            found[seed] = attention.get((game, seed))
        elif arm == ATTENTION_ARMS_ROW:
            found[seed] = next(
                (results[(a, game, seed)] for a in rm.ATTENTION_ARMS if (a, game, seed) in results),
                None,
            )
        else:
            found[seed] = results.get((arm, game, seed))
    return found


def expected_seeds(
    arm: str, game: str, results: dict[tuple[str, str, int], dict | None]
) -> tuple[int, ...]:
    """The seeds a map's row is reported on: 0-2, the pilot attention agent's seed 0
    (amendment 4), and every seed the study gives amendment 5's attention arms on ``game``."""
    if arm == ATTENTION_ARMS_ROW:
        return tuple(sorted(s for a, g, s in results if a in rm.ATTENTION_ARMS and g == game))
    return ATTENTION_SEEDS if arm == "attention" else rm.SEEDS


def grounding_table(
    results: dict[tuple[str, str, int], dict | None],
    attention: dict[tuple[str, int], dict | None],
) -> pd.DataFrame:
    """A1.4's table: per map and game, the seeds measured, the mean share with its 95%
    t-interval over seeds, the mean occupancy, and share / occupancy. A row reads "not yet" with
    no number until every seed it is reported on is measured (:func:`expected_seeds`): nothing is
    shown on part of the runs. Once one of them has failed, it reads "not testable" for good."""
    rows = []
    for label, arm, path in MAPS:
        for game in EMBEDDING_GAMES:
            found = _map_values(results, attention, arm, game, path)
            expected = len(expected_seeds(arm, game, results))
            if expected == 0:  # a study without amendment 5's arms on this game
                continue
            row = {"map": label, "game": game, "seeds": len(found)}
            failed = [
                f"s{seed}"
                for seed, result in _map_results(results, attention, arm, game).items()
                if is_failed(result)
            ]
            if failed or len(found) < expected:
                status = (
                    f"not testable ({', '.join(failed)} failed: {NON_FINITE})"
                    if failed
                    else f"not yet ({len(found)} of {expected} runs)"
                )
                rows.append(
                    row
                    | {"status": status}
                    | dict.fromkeys(
                        ("share", "share_low", "share_high", "occupancy", "share_over_occupancy"),
                        float("nan"),
                    )
                )
                continue
            shares = [value["share_on_objects"] for value in found.values()]
            mean, low, high = t_interval(shares)
            occupancy = float(np.mean([value["occupancy"] for value in found.values()]))
            rows.append(
                row
                | {"status": "measured", "share": mean, "share_low": low, "share_high": high}
                | {"occupancy": occupancy}
                | {"share_over_occupancy": mean / occupancy if occupancy > 0 else float("nan")}
            )
    return pd.DataFrame(rows)


def map_examples(
    results: dict[tuple[str, str, int], dict | None],
    attention: dict[tuple[str, int], dict | None],
    table: pd.DataFrame,
) -> dict[tuple[str, str], dict[str, Any] | None]:
    """(map label, game) -> the example states and maps of the row's first seed, or None while
    the row reads "not yet" in ``table`` (the figure shows no more than the table)."""
    measured = {(row.map, row.game) for row in table.itertuples() if row.status == "measured"}
    examples: dict[tuple[str, str], dict[str, Any] | None] = {}
    for label, arm, path in MAPS:
        for game in EMBEDDING_GAMES:
            found = _map_values(results, attention, arm, game, path)
            first = found[min(found)] if found and (label, game) in measured else {}
            examples[(label, game)] = first.get("examples")
    return examples


def runs_table(results: dict[tuple[str, str, int], dict | None]) -> pd.DataFrame:
    """One row per run with a measure: its scalar measures, flattened."""
    rows = []
    for (arm, game, seed), result in sorted(results.items()):
        row: dict[str, Any] = {
            "arm": arm,
            "game": game,
            "seed": seed,
            "measured": result is not None and not is_failed(result),
            "failed": is_failed(result),
        }
        for name, values in (result or {}).get("measures", {}).items():
            for key, value in _flat(values):
                row[f"{name}.{key}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def _flat(values: dict[str, Any], prefix: str = ""):
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{key}", value


# -- figures -----------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def verdicts_figure(verdicts: pd.DataFrame, path: Path, withheld: str = "") -> Path:
    """Each test with an interval, in a strip of its own (the tests' statistics have different
    scales): its estimate and nominal 95% interval against its threshold (red), its verdict on
    the right; in bold, the rows that carry a claim. With none, it says why: ``withheld``
    (amendment 15), else that no test has all its runs."""
    from agents.confirmatory_report import is_true

    plt = _plt()
    shown = verdicts.dropna(subset=["lower", "upper"]) if "lower" in verdicts else verdicts.iloc[:0]
    rows = max(len(shown), 1)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 0.62 * rows + 1.1), squeeze=False)
    for ax, row in zip(axes[:, 0], shown.itertuples(), strict=False):
        ax.errorbar(
            row.estimate,
            0,
            # An estimate outside its percentile interval would give a negative bar.
            xerr=[[max(row.estimate - row.lower, 0.0)], [max(row.upper - row.estimate, 0.0)]],
            fmt="o",
            color="black",
            capsize=3,
        )
        if math.isfinite(row.threshold):
            ax.axvline(row.threshold, color="red", linewidth=1.5)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7)
        bold = "bold" if is_true(getattr(row, "carries_claim", False)) else "normal"
        ax.set_ylabel(
            textwrap.fill(str(row.test), 44),
            rotation=0,
            ha="right",
            va="center",
            fontsize=7,
            fontweight=bold,
        )
        ax.annotate(row.verdict, (1.01, 0.5), xycoords="axes fraction", fontsize=7, va="center")
    if shown.empty:
        axes[0, 0].text(
            0.5,
            0.5,
            withheld or "not yet: no test has all its runs",
            ha="center",
            transform=axes[0, 0].transAxes,
        )
        axes[0, 0].set_yticks([])
    fig.suptitle(
        "Amendment 1 tests: estimate and nominal 95% interval against the threshold (red), "
        "each on its own scale;\nin bold, the rows that carry a claim (claims 4 and 9 combine "
        "their parts' verdicts: see the table)",
        fontsize=10,
    )
    fig.tight_layout()
    return _save(fig, path)


def grounding_figure(table: pd.DataFrame, path: Path) -> Path:
    """Per game: each map's mean share on the objects (95% t-interval over seeds), and the
    objects' occupancy (what uniform mass gives) as a dashed line."""
    plt = _plt()
    games = list(dict.fromkeys(table["game"]))
    fig, axes = plt.subplots(
        1, len(games), figsize=(3.3 * len(games), 3.4), sharey=True, squeeze=False
    )
    for ax, game in zip(axes[0], games, strict=True):
        mine = table[table["game"] == game].reset_index(drop=True)
        for x, row in mine.iterrows():
            if not math.isfinite(row["share"]):  # "not yet" or "not testable", as the table
                status = row["status"].split(" (")[0]
                ax.text(x, 0.01, status, rotation=90, ha="center", va="bottom", fontsize=7)
                continue
            err = (
                [[row["share"] - row["share_low"]], [row["share_high"] - row["share"]]]
                if math.isfinite(row["share_low"])
                else None
            )
            ax.bar(x, row["share"], yerr=err, capsize=3, color=f"C{x}", label=row["map"])
        occupancy = mine["occupancy"].dropna()
        if len(occupancy):
            ax.axhline(occupancy.mean(), color="gray", linestyle="--", linewidth=1)
        ax.set_xlim(-0.6, len(mine) - 0.4)  # every map keeps its slot, measured or not
        ax.set_xticks([])
        ax.set_title(game.removeprefix("MinAtar-"), fontsize=9)
    axes[0][0].set_ylabel("share of the map's mass on the objects")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        more = ax.get_legend_handles_labels()
        for handle, label in zip(*more, strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7)
    fig.suptitle("Where agents look: mass on the relevant objects (dashed: occupancy)", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _save(fig, path)


def grounding_maps_figure(
    examples: dict[tuple[str, str], dict[str, Any] | None],
    path: Path,
    statuses: dict[tuple[str, str], str] | None = None,
) -> Path:
    """Beside :func:`grounding_figure`: per game (rows) and map (column groups), a few of the
    states the share is measured on, drawn as MinAtar draws them, with the map over them (each
    cell's opacity its share of the map's mass) and the relevant objects' cells outlined; under
    each, that state's share on the objects. A map without examples shows its row's status in
    the table (``statuses``, (map label, game) -> status): "not yet" or "not testable"."""

    from matplotlib.patches import Rectangle

    from agents.interpret.grounding import RELEVANT_CHANNELS
    from agents.interpret.render import StateRenderer

    plt = _plt()
    count = max((len(found["maps"]) for found in examples.values() if found), default=1)
    games = list(dict.fromkeys(game for _, game in examples))
    labels = list(dict.fromkeys(label for label, _ in examples))
    fig, axes = plt.subplots(
        len(games),
        len(labels) * count,
        figsize=(1.25 * len(labels) * count + 1.2, 1.45 * len(games) + 1.0),
        squeeze=False,
    )
    for r, game in enumerate(games):
        for m, label in enumerate(labels):
            found = examples.get((label, game))
            for k in range(count):
                ax = axes[r, m * count + k]
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0 and k == (count - 1) // 2:
                    ax.set_title(label.replace(", ", ",\n", 1), fontsize=7)
                if not found or k >= len(found["maps"]):
                    ax.text(
                        0.5,
                        0.5,
                        (statuses or {}).get((label, game), "not yet").split(" (")[0],
                        ha="center",
                        va="center",
                        fontsize=7,
                        transform=ax.transAxes,
                    )
                    continue
                names = tuple(found["channel_names"])
                renderer = StateRenderer(1, names)
                frame = np.asarray(found["frames"][k], dtype=np.float32) * 255
                heat = np.asarray(found["maps"][k], dtype=float)
                mask = np.asarray(frame > 0)[
                    [names.index(name) for name in RELEVANT_CHANNELS[game]]
                ].any(axis=0)
                renderer.show(ax, renderer.newest(frame))
                renderer.overlay(ax, heat)
                for i, j in zip(*np.nonzero(mask), strict=True):
                    ax.add_patch(
                        Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="lime", lw=0.8)
                    )
                ax.set_xlabel(
                    f"{heat[mask].sum():.2f} on objects (occ. {mask.mean():.2f})",
                    fontsize=6,
                    labelpad=1,
                )
        channels = textwrap.fill(", ".join(RELEVANT_CHANNELS[game]), 22)
        axes[r, 0].set_ylabel(f"{game.removeprefix('MinAtar-')}\n{channels}", fontsize=7)
    fig.suptitle(
        "Where agents look, seed 0: each map (red, opacity = share of its mass) over states it is "
        "measured on; the relevant objects' cells outlined (green)",
        fontsize=9,
    )
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    from agents.files import atomic_save_figure

    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_save_figure(fig, path)


# -- the report --------------------------------------------------------------------------------


def _results(
    study, cache: Path, settings: rm.Settings, progress: bool
) -> dict[tuple[str, str, int], dict | None]:
    """Every measured run's measures (None where a run is not there yet), computed into
    ``cache`` where they are not kept there already."""
    from tqdm import tqdm

    cells = [
        (arm, game, seed)
        for arm, game, seed in study.cells()
        if (seed in rm.SEEDS or arm in rm.ATTENTION_ARMS) and rm.measures_of(arm, game)
    ]
    return {
        (arm, game, seed): run_result(study.runs_dir, arm, game, seed, cache, settings)
        for arm, game, seed in tqdm(cells, desc="interpretability measures", disable=not progress)
    }


def measure_runs(
    study, cache: Path, settings: rm.Settings = rm.PREREGISTERED, progress: bool = True
) -> list[str]:
    """The measures of every finished run the report will read, computed into ``cache`` (the
    report's ``OUT/interpret/runs``) and nothing else: no table, figure or verdict. The report's
    slow step, taken while other runs train; the report later reuses each result whose weights
    and sizes are unchanged. Returns the runs whose measures are there (measured, kept or
    collected; not a run collected as failed), as ``arm/game/sSEED``."""
    results = _results(study, cache, settings, progress)
    return [
        f"{arm}/{game}/s{seed}"
        for (arm, game, seed), found in results.items()
        if found and not is_failed(found)
    ]


@dataclass(frozen=True)
class Tables:
    """The interpretability report computed, not yet written (:func:`compute`, :func:`write`)."""

    verdicts: pd.DataFrame
    table2: pd.DataFrame
    runs: pd.DataFrame
    grounding: pd.DataFrame
    examples: dict
    held: str


def compute(
    study,
    pilot_runs: Path | None,
    out: Path,
    settings: rm.Settings = rm.PREREGISTERED,
    progress: bool = True,
    withheld: dict[str, str] | None = None,
) -> Tables:
    """Every table of the interpretability report, from the runs of ``study``
    (:class:`agents.confirmatory_report.Study`) on disk, complete or not; writes no report file
    (only the measures' cache, ``out/runs``), so that a run the rules do not cover stops the
    command before either half of the report is written. A run's measures not yet in the cache
    take seconds each (docs/benchmarks.md): ``progress`` shows a bar over the runs. ``withheld``
    (reading group -> text, :func:`agents.confirmatory_report.withheld_texts`; taken from the
    runs on disk when not given) holds back what amendment 15 does not read yet: every test,
    table and map of the interpretability group, and the attention arms' maps while the
    attention agent's group is not read; their rows say why."""

    from agents import confirmatory_report as report

    if withheld is None:
        withheld = report.withheld_texts(report.reading_table(study))
    cache = out / "runs"
    results = _results(study, cache, settings, progress)
    attention = {
        (game, seed): attention_result(pilot_runs, game, seed, cache, settings)
        if pilot_runs is not None
        else None
        for game in EMBEDDING_GAMES
        for seed in ATTENTION_SEEDS
    }
    held = withheld.get(report.INTERPRETABILITY, "")
    held_attention = withheld.get(report.ATTENTION_GROUP, "")
    # The runs whose group is read; the others enter as not there, and their rows say why.
    read = {key for key in results if report.measures_group(key[0]) not in withheld}
    shown = {key: value if key in read else None for key, value in results.items()}
    if held:  # the pilot's attention agent is amendment 1's row, not amendment 5's
        attention = dict.fromkeys(attention)
    rows, table2 = verdict_rows(shown)
    if held:  # one row per test, naming it, with no number
        rows = [
            {
                "test": row["test"],
                "runs": "",
                "verdict": held,
                "carries_claim": row["carries_claim"],
            }
            for row in rows
        ]
        table2 = [{"variant": row["variant"], "arm": row["arm"], "runs": held} for row in table2]
    verdicts = pd.DataFrame(rows)
    for column in ("estimate", "lower", "upper", "threshold", DETECTABLE):
        if column not in verdicts:
            verdicts[column] = float("nan")
    grounding = grounding_table(shown, attention)
    if not grounding.empty:
        text_of = {
            label: held_attention if arm == ATTENTION_ARMS_ROW else held for label, arm, _ in MAPS
        }
        texts = grounding["map"].map(text_of)
        grounding.loc[texts != "", "status"] = texts[texts != ""]
    return Tables(
        verdicts=verdicts,
        table2=pd.DataFrame(table2),
        runs=runs_table({key: results[key] for key in read}),
        grounding=grounding,
        examples=map_examples(shown, attention, grounding),
        held=held,
    )


def write(
    tables: Tables,
    out: Path,
    write_table: Callable[[pd.DataFrame, Path], list[Path]] | None = None,
) -> list[Path]:
    """The computed report's tables and figures into ``out`` (``OUT/interpret``)."""
    from agents import confirmatory_report as report

    write_table = write_table or report._write_table
    out.mkdir(parents=True, exist_ok=True)
    paths = write_table(tables.verdicts, out / "verdicts")
    paths += write_table(tables.table2, out / "table2")
    paths += write_table(tables.runs, out / "runs")
    paths += write_table(tables.grounding, out / "grounding")
    paths.append(verdicts_figure(tables.verdicts, out / "verdicts.png", tables.held))
    paths.append(grounding_figure(tables.grounding, out / "grounding.png"))
    statuses = {(row.map, row.game): row.status for row in tables.grounding.itertuples()}
    paths.append(grounding_maps_figure(tables.examples, out / "grounding-maps.png", statuses))
    return paths


def build(
    study,
    pilot_runs: Path | None,
    out: Path,
    settings: rm.Settings = rm.PREREGISTERED,
    write_table: Callable[[pd.DataFrame, Path], list[Path]] | None = None,
    progress: bool = True,
    withheld: dict[str, str] | None = None,
) -> list[Path]:
    """:func:`compute` the interpretability report, then :func:`write` it into ``out``."""
    tables = compute(study, pilot_runs, out, settings, progress, withheld)
    return write(tables, out, write_table)
