"""The confirmatory study's statistics and verdict rule (agents.confirmatory), on constructed data."""

import numpy as np
import pytest
from scipy import stats

from agents.confirmatory import detectable_margin, normalise, verdict, welch_interval

MARGIN = 0.2


def test_a_clear_win_holds_for_every_kind_that_asks_for_it():
    assert verdict(0.05, 0.3, MARGIN, "non-inferiority") == "holds"
    assert verdict(0.05, 0.3, 0.0, "superiority") == "holds"


def test_a_clear_loss_does_not_hold():
    assert verdict(-0.9, -0.4, MARGIN, "non-inferiority") == "does not hold"
    assert verdict(-0.9, -0.4, 0.0, "superiority") == "does not hold"
    assert verdict(-0.9, -0.4, MARGIN, "equivalence") == "does not hold"


def test_a_tie_inside_the_margin_is_non_inferior_and_equivalent_but_not_superior():
    assert verdict(-0.1, 0.1, MARGIN, "non-inferiority") == "holds"
    assert verdict(-0.1, 0.1, MARGIN, "equivalence") == "holds"
    assert verdict(-0.1, 0.1, 0.0, "superiority") == "inconclusive"


def test_a_wide_interval_is_inconclusive():
    for kind in ("non-inferiority", "superiority", "equivalence"):
        assert verdict(-1.5, 1.5, MARGIN, kind) == "inconclusive"
    assert verdict(float("nan"), float("nan"), MARGIN) == "inconclusive"


def test_the_margin_itself_is_not_cleared():
    """An interval that ends exactly on the margin has not cleared it."""
    assert verdict(-MARGIN, 0.3, MARGIN) == "inconclusive"
    assert verdict(-0.5, -MARGIN, MARGIN) == "inconclusive"


def test_equivalence_fails_when_the_interval_lies_outside_the_open_margin():
    """Wholly outside (-m, m), an open interval: a bound exactly at +-m is outside it."""
    assert verdict(MARGIN, 0.5, MARGIN, "equivalence") == "does not hold"
    assert verdict(-0.5, -MARGIN, MARGIN, "equivalence") == "does not hold"
    assert verdict(MARGIN - 0.01, 0.5, MARGIN, "equivalence") == "inconclusive"


def test_s1_change_rule_puts_a_change_first():
    from agents.confirmatory import change_verdict

    assert change_verdict(0.3, 0.9, MARGIN) == "holds"  # a change upwards
    assert change_verdict(-0.9, -0.3, MARGIN) == "holds"  # its mirror
    assert change_verdict(-0.1, 0.15, MARGIN) == "does not hold"  # no change beyond the margin
    assert change_verdict(0.05, 0.15, MARGIN) == "holds"  # a change smaller than the margin
    assert change_verdict(-0.1, 0.5, MARGIN) == "inconclusive"  # wide
    assert change_verdict(float("nan"), float("nan"), MARGIN) == "inconclusive"


def test_improvement_probability_is_rliables_and_vectorised_over_draws():
    from rliable import metrics

    from agents.confirmatory import improvement_probability

    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 4, (5, 4)).astype(float), rng.integers(0, 4, (3, 4)).astype(float)
    b[:, 1] = a[:3, 1]  # ties, which count half
    assert improvement_probability(a, b) == pytest.approx(metrics.probability_of_improvement(a, b))
    assert improvement_probability(a + 10, b) == 1.0 and improvement_probability(b, b) == 0.5
    stacked = improvement_probability(np.stack([a, a + 10]), np.stack([b, b]))
    assert stacked == pytest.approx([metrics.probability_of_improvement(a, b), 1.0])


def test_probability_of_improvement_interval_brackets_its_estimate():
    from agents.confirmatory import probability_of_improvement

    rng = np.random.default_rng(4)
    a, b = rng.normal(0.3, 0.2, (5, 4)), rng.normal(0.0, 0.2, (3, 4))
    estimate, lower, upper = probability_of_improvement(a, b, reps=2000)
    assert 0.5 < estimate < 1.0 and lower <= estimate <= upper <= 1.0
    assert probability_of_improvement(a, b, reps=2000) == (estimate, lower, upper)  # seeded


def test_bootstrap_detectable_margin_is_the_normal_approximation_of_the_power_rule():
    from agents.confirmatory import bootstrap_detectable_margin

    draws = np.random.default_rng(5).normal(0.0, 0.1, 100_000)
    assert bootstrap_detectable_margin(draws) == pytest.approx(0.28, abs=0.003)  # (1.96+0.84)sd
    # With many seeds the per-game noncentral-t margin tends to the same number.
    sd, n = 0.3, 400
    standard_error = sd * np.sqrt(2 / n)
    exact = detectable_margin(sd, sd, n, n)
    assert bootstrap_detectable_margin(
        np.random.default_rng(6).normal(0, standard_error, 100_000)
    ) == pytest.approx(exact, rel=0.02)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="margin"):
        verdict(0.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="lower bound"):
        verdict(1.0, 0.0, MARGIN)
    with pytest.raises(ValueError, match="unknown kind"):
        verdict(0.0, 1.0, MARGIN, "better")


def test_welch_interval_matches_scipy():
    a, b = [3.1, 4.0, 2.2, 5.3, 4.4], [1.0, 1.9, 0.4, 2.5]
    diff, lower, upper = welch_interval(a, b)
    reference = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(np.mean(a) - np.mean(b))
    assert (lower, upper) == pytest.approx((reference.low, reference.high))
    assert np.isnan(welch_interval([1.0], b)[1])
    assert welch_interval([2.0, 2.0], [1.0, 1.0]) == (1.0, 1.0, 1.0)


def test_normalise_puts_random_at_0_and_the_reference_at_1():
    assert normalise(np.array([0.5, 10.5, 5.5]), 0.5, 10.5) == pytest.approx([0.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="above random"):
        normalise(1.0, 2.0, 2.0)


def test_detectable_margin_has_the_stated_power_by_simulation():
    """Draw 5 + 5 seeds with no true difference many times: the one-sided 97.5% Welch bound
    clears minus the detectable margin in about 80% of the studies."""
    sd_a, sd_b, n = 0.1, 0.15, 5
    margin = detectable_margin(sd_a, sd_b, n, n)
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, sd_a, (20_000, n))
    b = rng.normal(0.0, sd_b, (20_000, n))
    va, vb = a.var(axis=1, ddof=1) / n, b.var(axis=1, ddof=1) / n
    df = (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / (n - 1))
    lower = a.mean(axis=1) - b.mean(axis=1) - stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert np.mean(lower > -margin) == pytest.approx(0.8, abs=0.03)
    assert detectable_margin(sd_a, sd_b, 10, 10) < margin  # more seeds, a finer test


def test_hierarchical_bootstrap_centres_on_the_grand_mean_and_widens_with_seed_spread():
    from agents.confirmatory import hierarchical_bootstrap

    rng = np.random.default_rng(1)
    tight = {(g, s): rng.normal(0.5, 0.05, 10) for g in ("A", "B") for s in range(3)}
    spread = {
        (g, s): rng.normal(0.5 + 0.3 * (s - 1), 0.05, 10) for g in ("A", "B") for s in range(3)
    }
    means = {
        name: hierarchical_bootstrap(runs, reps=2000)
        for name, runs in (("tight", tight), ("spread", spread))
    }
    grand = np.mean([v.mean() for v in tight.values()])
    assert means["tight"].mean() == pytest.approx(grand, abs=0.01)
    width = {name: np.subtract(*np.quantile(m, [0.975, 0.025])) for name, m in means.items()}
    assert width["spread"] > 3 * width["tight"]


def test_iqm_is_rliables_aggregate_iqm():
    from rliable import metrics

    from agents.confirmatory import iqm

    scores = np.random.default_rng(7).normal(size=(5, 4))
    assert iqm(scores.ravel()) == pytest.approx(metrics.aggregate_iqm(scores))


def test_stratified_bootstrap_resamples_runs_within_each_game_and_arm():
    """Each draw of a column holds only that game's values of that arm; arms of different
    seed counts resample independently; the draws are seeded."""
    from agents.confirmatory import stratified_bootstrap

    a = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])  # 3 runs x 2 games
    b = np.array([[100.0, 1000.0], [200.0, 2000.0]])  # 2 runs x 2 games
    seen = {}

    def keep(x, y):
        seen["a"], seen["b"] = x, y
        return x.mean(axis=(1, 2)) - y.mean(axis=(1, 2))

    draws = stratified_bootstrap(a, b, keep, reps=500, seed=3)
    assert seen["a"].shape == (500, 3, 2) and seen["b"].shape == (500, 2, 2)
    for game in range(2):
        assert set(np.unique(seen["a"][:, :, game])) <= set(a[:, game])
        assert set(np.unique(seen["b"][:, :, game])) <= set(b[:, game])
    # Games are resampled separately: some draw pairs run 0's first game with another run's second.
    assert (seen["a"][:, :, 1] != 10 * seen["a"][:, :, 0]).any()
    assert np.array_equal(draws, stratified_bootstrap(a, b, keep, reps=500, seed=3))


def test_the_one_sample_detectable_margin_has_the_stated_power_by_simulation():
    """``n_b = 0``: 3 seeds of one arm, true mean at the threshold; the one-sided 97.5%
    t-bound clears the detectable margin's distance in about 80% of the studies."""
    sd, n = 0.4, 3
    margin = detectable_margin(sd, 0.0, n, 0)
    values = np.random.default_rng(0).normal(margin, sd, (20_000, n))
    se = values.std(axis=1, ddof=1) / np.sqrt(n)
    lower = values.mean(axis=1) - stats.t.ppf(0.975, n - 1) * se
    assert np.mean(lower > 0) == pytest.approx(0.8, abs=0.03)
    assert detectable_margin(0.0, 0.0, n, n) == 0.0  # no spread: any difference is seen
    assert np.isnan(detectable_margin(sd, sd, 1, n))  # one seed: no spread to size it by
    assert np.isnan(detectable_margin(np.nan, sd, n, n))
