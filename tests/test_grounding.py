"""The ground-truth measure of where an agent looks (agents.interpret.grounding)."""

import numpy as np
import pytest

from agents.envs import make_env
from agents.interpret.grounding import (
    RELEVANT_CHANNELS,
    mass_on_objects,
    object_mask,
    occupancy,
)
from agents.suites import minatar_channel_names


def _masks() -> np.ndarray:
    masks = np.zeros((2, 10, 10), dtype=bool)
    masks[0, 9, 4:7] = True  # a paddle
    masks[1, 2, 3] = masks[1, 5, 5] = True  # two objects
    return masks


def test_mass_on_the_objects_gives_1():
    masks = _masks()
    assert mass_on_objects(masks.astype(float) * 3.0, masks) == pytest.approx([1.0, 1.0])


def test_uniform_mass_gives_the_occupancy():
    masks = _masks()
    uniform = np.ones((2, 10, 10))
    assert mass_on_objects(uniform, masks) == pytest.approx(occupancy(masks))
    assert occupancy(masks) == pytest.approx([0.03, 0.02])


def test_mass_off_the_objects_gives_0_and_undefined_cases_are_nan():
    masks = _masks()
    away = (~masks).astype(float)
    assert mass_on_objects(away, masks) == pytest.approx([0.0, 0.0])
    empty = np.zeros((1, 10, 10))
    assert np.isnan(mass_on_objects(empty, masks[:1])[0])  # no mass
    assert np.isnan(mass_on_objects(np.ones((1, 10, 10)), np.zeros((1, 10, 10), bool))[0])
    with pytest.raises(ValueError, match="non-negative"):
        mass_on_objects(-np.ones((1, 10, 10)), masks[:1])


@pytest.mark.parametrize("game", sorted(RELEVANT_CHANNELS))
def test_every_games_relevant_channels_exist_and_mark_objects(game):
    env = make_env(game, frame_stack=1)
    obs, _ = env.reset(seed=0)
    names = minatar_channel_names(env)
    mask = object_mask(obs, names, RELEVANT_CHANNELS[game])
    assert mask.shape == (10, 10) and mask.any()  # the controlled object is on screen at reset
    with pytest.raises(ValueError, match="no channel named"):
        object_mask(obs, names, ("unicorn",))


def test_a_runs_shares_are_measured_on_its_visited_states(tiny_minatar_run):
    from agents.interpret.grounding import run_shares

    result = run_shares(tiny_minatar_run, count=12)
    assert result["states"] == 12
    assert 0.0 <= result["share_on_objects"] <= 1.0
    assert 0.0 < result["occupancy"] < 0.2  # a paddle and a ball on 100 cells
