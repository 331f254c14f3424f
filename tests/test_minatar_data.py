"""data/minatar/: the transcribed references agree with one another where they overlap."""

import pandas as pd
import pytest

from agents.confirmatory_report import AC_CURVE, AC_LAMBDA, ANCHORS

GAMES = {
    "MinAtar-Breakout",
    "MinAtar-Freeway",
    "MinAtar-SpaceInvaders",
    "MinAtar-Asterix",
    "MinAtar-Seaquest",
}


def test_the_ac_curve_covers_every_game_to_2m_steps_with_an_uncertainty():
    curve = pd.read_csv(AC_CURVE)
    assert set(curve["game"]) == GAMES
    for _, rows in curve.groupby("game"):
        assert list(rows["step"]) == list(range(50_000, 2_000_001, 50_000))
    assert (curve["uncertainty"] > 0).all() and curve["return"].notna().all()
    assert set(curve["read"]) == {"visible", "under AC(0) or DQN without replay"}


@pytest.mark.parametrize("game", sorted(GAMES))
def test_the_curve_and_the_earlier_300k_reading_agree(game):
    """Two readings of the same figure, made apart: at 300K they agree within their summed
    uncertainties (amendment 5's test reads the 300K file; the curve is drawn beside it)."""
    curve = pd.read_csv(AC_CURVE).set_index(["game", "step"]).loc[(game, 300_000)]
    point = pd.read_csv(AC_LAMBDA).set_index(["game", "agent"]).loc[(game, "AC(0.8)")]
    gap = abs(curve["return"] - point["return_300k"])
    assert gap <= curve["uncertainty"] + point["uncertainty"], (curve, point)


def test_the_dqn_reference_and_the_ac_curve_cover_the_same_games():
    assert set(pd.read_csv(ANCHORS)["game"]) == set(pd.read_csv(AC_CURVE)["game"])
