"""The one definition of the paper's statistic: full 100-episode windows only (agents.stats)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from agents.stats import WINDOW, best_and_final, moving_average, shortfall


def test_the_window_is_100_episodes():
    assert WINDOW == 100


def test_moving_average_is_nan_until_a_full_window():
    returns = pd.Series(np.arange(250, dtype=float), index=np.arange(250) + 1000)
    average = moving_average(returns)
    assert average.iloc[:99].isna().all()
    assert average.iloc[99] == pytest.approx(np.arange(100).mean())
    assert average.iloc[-1] == pytest.approx(np.arange(150, 250).mean())
    assert average.index.equals(returns.index)  # lines up with the log it came from
    assert moving_average([5.0] * 99).isna().all()


@pytest.mark.parametrize("count", [0, 1, 3, 99])
def test_fewer_than_100_episodes_have_no_statistic(count):
    assert best_and_final([300.0] * count) == (None, None)
    assert shortfall(count) == f"too few episodes ({count} < 100)"


def test_a_three_episode_run_has_no_statistic():
    # Counted as 300 (its first, one-episode "window") before: above the paper's Gravitar 279.89.
    assert best_and_final([300.0, 0.0, 150.0]) == (None, None)


def test_early_luck_does_not_count():
    # Counted as 100 (a one-episode window) before; the best full window is 100 / 100 = 1.
    best, final = best_and_final([100.0] + [0.0] * 149)
    assert best == pytest.approx(1.0) and final == 0.0


def test_best_and_final_of_a_full_run():
    returns = np.concatenate([np.full(100, 10.0), np.full(100, 30.0), np.full(100, 20.0)])
    best, final = best_and_final(returns)
    assert (best, final) == (pytest.approx(30.0), pytest.approx(20.0))
    assert type(best) is float and type(final) is float  # JSON-ready for summary.json
    assert best_and_final(list(returns)) == best_and_final(pd.Series(returns))
    assert best_and_final(np.full(100, 7.0)) == (7.0, 7.0)
    assert shortfall(100) is None and shortfall(5000) is None


def test_stats_imports_no_plotting_or_torch():
    code = (
        "import sys, agents.stats; "
        "print(sorted(m for m in ('matplotlib', 'seaborn', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_step_window_mean_takes_the_episodes_ending_in_the_last_tenth_of_the_steps():
    from agents.stats import step_window_mean

    frames = [100, 850, 901, 950, 1000, 1100]  # 1,100 lies past the budget: not counted
    returns = [50.0, 40.0, 1.0, 2.0, 3.0, 99.0]
    assert step_window_mean(frames, returns, budget=1000) == pytest.approx(2.0)
    assert step_window_mean(frames, returns, budget=1000, fraction=0.2) == pytest.approx(11.5)
    assert step_window_mean([100], [5.0], budget=1000) is None


def test_the_window_holds_its_end_and_not_its_start():
    from agents.stats import in_step_window

    inside = in_step_window([899, 900, 901, 1000, 1001], budget=1000)
    assert inside.tolist() == [False, False, True, True, False]


def test_final_evaluation_is_the_mean_of_the_last_phase():
    from agents.stats import final_evaluation

    assert final_evaluation([400, 400, 800, 800], [1.0, 3.0, 10.0, 20.0]) == (800, 15.0)
    assert final_evaluation([], []) == (None, None)
