"""How often the confirmatory study's 95% intervals cover the truth, at its seed counts.

Simulates studies whose true difference (or mean) is known and counts how often each of the
study's own interval functions covers it: the aggregate tests' stratified percentile bootstrap
of an IQM difference (`agents.confirmatory.stratified_bootstrap`, `iqm_difference`), amendment
1's hierarchical bootstrap of a mean over runs (`agents.confirmatory_interpret.bootstrap_interval`)
and, as a control, the per-game tests' Welch interval (`agents.confirmatory.welch_interval`).
Normalised scores are normal within a game (per-game means differ; seed spread 0.1), and the
two arms of a comparison share one distribution, so the true difference is 0. Amendment 10
(docs/preregistration-amendments.md) states these coverages beside the intervals' nominal 95%.

    python benchmarks/bootstrap_coverage.py [--sims 400] [--reps 2000]

A statistics check, not a timing: it may run beside other work.
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from agents.confirmatory import (
    hierarchical_bootstrap,
    iqm_difference,
    stratified_bootstrap,
    welch_interval,
)

SPREAD = 0.1  # the seeds' spread in normalised units (A5.3's power table uses 0.099)


def aggregate_case(games: int, seeds_a: int, seeds_b: int, sims: int, reps: int) -> float:
    """Coverage of 0 by the IQM difference's stratified percentile interval (claims 1, 2, S2,
    Mott's aggregate), both arms drawn alike."""
    covered = 0
    for sim in range(sims):
        rng = np.random.default_rng(10_000 + sim)
        centres = rng.uniform(0.5, 1.5, size=games)
        a = centres + SPREAD * rng.standard_normal((seeds_a, games))
        b = centres + SPREAD * rng.standard_normal((seeds_b, games))
        draws = stratified_bootstrap(a, b, iqm_difference, reps=reps, seed=sim)
        lower, upper = np.quantile(draws, [0.025, 0.975])
        covered += lower <= 0.0 <= upper
    return covered / sims


def hierarchical_case(games: int, seeds: int, values: int, sims: int, reps: int) -> float:
    """Coverage of the true mean (0) by amendment 1's hierarchical percentile interval over
    ``games`` x ``seeds`` runs of ``values`` values each (claim 5: 2 x 3 runs of 10 rollouts;
    claims 3, 4: 5 x 3 runs of one value; claim 7: 2 x 3 of one)."""
    covered = 0
    for sim in range(sims):
        rng = np.random.default_rng(20_000 + sim)
        runs = {
            (f"g{g}", s): SPREAD * rng.standard_normal() + SPREAD * rng.standard_normal(values)
            for g in range(games)
            for s in range(seeds)
        }
        draws = hierarchical_bootstrap(runs, reps=reps, seed=sim)
        lower, upper = np.quantile(draws, [0.025, 0.975])
        covered += lower <= 0.0 <= upper
    return covered / sims


def welch_case(seeds_a: int, seeds_b: int, sims: int) -> float:
    """Coverage of 0 by Welch's 95% interval (the per-game tests): the control, 0.95 in theory."""
    covered = 0
    for sim in range(sims):
        rng = np.random.default_rng(30_000 + sim)
        _, lower, upper = welch_interval(
            SPREAD * rng.standard_normal(seeds_a), SPREAD * rng.standard_normal(seeds_b)
        )
        covered += lower <= 0.0 <= upper
    return covered / sims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=400, help="simulated studies per case")
    parser.add_argument(
        "--reps", type=int, default=2000, help="bootstrap repetitions (study: 10,000)"
    )
    args = parser.parse_args()
    cases = [
        (
            "claims 1, 2: IQM difference, 4 games x 5 vs 5 seeds",
            lambda: aggregate_case(4, 5, 5, args.sims, args.reps),
        ),
        (
            "Mott: IQM difference, 3 games x 5 vs 5 seeds",
            lambda: aggregate_case(3, 5, 5, args.sims, args.reps),
        ),
        (
            "S2: IQM difference, 4 games x 5 vs 3 seeds",
            lambda: aggregate_case(4, 5, 3, args.sims, args.reps),
        ),
        (
            "claim 5: mean over 2 games x 3 seeds x 10 rollouts",
            lambda: hierarchical_case(2, 3, 10, args.sims, args.reps),
        ),
        (
            "claim 7: mean over 2 games x 3 seeds",
            lambda: hierarchical_case(2, 3, 1, args.sims, args.reps),
        ),
        (
            "claims 3, 4: mean over 5 games x 3 seeds",
            lambda: hierarchical_case(5, 3, 1, args.sims, args.reps),
        ),
        ("per-game Welch, 5 vs 5 seeds (control)", lambda: welch_case(5, 5, args.sims)),
        ("per-game Welch, 3 vs 5 seeds (control)", lambda: welch_case(3, 5, args.sims)),
    ]
    print(f"{args.sims} simulated studies per case, {args.reps} bootstrap repetitions each")
    print("| interval | coverage of the truth (nominal 0.95) | its standard error |")
    print("|---|---|---|")
    for name, run in tqdm(cases, desc="cases"):
        coverage = run()
        error = np.sqrt(coverage * (1 - coverage) / args.sims)
        tqdm.write(f"| {name} | {coverage:.3f} | {error:.3f} |")


if __name__ == "__main__":
    main()
