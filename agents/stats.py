"""The one definition of the paper's training statistic: the 100-episode moving average.

The paper's Table 1 reports, per seed, the best point of the training return averaged over 100
episodes. Only full windows count: a window of 1 to 99 episodes is not a 100-episode average, and
the best of such windows is dominated by a single lucky early episode. So

* :func:`moving_average` is NaN until :data:`WINDOW` episodes have been seen;
* :func:`best_and_final` gives ``(None, None)`` for a run with fewer than :data:`WINDOW` episodes,
  and :func:`shortfall` says why in words.

Light on purpose (numpy and pandas only): :mod:`agents.runner` uses it for ``summary.json`` and
:mod:`agents.reports` for the tables, the figure and the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

WINDOW = 100


def moving_average(returns: Sequence[float] | pd.Series | np.ndarray) -> pd.Series:
    """The :data:`WINDOW`-episode moving average; NaN where fewer episodes have been seen.

    A Series keeps its index, so the result lines up with the log it came from.
    """
    series = pd.Series(returns, dtype=float)
    return series.rolling(WINDOW, min_periods=WINDOW).mean()


def best_and_final(
    returns: Sequence[float] | pd.Series | np.ndarray,
) -> tuple[float | None, float | None]:
    """``(best, final)``: the best full-window average and the mean of the last :data:`WINDOW`.

    Both are None when there are fewer than :data:`WINDOW` episodes (or the log holds a NaN that
    leaves no full window).
    """
    series = pd.Series(returns, dtype=float)
    if len(series) < WINDOW:
        return None, None
    best = moving_average(series).max()
    final = series.iloc[-WINDOW:].mean()
    return (
        float(best) if np.isfinite(best) else None,
        float(final) if np.isfinite(final) else None,
    )


def shortfall(episodes: int) -> str | None:
    """Why a run has no statistic (``"too few episodes (37 < 100)"``), or None when it has one."""
    if episodes >= WINDOW:
        return None
    return f"too few episodes ({episodes} < {WINDOW})"


#: The confirmatory study's training statistic (docs/preregistration.md): the episodes that end
#: in the last tenth of the budget's steps. A window of steps, not of episodes, means the same
#: stretch of training in every game (100 Freeway episodes span 250K steps; 100 Breakout
#: episodes, a few thousand).
STEP_WINDOW = 0.1


def step_window_mean(
    frames: Sequence[int] | pd.Series | np.ndarray,
    returns: Sequence[float] | pd.Series | np.ndarray,
    budget: int,
    fraction: float = STEP_WINDOW,
) -> float | None:
    """Mean return of the episodes that end after ``(1 - fraction) * budget`` frames and by
    ``budget``; None when none does (an episode longer than the window)."""
    returns = np.asarray(returns, dtype=float)
    inside = in_step_window(frames, budget, fraction)
    return float(returns[inside].mean()) if inside.any() else None


def in_step_window(
    frames: Sequence[int] | pd.Series | np.ndarray, budget: int, fraction: float = STEP_WINDOW
) -> np.ndarray:
    """Which episodes, by the frame they end at, end in the window of :func:`step_window_mean`:
    after ``(1 - fraction) * budget`` frames and by ``budget``."""
    frames = np.asarray(frames, dtype=np.int64)
    return (frames > (1.0 - fraction) * budget) & (frames <= budget)


def final_evaluation(
    frames: Sequence[int] | pd.Series | np.ndarray,
    returns: Sequence[float] | pd.Series | np.ndarray,
) -> tuple[int, float] | tuple[None, None]:
    """``(frame, mean return)`` of the last evaluation phase of an evals.csv, or (None, None)."""
    frames = np.asarray(frames, dtype=np.int64)
    if frames.size == 0:
        return None, None
    last = frames.max()
    return int(last), float(np.asarray(returns, dtype=float)[frames == last].mean())
