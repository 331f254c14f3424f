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
