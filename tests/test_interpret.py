import json

import numpy as np
import pytest
import torch

from agents.config import build_config
from agents.envs import EnvSpec, make_env
from agents.idqn import IDQNAgent, IDQNConfig
from agents.interpret.adversarial import (
    MSPACMAN_PELLET_RGB,
    MSPACMAN_PLAYER_RGB,
    SPACEINVADERS_FORMATION_X,
    eaten_pellets,
    edited_observations,
    extra_pellet,
    formation_asymmetry,
    mirrored_formation,
    moved_player,
    pellet_position,
    pixelwise_max,
    sprite_centre,
)
from agents.interpret.inversion import (
    interpolate_to_state,
    invert_keys,
    nearest_value_indices,
)
from agents.interpret.render import StateRenderer, channel_colours, renderer_for
from agents.interpret.saliency import perturbation_saliency, q_function
from agents.interpret.tsne import all_alike, tsne_2d

GRAY = EnvSpec("Pong", 3, (4, 84, 84), (84, 84), 4, ("NOOP", "FIRE", "RIGHT"))
COLOR = EnvSpec("MsPacman", 3, (12, 210, 160), (3, 210, 160), 4, ("NOOP", "UP", "RIGHT"))


def _idqn(spec=GRAY):
    torch.manual_seed(0)
    return IDQNAgent(build_config(IDQNConfig, "idqn", "paper", {}), spec, torch.device("cpu"))


def test_saliency_peaks_where_the_model_looks_and_is_batched():
    calls = []

    def region_model(x):  # reads only rows 40-49, cols 20-29 of the newest frame
        calls.append(len(x))
        return torch.stack([x[:, -1, 40:50, 20:30].mean(dim=(1, 2)), torch.zeros(len(x))], dim=1)

    obs = np.random.default_rng(0).integers(0, 256, (4, 84, 84)).astype(np.float32)
    maps = perturbation_saliency(region_model, obs, stride=3, batch_size=256)
    assert maps.shape == (2, 84, 84)
    row, col = np.unravel_index(int(maps[0].argmax()), (84, 84))
    assert 36 <= row <= 53 and 16 <= col <= 33, (row, col)
    assert maps[1].abs().max() == 0  # an action that ignores the input has no saliency
    assert len(calls) == 1 + int(np.ceil(28 * 28 / 256))  # the base state, then 4 batches


def test_saliency_of_a_real_agent():
    agent = _idqn()
    maps = perturbation_saliency(q_function(agent), np.full((4, 84, 84), 100, np.uint8), stride=6)
    assert maps.shape == (3, 84, 84) and torch.isfinite(maps).all()


@pytest.mark.parametrize("spec", [GRAY, COLOR], ids=["gray", "colour"])
def test_key_inversion_has_the_input_shape_and_range(spec):
    agent = _idqn(spec)
    indices = nearest_value_indices(agent.values)
    images = invert_keys(agent, [0, 2], indices)
    assert images.shape == (2, 4, *spec.obs_shape)
    assert images.min() >= 0 and images.max() <= 255
    frame = StateRenderer(4).newest(images[0, 0])
    assert frame.dtype == np.uint8 and frame.shape == ((84, 84) if spec is GRAY else (210, 160, 3))


def test_nearest_value_indices_with_unsorted_values():
    values = torch.tensor([3.5, -24.0, 24.9, -10.0, 0.0])
    assert nearest_value_indices(values) == [2, 0, 3, 1]


def test_interpolation_runs_from_key_to_state():
    agent = _idqn()
    state = agent.embed(np.full((1, 4, 84, 84), 50, np.uint8))[0]
    key = agent.keys[1, 0]
    path = interpolate_to_state(agent, key, state, steps=6)
    assert path.shape == (6, 4, 84, 84)
    # Pixels in [0, 255]; batch size changes conv kernels, hence the small tolerance.
    assert torch.allclose(path[0], agent.decode(key[None])[0], atol=1e-3)
    assert torch.allclose(path[-1], agent.decode(state[None])[0], atol=1e-3)


def test_stack_max_takes_the_max_over_stacked_frames():
    gray = np.zeros((4, 84, 84), np.float32)
    gray[0, 1, 2], gray[3, 5, 6] = 200, 100
    frame = StateRenderer(4).stack_max(gray)
    assert frame.shape == (84, 84) and frame[1, 2] == 200 and frame[5, 6] == 100
    assert StateRenderer(4).newest(gray)[1, 2] == 0  # only the newest frame
    colour = np.zeros((12, 210, 160), np.float32)
    colour[1, 7, 8] = 90  # frame 0, green
    colour[11, 7, 8] = 30  # frame 3, blue
    frame = StateRenderer(4).stack_max(colour)
    assert frame.shape == (210, 160, 3) and tuple(frame[7, 8]) == (0, 90, 30)


def _minatar_gui_rgb(state_hwc: np.ndarray) -> np.ndarray:
    """What MinAtar's own display (minatar/gui.py) draws for a binary (H, W, C) state, as RGB."""
    n = state_hwc.shape[-1]
    index = np.amax(state_hwc * np.reshape(np.arange(n) + 1, (1, 1, -1)), 2)  # 0: background
    palette = np.vstack([np.zeros(3), channel_colours(n)])
    return np.round(255 * palette[index]).astype(np.uint8)


def test_minatar_states_draw_as_minatars_own_display():
    env = make_env("MinAtar-Seaquest", frame_stack=1)
    renderer = renderer_for(env, "MinAtar-Seaquest", 1)
    assert (
        renderer.channel_names[:2] == ("sub_front", "sub_back")
        and len(renderer.channel_names) == 10
    )
    obs, _ = env.reset(seed=0)
    for _ in range(30):  # a few real states, objects overlapping included
        state_hwc = env.unwrapped.game.state().astype(int)
        assert np.array_equal(renderer.newest(obs), _minatar_gui_rgb(state_hwc))
        obs, *_ = env.step(env.action_space.sample())
    env.close()
    assert renderer_for(make_env("Pong"), "Pong", 4).channel_names == ()


def test_a_decoded_minatar_key_shows_its_strongest_channel_at_its_intensity():
    renderer = StateRenderer(1, ("paddle", "ball", "trail", "brick"))
    key = np.zeros((4, 10, 10), np.float32)
    key[1, 2, 3] = 255 * 0.5  # half a ball
    key[0, 2, 3] = 255 * 0.2  # and a fainter paddle in the same cell
    key[3, 9, 9] = 400  # out of range: clipped
    picture = renderer.newest(key)
    ball, brick = channel_colours(4)[1], channel_colours(4)[3]
    assert np.allclose(picture[2, 3], 255 * 0.5 * ball, atol=1)
    assert np.allclose(picture[9, 9], 255 * brick, atol=1)
    assert picture[0, 0].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="3 channels, but 4 names"):
        renderer.newest(key[:3])


def test_minatar_saliency_peaks_on_the_cell_the_model_reads():
    from agents.suites import MINATAR

    def cell_model(x):  # reads channel 1 at cell (6, 2) only
        return torch.stack([x[:, 1, 6, 2], torch.zeros(len(x))], dim=1)

    obs = np.zeros((4, 10, 10), np.float32)
    obs[1, 6, 2] = 255
    maps = perturbation_saliency(cell_model, obs, **MINATAR.saliency)
    assert maps.shape == (2, 10, 10)
    assert np.unravel_index(int(maps[0].argmax()), (10, 10)) == (6, 2)
    assert maps[0, 0, 9] < 0.01 * maps[0, 6, 2]  # a far cell barely matters


@pytest.mark.parametrize("agent_name", ["ddqn", "idqn"])
def test_an_agents_minatar_saliency_is_near_zero_where_the_perturbation_changes_nothing(
    agent_name,
):
    """A cell far from every object is the same after blurring, so perturbing it leaves Q as it
    was; a map that is not near zero there compares Q on inputs the agent did not see (as DDQN's
    did when its input scaling divided the saliency's base state in place)."""
    from agents.ddqn import DDQNAgent, DDQNConfig
    from agents.suites import MINATAR

    spec = EnvSpec("MinAtar-Breakout", 3, (4, 10, 10), (4, 10, 10), 1, ("NOOP", "LEFT", "RIGHT"))
    config_type, agent_type = {
        "ddqn": (DDQNConfig, DDQNAgent),
        "idqn": (IDQNConfig, IDQNAgent),
    }[agent_name]
    torch.manual_seed(0)
    agent = agent_type(
        build_config(config_type, agent_name, "minatar", {}), spec, torch.device("cpu")
    )
    obs = np.zeros((4, 10, 10), np.float32)
    obs[1, 9, 0] = 255
    before = obs.copy()
    maps = perturbation_saliency(q_function(agent), obs, **MINATAR.saliency)
    assert np.array_equal(obs, before)
    assert maps.max() > 0
    assert maps[:, 0, 9].max() < 1e-3 * maps.max()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 40])
def test_tsne_copes_with_few_points(n):
    points = np.random.default_rng(0).normal(size=(n, 256))
    coords = tsne_2d(points)
    assert coords.shape == (n, 2) and np.isfinite(coords).all()


@pytest.mark.parametrize("jitter", [0.0, 1e-9])
def test_tsne_places_the_features_of_a_dead_network_at_one_point(jitter):
    # A DDQN whose first-layer ReLUs are all zero gives every state the same features (Pong at
    # 1.8M frames); scikit-learn's PCA and t-SNE divide by their variance and crashed on them.
    rng = np.random.default_rng(0)
    points = np.full((50, 512), 0.3) + jitter * rng.normal(size=(50, 512))
    assert all_alike(points)
    assert np.array_equal(tsne_2d(points), np.zeros((50, 2)))
    assert not all_alike(rng.normal(size=(50, 512)))


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory):
    """A tiny i-DQN and a tiny DDQN run on Qbert, trained once for every CLI test here."""
    from agents.runner import RunSpec, train

    root = tmp_path_factory.mktemp("runs")
    overrides = {
        "learning_starts": 100,
        "replay_capacity": 500,
        "batch_size": 4,
        "checkpoint_every_steps": 10**6,
    }
    for agent in ("idqn", "ddqn"):
        train(RunSpec(agent, "Qbert", 0, 4 * 400, "paper"), root / agent, overrides, progress=False)
    return root


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_interpret_cli_on_a_trained_run(trained_runs, tmp_path, capsys):
    from agents.__main__ import main

    for kind, extra in [
        ("keys", []),
        ("maps", ["--states", "2", "--actions", "UP", "2"]),
        ("interpolation", ["--states", "2"]),
        ("tsne", ["--states", "60", "--ddqn-run", str(trained_runs / "ddqn")]),
        ("adversarial", []),
    ]:
        assert (
            main(
                [
                    "interpret",
                    kind,
                    "--run",
                    str(trained_runs / "idqn"),
                    "--out",
                    str(tmp_path / kind),
                    *extra,
                ]
            )
            == 0
        )
        assert (tmp_path / f"{kind}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert (
        main(
            ["interpret", "keys", "--run", str(trained_runs / "ddqn"), "--out", str(tmp_path / "x")]
        )
        == 2
    )
    assert "needs an i-DQN run" in capsys.readouterr().err
    bad_action = ["interpret", "maps", "--run", str(trained_runs / "idqn"), "--actions", "JUMP"]
    assert main([*bad_action, "--out", str(tmp_path / "bad")]) == 2
    assert "unknown action 'JUMP'" in capsys.readouterr().err
    assert not list(tmp_path.glob("bad*"))


def test_interpret_cli_on_a_minatar_run(tmp_path, capsys):
    """Every figure of a MinAtar i-DQN run draws, its states in the channels' colours."""
    from agents.__main__ import main
    from agents.runner import RunSpec, train

    overrides = {"learning_starts": 100, "batch_size": 4, "checkpoint_every_steps": 10**6}
    for agent in ("idqn", "ddqn"):
        spec = RunSpec(agent, "MinAtar-Breakout", 0, 300, "minatar")
        train(spec, tmp_path / agent, overrides, progress=False)
    for kind, extra in [
        ("keys", []),
        ("maps", ["--states", "2"]),
        ("interpolation", ["--states", "2"]),
        ("tsne", ["--states", "40", "--ddqn-run", str(tmp_path / "ddqn")]),
        ("adversarial", []),
    ]:
        argv = ["interpret", kind, "--run", str(tmp_path / "idqn"), "--out", str(tmp_path / kind)]
        assert main([*argv, *extra]) == 0, capsys.readouterr().err
        assert (tmp_path / f"{kind}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    argv = ["interpret", "agreement", "--run", str(tmp_path / "idqn"), "--rollouts", "1"]
    assert main([*argv, "--out", str(tmp_path / "agreement")]) == 0
    result = json.loads((tmp_path / "agreement.json").read_text())
    assert result["input"] == "channels" and result["random"] == pytest.approx(1 / 3)
    # Figs 5 and 6: the Table 2 figures, here with the one i-DQN run as every "variant".
    idqn = str(tmp_path / "idqn")
    for kind, extra in [
        ("reconstructions", ["--variants", idqn]),
        ("agreeing", ["--rollouts", "1"]),
    ]:
        argv = ["interpret", kind, "--run", idqn, "--states", "2", "--out", str(tmp_path / kind)]
        assert main([*argv, *extra]) == 0, capsys.readouterr().err
        assert (tmp_path / f"{kind}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    argv = ["interpret", "embedding", "--run", idqn, "--ddqn-run", str(tmp_path / "ddqn")]
    assert main([*argv, "--states", "60", "--out", str(tmp_path / "embedding")]) == 0
    stats = json.loads((tmp_path / "embedding.json").read_text())
    assert stats["distinct_states"] <= 60 and 0 <= stats["purity_ddqn"] <= 1
    argv = ["interpret", "keys", "--run", idqn, "--variants", idqn, "--out", str(tmp_path / "k")]
    assert main(argv) == 2
    assert "--variants is only used by interpret reconstructions" in capsys.readouterr().err


KINDS = ("keys", "maps", "tsne", "interpolation", "agreement", "adversarial")


def _refused(main, capsys, argv) -> str:
    """Run the CLI, check it stops with exit status 2 and one ``error:`` line; return the line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture
def untouched_runs(trained_runs):
    """The trained runs, checked after the test to be byte for byte as they were."""
    before = _snapshot(trained_runs)
    yield trained_runs
    assert _snapshot(trained_runs) == before


def test_interpret_cli_refuses_a_run_of_another_agent(untouched_runs, tmp_path, capsys):
    from agents.__main__ import main

    ddqn = str(untouched_runs / "ddqn")
    for kind in KINDS:  # every kind needs an i-DQN --run
        line = _refused(
            main, capsys, ["interpret", kind, "--run", ddqn, "--out", str(tmp_path / kind)]
        )
        assert "is a DDQN run" in line and "needs an i-DQN run" in line
    assert not list(tmp_path.iterdir())


def test_interpret_cli_tsne_refuses_an_idqn_run_as_its_ddqn_run(untouched_runs, tmp_path, capsys):
    from agents.__main__ import main

    idqn, ddqn = str(untouched_runs / "idqn"), str(untouched_runs / "ddqn")
    line = _refused(
        main,
        capsys,
        ["interpret", "tsne", "--run", idqn, "--ddqn-run", idqn, "--out", str(tmp_path / "t")],
    )
    assert "--ddqn-run" in line and "is an i-DQN run" in line and "needs a DDQN run" in line
    line = _refused(
        main,
        capsys,
        ["interpret", "keys", "--run", idqn, "--ddqn-run", ddqn, "--out", str(tmp_path / "k")],
    )
    assert "--ddqn-run is only used by interpret tsne" in line
    assert not list(tmp_path.iterdir())


def test_interpret_cli_refuses_an_unwritable_out(untouched_runs, tmp_path, capsys):
    from agents.__main__ import main

    idqn, ddqn = str(untouched_runs / "idqn"), str(untouched_runs / "ddqn")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    (tmp_path / "taken.png").mkdir()
    (tmp_path / "taken.json").mkdir()
    for kind in KINDS:
        extra = ["--ddqn-run", ddqn] if kind == "tsne" else []
        for stem, reason in [
            (blocker / "sub" / kind, "is not a directory"),  # under a regular file
            (tmp_path / "taken", "is a directory"),  # onto a directory
        ]:
            line = _refused(
                main, capsys, ["interpret", kind, "--run", idqn, "--out", str(stem), *extra]
            )
            assert line.startswith("error: cannot write --out") and reason in line, line
    # Nothing was written.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "taken.json", "taken.png"]
    assert not any((tmp_path / "taken.png").iterdir())
    assert not any((tmp_path / "taken.json").iterdir())
    assert blocker.read_text() == "not a directory"


def test_agreement_on_a_constructed_case():
    from agents.interpret.agreement import image_space_actions, unit_key_images

    agent = _idqn()
    # Keys decode to one-hot "images": action a's key i lights pixel (a, i). A state equal to
    # the image of (action 1, key of the largest value) must pick action 1.
    actions, keys = agent.keys.shape[:2]
    images = torch.zeros(actions, keys, 4, 84, 84)
    for a in range(actions):
        for i in range(keys):
            images[a, i, 0, a, i] = 255.0
    best, worst = int(agent.values.argmax()), int(agent.values.argmin())
    states = torch.stack([images[1, best], images[2, best], images[0, worst]])
    chosen = image_space_actions(agent, states, unit_key_images(images)).tolist()
    assert chosen[:2] == [1, 2]
    assert chosen[2] != 0  # looking like action 0's worst-value key makes action 0 the worst


def test_agreement_score_counts_matching_steps():
    from agents.interpret.agreement import agreement_score

    agent = _idqn()
    result = agreement_score(agent, lambda: make_env("Pong"), rollouts=2, max_steps=20)
    assert (
        result["steps"] == 40
        and 0.0 <= result["agreement"] <= 1.0
        and result["random"] == pytest.approx(1 / 3)
    )


def _mean_image_agent(mean=100.0):
    """An ``original-code`` (mean-image) agent whose mean image is ``mean`` everywhere."""
    torch.manual_seed(0)
    config = build_config(IDQNConfig, "idqn", "original-code", {})
    agent = IDQNAgent(config, GRAY, torch.device("cpu"))
    agent.input_mean.fill_(mean)
    agent.mean_image_count = config.mean_image_steps
    return agent


def _by_hand(agent, states, key_images):
    """a' computed step by step: cosine, softmax over each action's keys, Q + lambda U, argmax."""
    flat_states = states.float().flatten(1)
    flat_keys = key_images.float().flatten(2)
    dots = torch.einsum("bd,and->ban", flat_states, flat_keys)
    norms = flat_states.norm(dim=1)[:, None, None] * flat_keys.norm(dim=2)[None]
    cosine = dots / norms.clamp_min(1e-12)
    weights = cosine.exp() / cosine.exp().sum(dim=-1, keepdim=True)
    q = (weights * agent.values).sum(-1)
    u = ((weights * agent.values**2).sum(-1) - q**2).clamp_min(0).sqrt()
    return (q + agent.config.exploration_lambda * u).argmax(dim=1)


def test_decoded_keys_are_in_the_space_the_decoder_reconstructs():
    agent = _mean_image_agent()
    images = agent.decoded_keys()
    assert images.shape == (3, 20, *GRAY.obs_shape)
    raw = agent.online.decode(agent.keys.flatten(0, 1)).reshape(images.shape)
    assert torch.allclose(images, raw)
    # The pixel-space images of the inspection API are these, scaled, shifted and clipped.
    pixels = agent.decode(agent.keys.flatten(0, 1)).reshape(images.shape)
    assert torch.allclose(pixels, (images * 255 + agent.input_mean).clamp(0, 255), atol=1e-3)


def test_agreement_compares_states_and_keys_in_normalised_space():
    from agents.interpret.agreement import image_space_actions, unit_key_images

    agent = _mean_image_agent(mean=100.0)
    assert agent.config.input_normalization == "mean-image"
    # Keys decoded (normalised space): action a's key i lights pixel (a, i), except action 2's
    # key of the largest value, which decodes to the mean image's negative: a black screen.
    actions, keys = agent.keys.shape[:2]
    images = torch.zeros(actions, keys, *GRAY.obs_shape)
    for a in range(actions):
        for i in range(keys):
            images[a, i, 0, a, i] = 1.0
    best = int(agent.values.argmax())
    images[2, best] = -agent.input_mean / 255.0
    # A dark, uniform screen (50 < the mean 100) is that key's direction once normalised.
    dark = torch.full((1, *GRAY.obs_shape), 50, dtype=torch.uint8)
    noise = torch.randint(0, 256, (5, *GRAY.obs_shape), dtype=torch.uint8)
    states = torch.cat([dark, noise])
    chosen = image_space_actions(agent, states, unit_key_images(images))
    expected = _by_hand(agent, (states.float() - agent.input_mean) / 255.0, images)
    assert chosen.tolist() == expected.tolist() and chosen[0] == 2
    # The old comparison, raw pixels against pixel-space key images, suggests another action.
    pixel_keys = (images * 255.0 + agent.input_mean).clamp(0, 255)
    assert _by_hand(agent, states, pixel_keys)[0] != 2


def test_agreement_rollouts_leave_the_mean_image_alone():
    from agents.interpret.agreement import agreement_score

    agent = _mean_image_agent(mean=0.0)
    agent.mean_image_count = 0  # still accumulating: a training step would add to it
    result = agreement_score(agent, lambda: make_env("Pong"), rollouts=1, max_steps=10)
    assert result["steps"] == 10
    assert agent.mean_image_count == 0 and agent.input_mean.abs().max() == 0


def _yellow_centroid(frame):
    mask = (frame[:, :, 0] == 210) & (frame[:, :, 1] == 164) & (frame[:, :, 2] == 74)  # Ms. Pac-Man
    ys, xs = np.nonzero(mask[:172])  # above the score area
    return xs.mean(), ys.mean()


def test_ram_edit_moves_ms_pacman_as_intended():

    env = make_env("MsPacman", color=True)
    env.reset(seed=0)
    for _ in range(80):
        env.step(0)
    before, after = edited_observations(env, moved_player(20, 12), noop_steps=1)
    x0, y0 = _yellow_centroid(before[-3:].transpose(1, 2, 0))
    x1, y1 = _yellow_centroid(after[-3:].transpose(1, 2, 0))
    # She keeps moving during the 4 emulator frames of an agent step, and a wall can stop her at
    # the new place, so the displacement matches the edit to within a few pixels.
    assert x1 - x0 == pytest.approx(20, abs=3) and y1 - y0 == pytest.approx(12, abs=3), (
        x1 - x0,
        y1 - y0,
    )


def _next_screens(ale, edit) -> tuple[np.ndarray, np.ndarray]:
    """Screens one emulator frame after the current state, without and with a RAM edit."""
    start = ale.cloneState()
    screens = []
    for values in ({}, edit(ale.getRAM())):
        ale.restoreState(start)
        for address, value in values.items():
            ale.setRAM(address, value)
        ale.act(0)
        screens.append(ale.getScreenRGB().copy())
    ale.restoreState(start)
    return screens[0], screens[1]


def test_ram_edit_puts_back_exactly_the_eaten_pellets():

    env = make_env("MsPacman", color=True, noop_max=0)
    env.reset(seed=0)
    ale = env.unwrapped.ale
    start_ram = ale.getRAM().copy()
    score = sum(env.step(3)[1] for _ in range(85))  # LEFT along the middle corridor
    eaten = eaten_pellets(start_ram, ale.getRAM())
    assert len(eaten) == score // 10 >= 3  # 10 points a pellet: every eaten pellet is found
    player = sprite_centre(ale.getScreenRGB()[:172], MSPACMAN_PLAYER_RGB)
    away = [
        (address, bit)
        for address, bit in eaten
        if np.hypot(*np.subtract(pellet_position(address, bit), player)) > 12
    ]  # a pellet put back under her is eaten at once
    assert len(away) >= 3
    for address, bit in away:
        edit = {address: int(ale.getRAM()[address]) | 1 << bit}
        before, after = _next_screens(ale, lambda ram, edit=edit: edit)
        rows, cols = np.nonzero((before != after).any(axis=-1))
        top, left = pellet_position(address, bit)
        # Exactly one 4x2 pellet appears where the bit says, in the pellet colour.
        assert set(rows) == {top, top + 1} and set(cols) == set(range(left, left + 4))
        assert len(rows) == 8 and (after[rows, cols] == MSPACMAN_PELLET_RGB).all()
    edit, position = extra_pellet(start_ram, ale.getRAM(), player)
    assert position in [pellet_position(a, b) for a, b in away]
    before, after = _next_screens(ale, edit)
    assert (before != after).any(axis=-1).sum() == 8


def test_every_pellet_bit_draws_its_pellet_at_reset():
    env = make_env("MsPacman", color=True, noop_max=0)
    env.reset(seed=0)
    ale = env.unwrapped.ale
    ram = ale.getRAM().copy()
    drawn = 0
    for address in range(59, 101):
        for bit in range(8):
            position = pellet_position(address, bit)
            if position is None or not ram[address] >> bit & 1:
                continue
            edit = {address: int(ram[address]) & ~(1 << bit)}
            before, after = _next_screens(ale, lambda _, edit=edit: edit)
            rows, cols = np.nonzero((before != after).any(axis=-1))
            if len(rows) == 0:  # a set bit inside a wall draws nothing
                continue
            top, left = position
            assert set(rows) == {top, top + 1} and set(cols) == set(range(left, left + 4))
            drawn += 1
    assert drawn == 150  # every pellet of the first maze (the 4 power pellets live elsewhere)


def test_a_pellet_put_back_is_eaten_and_scores():
    env = make_env("MsPacman", color=True, noop_max=0)
    env.reset(seed=0)
    ale = env.unwrapped.ale
    start_ram = ale.getRAM().copy()
    for _ in range(85):  # LEFT along the middle corridor, eating pellets
        env.step(3)
    eaten = eaten_pellets(start_ram, ale.getRAM())
    assert (85, 4) in eaten and pellet_position(85, 4) == (103, 64)
    start = ale.cloneState()
    scores = []
    for put_back in (False, True):
        ale.restoreState(start)
        if put_back:
            ale.setRAM(85, int(ale.getRAM()[85]) | 1 << 4)
        scores.append(sum(env.step(2)[1] for _ in range(30)))  # RIGHT, back over it
    assert scores[1] == scores[0] + 10


def _invader_left_edges(screen: np.ndarray) -> list[list[int]]:
    """Per band of invaders (top to bottom), the left edge of each invader on screen."""
    mask = (screen == (134, 134, 29)).all(axis=-1)
    rows = np.nonzero(mask.any(axis=1))[0]
    bands = [b for b in np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1) if len(b) >= 6]
    edges = []
    for band in bands:
        cols = np.nonzero(mask[band[0] : band[-1] + 1].any(axis=0))[0]
        blobs = [c for c in np.split(cols, np.nonzero(np.diff(cols) > 1)[0] + 1) if len(c) >= 5]
        edges.append([int(c[0]) for c in blobs])
    return edges


def test_ram_edit_mirrors_the_invader_formation_on_screen():

    env = make_env("SpaceInvaders", color=True, noop_max=0)
    env.reset(seed=0)
    ale = env.unwrapped.ale
    rng = np.random.default_rng(0)
    for _ in range(2000):  # shoot from random places until the formation is lopsided
        env.step(int(rng.choice([1, 4, 5, 2, 3])))
        if formation_asymmetry(ale.getRAM()) >= 4:
            break
    for _ in range(10):  # let the explosion sprites finish
        env.step(0)
    assert formation_asymmetry(ale.getRAM()) >= 4
    before, after = _next_screens(ale, mirrored_formation)
    edges_before, edges_after = _invader_left_edges(before), _invader_left_edges(after)
    ale.act(0)  # the formation's left edge as drawn on that frame
    axis = 2 * (int(ale.getRAM()[SPACEINVADERS_FORMATION_X]) - 1) + 80
    assert edges_before != edges_after and len(edges_before) == len(edges_after)
    for band_before, band_after in zip(edges_before, edges_after, strict=True):
        assert band_after == sorted(axis - left for left in band_before)


def test_pixelwise_max_is_brighter_than_every_state():

    states = np.random.default_rng(0).integers(0, 256, (5, 4, 84, 84), dtype=np.uint8)
    merged = pixelwise_max(states)
    assert (
        merged.shape == (4, 84, 84) and (merged >= states).all() and (merged == states.max(0)).all()
    )


def test_attention_spread_on_constructed_weights():
    from agents.interpret.diversity import attention_entropy, keys_holding

    n = 20
    one_hot = torch.zeros(2, 3, n)
    one_hot[..., 7] = 1.0
    uniform = torch.full((2, 3, n), 1.0 / n)
    assert torch.allclose(attention_entropy(one_hot), torch.zeros(2, 3))
    assert (keys_holding(one_hot) == 1).all()
    assert torch.allclose(attention_entropy(uniform), torch.full((2, 3), float(np.log(n))))
    assert (keys_holding(uniform) == n).all()
    two = torch.zeros(1, 1, n)
    two[..., :2] = torch.tensor([0.995, 0.005])
    assert keys_holding(two).item() == 1  # 0.5% is under the 1% mark


def test_attention_spread_of_a_real_agent():
    from agents.interpret.diversity import attention_spread

    agent = _idqn()
    spread = attention_spread(agent, np.full((3, 4, 84, 84), 80, np.uint8))
    assert spread["entropy"].shape == (3,) and spread["keys_max"] == 20
    assert (spread["entropy"] <= spread["entropy_max"] + 1e-5).all()
    assert ((spread["keys"] >= 1) & (spread["keys"] <= 20)).all()


def test_key_to_state_ratio_tells_keys_among_states_from_keys_apart():
    from agents.interpret.embedding import key_to_state_ratio

    rng = np.random.default_rng(0)
    states = rng.normal(size=(400, 8))
    among = key_to_state_ratio(states, rng.normal(size=(20, 8)))["key_to_state_ratio"]
    apart = key_to_state_ratio(states, rng.normal(size=(20, 8)) + 10)["key_to_state_ratio"]
    assert 0.5 < among < 2.0 and apart > 5


def test_neighbour_purity_is_one_for_separated_labels_and_near_chance_for_random_ones():
    from agents.interpret.embedding import chance_purity, neighbour_purity

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2, 3], 50)
    clustered = rng.normal(size=(200, 4)) * 0.1 + labels[:, None] * 5
    assert neighbour_purity(clustered, labels) == pytest.approx(1.0)
    shuffled = rng.permutation(labels)
    assert chance_purity(labels) == pytest.approx(0.25)
    assert abs(neighbour_purity(clustered, shuffled) - 0.25) < 0.08


def test_agreement_score_gives_the_chance_rate_of_the_action_shares(monkeypatch):
    """A suggestion that never changes agrees as often as the agent takes that action: that share,
    not 1/|A|, is what chance gives (issue 21: Table 2's null)."""
    from types import SimpleNamespace

    from agents.interpret import agreement

    agent_actions = [0, 0, 0, 1, 2, 0, 0, 1, 0, 0]  # 7 of 10 steps take action 0

    def steps(*_):  # two rollouts of 5 steps; the keys suggest action 0 at every step
        for t, action in enumerate(agent_actions):
            yield SimpleNamespace(action=action, episode=t // 5), 0, None

    monkeypatch.setattr(agreement, "agreement_steps", steps)
    agent = SimpleNamespace(spec=SimpleNamespace(num_actions=3))
    result = agreement.agreement_score(agent, None, rollouts=2)
    assert result["agreement"] == pytest.approx(0.7) and result["random"] == pytest.approx(1 / 3)
    assert result["action_shares"] == pytest.approx([0.7, 0.2, 0.1])
    assert result["suggested_shares"] == pytest.approx([1.0, 0.0, 0.0])
    assert result["chance"] == pytest.approx(0.7)  # the agreement itself: no sign above chance
    assert result["rollout_agreement"] == pytest.approx([0.6, 0.8])


def test_agreeing_examples_are_spread_over_the_agreeing_steps_with_bounded_memory(monkeypatch):
    from types import SimpleNamespace

    from agents.interpret import agreement

    def steps(*_):  # 1,000 steps; the even ones agree, each state its own index
        for t in range(1000):
            action = t % 3
            suggested = action if t % 2 == 0 else (action + 1) % 3
            attention = torch.zeros(3, 5)
            attention[action, t % 5] = 1.0
            yield SimpleNamespace(obs=np.full(2, t), action=action), suggested, attention

    monkeypatch.setattr(agreement, "agreement_steps", steps)
    examples = agreement.agreeing_examples(None, None, count=4)
    times = [int(obs[0]) for obs, _, _ in examples]
    assert len(times) == 4 and all(t % 2 == 0 for t in times)
    assert times[0] == 0 and times[-1] >= 600  # spread over the run, not its start
    assert all(key == t % 5 for (_, _, key), t in zip(examples, times, strict=True))


def test_across_state_diversity_tells_spread_keys_from_uniform_attention():
    """The paper's construct: states peaking on different keys are diverse across states and
    peaked per state; uniform attention is neither."""
    import torch

    from agents.interpret.diversity import across_states

    peaked = torch.zeros(4, 1, 20)
    peaked[torch.arange(4), 0, torch.tensor([0, 5, 5, 9])] = 1.0  # 3 distinct keys over 4 states
    measures = across_states(peaked)
    assert measures["distinct_keys"] == pytest.approx([3.0])
    averaged = np.array([0.25, 0.5, 0.25])
    assert measures["averaged_entropy"] == pytest.approx([-(averaged * np.log(averaged)).sum()])
    assert measures["top_weight"] == pytest.approx([1.0])
    assert measures["effective_keys"] == pytest.approx([1.0])
    uniform = across_states(torch.full((4, 1, 20), 1 / 20))
    assert uniform["distinct_keys"] == pytest.approx([1.0])
    assert uniform["averaged_entropy"] == pytest.approx([np.log(20)])
    assert uniform["top_weight"] == pytest.approx([1 / 20])
    assert uniform["effective_keys"] == pytest.approx([20.0])


def test_claim_3_statistic_is_near_0_for_keys_among_the_states_and_large_for_keys_away():
    from agents.interpret.embedding import gaussian_null_ratio

    rng = np.random.default_rng(0)
    states = rng.normal(0, 1, (500, 8))
    among = rng.normal(0, 1, (40, 8))
    away = rng.normal(0, 1, (40, 8)) + 10.0
    assert abs(gaussian_null_ratio(states, among, draws=50)) < 0.2
    assert gaussian_null_ratio(states, away, draws=50) > np.log(3)


def test_claim_4_statistic_is_0_for_random_labels_and_positive_for_clustered_ones():
    from agents.interpret.embedding import excess_purity

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (4, 5))
    labels = np.repeat(np.arange(4), 50)
    clustered = centres[labels] + rng.normal(0, 1, (200, 5))
    assert excess_purity(clustered, labels, permutations=100) > 0.5
    assert abs(excess_purity(rng.normal(0, 1, (200, 5)), labels, permutations=100)) < 0.05
