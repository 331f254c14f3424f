"""Presets and overrides: every invalid value is refused with one line before anything runs."""

import pytest

from agents.config import build_config, parse_overrides
from agents.ddqn import DDQNConfig
from agents.errors import UsageError
from agents.idqn import IDQNConfig


def _ddqn(preset="paper", **overrides):
    return build_config(DDQNConfig, "ddqn", preset, overrides)


@pytest.mark.parametrize(
    "override,message",
    [
        ("lr=inf", "lr: Input should be a finite number"),
        ("lr=.inf", "lr: Input should be a finite number"),
        ("lr=nan", "lr: Input should be a finite number"),
        ("lr=.nan", "lr: Input should be a finite number"),
        ("batch_size=true", "batch_size expects a number, got the bool True"),
        ("gamma=false", "gamma expects a number, got the bool False"),
        ("replay_capacity=1", "replay_capacity (1) must exceed frame_stack + 1"),
        ("frame_stack=100000", "frame_stack: Input should be less than or equal to 16"),
    ],
)
def test_invalid_values_are_refused(override, message):
    with pytest.raises(UsageError, match="invalid config") as info:
        _ddqn(**parse_overrides([override]))
    assert message in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_a_bool_key_still_takes_a_bool():
    assert _ddqn(**parse_overrides(["color=true"])).color is True


def test_non_utf8_preset(tmp_path):
    preset = tmp_path / "latin1.yaml"
    preset.write_bytes("extends: paper\n# r\xe9glage\nlr: 0.001\n".encode("latin-1"))
    with pytest.raises(UsageError, match=r"latin1.yaml is not UTF-8 text"):
        _ddqn(str(preset))


def test_duplicate_key_preset(tmp_path):
    preset = tmp_path / "twice.yaml"
    preset.write_text("extends: paper\nlr: 0.001\nlr: 0.002\n")
    with pytest.raises(UsageError, match="duplicate key 'lr'") as info:
        _ddqn(str(preset))
    assert "twice.yaml" in str(info.value) and len(str(info.value).splitlines()) == 1


def test_empty_preset_names_the_file(tmp_path):
    preset = tmp_path / "empty.yaml"
    preset.write_text("# nothing yet\n")
    with pytest.raises(UsageError, match=r"empty.yaml is empty"):
        _ddqn(str(preset))


def test_relative_extends_resolves_from_the_presets_folder(tmp_path, monkeypatch):
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "base.yaml").write_text("extends: paper\nlr: 0.001\n")
    (folder / "child.yaml").write_text("extends: base.yaml\nbatch_size: 64\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = _ddqn(str(folder / "child.yaml"))
    assert (config.lr, config.batch_size) == (0.001, 64)


def test_value_range_must_be_ordered():
    with pytest.raises(UsageError, match="value_min"):
        build_config(IDQNConfig, "idqn", "paper", {"value_min": 25.0, "value_max": 25.0})
