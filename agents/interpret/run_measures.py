"""Every per-run measure of amendment 1 (A1.3, A1.4) of one confirmatory run: its ``interpret.json``.

    python -m agents interpret-run RUN_DIR [--ddqn-run DIR] [--reference-run DIR] [--out FILE]

A run lives at ``RUNS/<arm>/<game>/s<seed>``; its arm says which measures apply
(:data:`ARM_MEASURES`):

* ``claim5``: Table 2's agreement (:mod:`agents.interpret.agreement`): 10 rollouts of the directed
  policy, each cut at 5,000 steps; per rollout the agreement minus the action-marginal chance
  sum_a p(a) q(a) of the run's steps (all rollouts pooled); the run's excess is their mean. Beside
  it 1/|A| and a permutation null: each rollout's suggestions re-matched, step by step over their
  common length, to the actions of a random other rollout of the same run, 1,000 times.
* ``claim3``: log(median key-to-nearest-state distance / the same for Gaussian points)
  (:func:`agents.interpret.embedding.gaussian_null_ratio`) on the run's first 500 visited states.
* ``claim4``: the excess 10-nearest-neighbour purity of the top (action, key) label on the same
  states, in i-DQN's embedding and in the DDQN run's penultimate layer (same game and seed).
* ``claim9``: :func:`agents.interpret.diversity.across_states` on the 200 fixed Breakout states
  (:func:`fixed_states`), each measure's mean over actions.
* ``grounding``: the share of a map's mass on the game's relevant objects (A1.4) over 200 visited
  states, beside the objects' occupancy.

Visited states are those of the evaluation policy (greedy, the run's ``eval_epsilon``) on the
``STATES_STREAM`` episode seeds of the run's own seed; the agreement rollouts use the
``AGREEMENT_STREAM`` seeds of the run's seed. So a game's four Table 2 variants of one seed play
the same episode seeds. Amendment 2: the arms whose weights are not committed bring this file
instead, computed on the machine that trained them (``tools/collect_confirmatory.sh``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.errors import UsageError

SCHEMA_VERSION = 1
INTERPRET_FILE = "interpret.json"
BREAKOUT = "MinAtar-Breakout"
#: Table 2's games (A1.2) and claim 9's (A1.3).
AGREEMENT_GAMES = ("MinAtar-Breakout", "MinAtar-SpaceInvaders")
DIVERSITY_GAME = BREAKOUT
#: Seeds 0-2 carry every interpretability measure (A1.1, A1.2); seeds 3 and 4 have no weights.
SEEDS = (0, 1, 2)
#: Which measures each arm's runs carry (A1.3, A1.4); games restricted as above.
ARM_MEASURES = {
    "ddqn": ("grounding",),
    "idqn": ("claim3", "claim4", "claim5", "claim9", "grounding"),
    "idqn-vae-beta0": ("claim5",),
    "idqn-vae-beta0.01": ("claim5",),
    "idqn-dense-vae": ("claim5",),
    "idqn-no-diversity": ("claim9",),
    # Amendment 5 (A5.2): where the attention agent looks, on every seed.
    "attention": ("grounding",),
    "attention-3-seeds": ("grounding",),
}
#: The arms of the attention agent (amendment 5): their grounding reads its spatial attention.
ATTENTION_ARMS = ("attention", "attention-3-seeds")
#: The arms amendment 2 keeps no weights of: their runs are collected with this file only.
MEASURED_AT_COLLECTION = (
    "idqn-vae-beta0",
    "idqn-vae-beta0.01",
    "idqn-dense-vae",
    "idqn-no-diversity",
)
#: The permutation null's generator: ``np.random.default_rng([run seed, PERMUTATION_STREAM])``,
#: apart from the rollout seed streams of agents.rollout (which stop at 6).
PERMUTATION_STREAM = 100


@dataclass(frozen=True)
class Settings:
    """The pre-registered sizes (A1.3, A1.4); tests shrink them."""

    rollouts: int = 10
    max_steps: int = 5_000
    permutations: int = 1_000
    embedding_states: int = 500
    gaussian_draws: int = 200
    neighbours: int = 10
    purity_permutations: int = 1_000
    fixed_states: int = 200
    grounding_states: int = 200
    #: Not a measure: how many of the grounding states each map keeps, with the map, for the
    #: maps figure beside A1.4's table (evenly spaced; 0 keeps none). Display only.
    grounding_examples: int = 3


#: The sizes amendment 1 pre-registers.
PREREGISTERED = Settings()


def measures_of(arm: str, game: str) -> tuple[str, ...]:
    """The measures a run of ``arm`` on ``game`` carries (empty for an arm with none)."""
    chosen = []
    for measure in ARM_MEASURES.get(arm, ()):
        if measure == "claim5" and game not in AGREEMENT_GAMES:
            continue
        if measure == "claim9" and game != DIVERSITY_GAME:
            continue
        chosen.append(measure)
    return tuple(chosen)


def arm_of(run_dir: Path) -> tuple[str, str, int]:
    """``(arm, game, seed)`` from a run's place, ``RUNS/<arm>/<game>/s<seed>``."""
    run_dir = Path(run_dir).absolute()
    seed = run_dir.name
    if not (seed.startswith("s") and seed[1:].isdigit()):
        raise UsageError(f"{run_dir} is not at RUNS/<arm>/<game>/s<seed>")
    return run_dir.parent.parent.name, run_dir.parent.name, int(seed[1:])


def weights_digest(run_dir: Path) -> str:
    """sha256 of the weights :func:`agents.rundir.load_agent` reads (checkpoint, else model)."""
    from agents.rundir import MODEL_FILE

    for name in ("checkpoint.pt", MODEL_FILE):
        path = Path(run_dir) / name
        if path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()
    raise UsageError(f"{run_dir} has no checkpoint.pt or {MODEL_FILE}")


def states_digest(states: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(states).tobytes()).hexdigest()


# -- claim 5 -----------------------------------------------------------------------------------


def permutation_null(
    actions: list[np.ndarray], suggestions: list[np.ndarray], permutations: int, seed: int
) -> np.ndarray:
    """The run's agreement (mean over rollouts) when each rollout's suggestions are matched,
    step by step over the common length, to the actions of a random other rollout of the run:
    one value per permutation. Needs 2 rollouts or more."""
    count = len(actions)
    if count < 2:
        raise ValueError("the permutation null needs at least 2 rollouts")
    rng = np.random.default_rng([seed, PERMUTATION_STREAM])
    # agree[i, j]: agreement of rollout i's suggestions with rollout j's actions.
    agree = np.full((count, count), np.nan)
    for i in range(count):
        for j in range(count):
            n = min(len(suggestions[i]), len(actions[j]))
            agree[i, j] = float((suggestions[i][:n] == actions[j][:n]).mean())
    others = rng.integers(0, count - 1, size=(permutations, count))
    others += others >= np.arange(count)  # skip the rollout itself
    return agree[np.arange(count), others].mean(axis=1)


def agreement_measures(agent, make_env, seed: int, settings: Settings) -> dict[str, Any]:
    """Claim 5's per-run numbers (A1.3), from the agreement rollouts of the run's ``seed``."""
    from agents.interpret.agreement import agreement_steps

    actions, suggestions, episodes = [], [], []
    steps = agreement_steps(agent, make_env, settings.rollouts, settings.max_steps, seed)
    for step, suggested, _ in steps:
        actions.append(step.action)
        suggestions.append(suggested)
        episodes.append(step.episode)
    num_actions = agent.spec.num_actions
    actions, suggestions, episodes = map(np.asarray, (actions, suggestions, episodes))

    def shares(values: np.ndarray) -> np.ndarray:
        return np.bincount(values, minlength=num_actions) / len(values)

    chance = float(shares(actions) @ shares(suggestions))
    per_action = [actions[episodes == e] for e in np.unique(episodes)]
    per_suggestion = [suggestions[episodes == e] for e in np.unique(episodes)]
    agreement = [float((a == s).mean()) for a, s in zip(per_action, per_suggestion, strict=True)]
    null = permutation_null(per_action, per_suggestion, settings.permutations, seed)
    observed = float(np.mean(agreement))
    return {
        "rollout_agreement": agreement,
        "rollout_steps": [len(a) for a in per_action],
        "rollout_chance": [
            float(shares(a) @ shares(s)) for a, s in zip(per_action, per_suggestion, strict=True)
        ],
        "chance": chance,
        "rollout_excess": [value - chance for value in agreement],
        "excess_agreement": observed - chance,
        "agreement": observed,
        "random": 1.0 / num_actions,
        "action_shares": shares(actions).tolist(),
        "suggested_shares": shares(suggestions).tolist(),
        "permutation_null_mean": float(null.mean()),
        "permutation_null_interval": [float(q) for q in np.quantile(null, [0.025, 0.975])],
        "permutation_p": float((1 + (null >= observed).sum()) / (1 + len(null))),
    }


# -- claims 3 and 4 ----------------------------------------------------------------------------


def embedding_measures(
    run, config, agent, ddqn_agent, seed: int, settings: Settings
) -> dict[str, dict[str, Any]]:
    """Claims 3 and 4 (A1.3) on the first ``embedding_states`` states the run visits. Exact
    repeats are dropped (a repeated state is its own nearest neighbour at distance 0, which
    would lift every purity), as the suite's Fig 2 statistics do."""
    from agents.interpret.embedding import excess_purity, gaussian_null_ratio
    from agents.interpret.figures import collect_states

    visited, _ = collect_states(run, config, agent, settings.embedding_states, seed)
    states = np.unique(visited, axis=0)
    out = agent.inspect(states)
    embeddings = out.embedding.float().cpu().numpy()
    labels = out.attention.flatten(1).argmax(dim=1).cpu().numpy()  # top (action, key)
    keys = agent.keys.flatten(0, 1).float().cpu().numpy()
    common = {"states": len(visited), "distinct_states": len(states)}
    claim3 = common | {
        "log_key_over_null": gaussian_null_ratio(embeddings, keys, settings.gaussian_draws, seed),
    }
    claim4 = common | {
        "labels": int(len(np.unique(labels))),
        "excess_purity_idqn": excess_purity(
            embeddings, labels, settings.neighbours, settings.purity_permutations, seed
        ),
        "excess_purity_ddqn": None,
    }
    if ddqn_agent is not None:
        with torch.no_grad():
            features = ddqn_agent.features(torch.as_tensor(states)).float().cpu().numpy()
        claim4["excess_purity_ddqn"] = excess_purity(
            features, labels, settings.neighbours, settings.purity_permutations, seed
        )
    return {"claim3": claim3, "claim4": claim4}


# -- claim 9 -----------------------------------------------------------------------------------


def fixed_states(run, config, agent, count: int = 200, seed: int = 0) -> np.ndarray:
    """Claim 9's fixed evaluation states (A1.3): ``count`` states evenly spaced over the first
    ``20 * count`` steps the run's evaluation policy visits on the ``STATES_STREAM`` seeds of
    ``seed`` (the pilot's diversity study builds them the same way, from its first run). For the
    confirmatory study: the ``idqn`` MinAtar-Breakout seed-0 run, its committed float32 weights,
    seed 0."""
    from agents.interpret.figures import collect_states, evenly_spaced

    observations, _ = collect_states(run, config, agent, 20 * count, seed)
    return evenly_spaced(observations, count)


def diversity_measures(agent, states: np.ndarray) -> dict[str, Any]:
    """Claim 9's per-run numbers: :func:`across_states`, per action and their mean."""
    from agents.interpret.diversity import across_states

    weights = agent.inspect(states).attention.float().cpu()
    spread = across_states(weights)
    result: dict[str, Any] = {"states": len(states), "keys": int(weights.shape[-1])}
    for name, values in spread.items():
        result[name] = float(values.mean())
        result[f"{name}_per_action"] = values.tolist()
    return result


# -- where it looks (A1.4) -----------------------------------------------------------------------


def _objects(run, config, states: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """The game's object channel names, and per state the (H, W) cells holding its relevant
    objects (:data:`agents.interpret.grounding.RELEVANT_CHANNELS`) in the newest frame."""
    from agents.interpret.grounding import RELEVANT_CHANNELS, object_mask
    from agents.rundir import make_run_env
    from agents.suites import suite_of

    if run.game not in RELEVANT_CHANNELS:
        raise UsageError(f"{run.game} has no object channels (MinAtar games only)")
    env = make_run_env(run, config)
    names = suite_of(run.game).channel_names(env)
    env.close()
    newest = states[:, -len(names) :]  # the newest frame of a stack
    masks = np.stack(
        [object_mask(frame > 0, names, RELEVANT_CHANNELS[run.game]) for frame in newest]
    )
    return names, masks


def _shares(maps: np.ndarray, masks: np.ndarray) -> dict[str, Any]:
    from agents.interpret.grounding import mass_on_objects, occupancy

    share = mass_on_objects(maps, masks)
    fill = occupancy(masks)
    mean_share, mean_fill = float(np.nanmean(share)), float(fill.mean())
    return {
        "states": len(maps),
        "share_on_objects": mean_share,
        "occupancy": mean_fill,
        "share_over_occupancy": mean_share / mean_fill if mean_fill > 0 else float("nan"),
    }


def _examples(
    states: np.ndarray, maps: np.ndarray, names: tuple[str, ...], count: int
) -> dict[str, Any]:
    """``count`` of the states, evenly spaced, as the maps figure draws them: each newest frame's
    object channels (0/1, channel-first), and its map as the share of the map's mass per cell
    (rounded to 1e-5; all 0 for a map with no mass)."""
    from agents.interpret.figures import evenly_spaced

    chosen = evenly_spaced(np.arange(len(states)), count)
    frames = (states[chosen, -len(names) :] > 0).astype(np.uint8)
    picked = np.asarray(maps, dtype=float)[chosen]
    total = picked.sum(axis=(1, 2), keepdims=True)
    shares = np.where(total > 0, picked / np.where(total > 0, total, 1.0), 0.0)
    return {
        "channel_names": list(names),
        "frames": frames.tolist(),
        "maps": np.round(shares, 5).tolist(),
    }


def _map_result(
    states: np.ndarray, maps: np.ndarray, names, masks: np.ndarray, examples: int
) -> dict[str, Any]:
    """One map's shares (:func:`_shares`) and, when ``examples`` > 0, its example states."""
    result = _shares(maps, masks)
    if examples > 0:
        result["examples"] = _examples(states, maps, names, examples)
    return result


def greedy_saliency_maps(agent, states: np.ndarray, settings: dict) -> np.ndarray:
    """(B, H, W): per state, the perturbation saliency of the greedy action's Q (Greydanus et
    al. 2017, the paper's definition): 1/2 (Q(phi(s, i, j), a*) - Q(s, a*))^2. For i-DQN, Q is
    the attention-weighted sum of the values, sum_i w_{a,i}(s) v_i."""
    from agents.interpret.saliency import perturbation_saliency, q_function

    maps = []
    for obs in states:
        greedy = int(agent.q_values(torch.as_tensor(obs[None])).argmax(dim=1)[0])
        maps.append(perturbation_saliency(q_function(agent), obs, **settings)[greedy].numpy())
    return np.stack(maps)


def attention_saliency_maps(agent, states: np.ndarray, settings: dict) -> np.ndarray:
    """(B, H, W): per state, the perturbation saliency of i-DQN's attention over the greedy
    action's keys, the distribution the paper's attention maps draw:
    1/2 ||w_{a*}(phi(s, i, j)) - w_{a*}(s)||^2, summed over the keys."""
    from agents.interpret.saliency import perturbation_saliency

    maps = []
    for obs in states:
        out = agent.inspect(obs[None])
        greedy = int(out.q.argmax(dim=1)[0])

        def attention_of_greedy(x: torch.Tensor, action: int = greedy) -> torch.Tensor:
            return agent.inspect(x).attention[:, action]  # (B, N): one "action" per key

        per_key = perturbation_saliency(attention_of_greedy, obs, **settings)
        maps.append(per_key.sum(dim=0).numpy())
    return np.stack(maps)


def grounding_measures(
    run, config, agent, seed: int, settings: Settings, attention: bool = True
) -> dict[str, Any]:
    """A1.4 for a DDQN or i-DQN run: shares of the greedy action's Q saliency (both agents) and,
    for i-DQN, of its attention's saliency, over ``grounding_states`` visited states spread over
    the first 60 times as many steps (:func:`agents.interpret.figures.spread_states`).
    ``attention=False`` leaves i-DQN's attention saliency out."""
    from agents.interpret.figures import spread_states
    from agents.suites import suite_of

    states = spread_states(run, config, agent, settings.grounding_states, seed)
    names, masks = _objects(run, config, states)
    saliency = suite_of(run.game).saliency
    examples = settings.grounding_examples
    maps = greedy_saliency_maps(agent, states, saliency)
    result = {"q_saliency": _map_result(states, maps, names, masks, examples)}
    if attention and run.agent == "idqn":
        maps = attention_saliency_maps(agent, states, saliency)
        result["attention_saliency"] = _map_result(states, maps, names, masks, examples)
    return result


def attention_agent_grounding(
    run_dir: Path, count: int = 200, seed: int | None = None, examples: int = 0
) -> dict:
    """A1.4 for an attention-agent run (Mott et al. 2019): the share of its spatial attention,
    averaged over its queries, on the relevant objects, over ``count`` states spread over the
    first ``60 * count`` steps of its evaluation policy (``STATES_STREAM`` seeds of the run's
    seed unless ``seed`` is given). The agent is recurrent, so the episodes are played in order
    and each step's attention read as the agent acts. ``examples`` of the states are kept with
    their maps (:func:`_examples`)."""
    from agents.interpret.attention_maps import _upsample
    from agents.interpret.figures import check_run, evenly_spaced
    from agents.rollout import STATES_STREAM, episode_seed, rollout
    from agents.rundir import load_agent, make_run_env

    check_run(run_dir, "attention")
    run, config, agent = load_agent(run_dir, device="cpu")
    seed = run.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    observations, maps = [], []

    def act(obs: np.ndarray) -> int:
        action = agent.act_eval(obs, rng)
        observations.append(obs)
        maps.append(_upsample(agent.last_output.attention[0], obs.shape[1:]).mean(axis=0))
        return action

    env = make_run_env(run, config)
    steps = rollout(
        env,
        act,
        lambda index: episode_seed(seed, index, STATES_STREAM),
        begin_episode=agent.begin_episode,
        after_step=agent.after_step,
    )
    for _ in steps:
        if len(observations) >= 60 * count:
            break
    steps.close()
    env.close()
    states = evenly_spaced(np.stack(observations), count)
    chosen = evenly_spaced(np.stack(maps), count)
    names, masks = _objects(run, config, states)
    return {"agent": run.agent, "game": run.game, "seed": run.seed, "states_seed": seed} | {
        "spatial_attention": _map_result(states, chosen, names, masks, examples)
    }


# -- the file --------------------------------------------------------------------------------


def _sibling(run_dir: Path, arm: str, game: str, seed: int) -> Path:
    return Path(run_dir).absolute().parent.parent.parent / arm / game / f"s{seed}"


def compute(
    run_dir: Path,
    ddqn_run: Path | None = None,
    reference_run: Path | None = None,
    settings: Settings = PREREGISTERED,
    arm: str | None = None,
) -> dict[str, Any]:
    """Every measure that applies to the run's arm (:func:`measures_of`), as ``interpret.json``
    holds it. ``ddqn_run`` (claim 4) defaults to ``RUNS/ddqn/<game>/s<seed>``, ``reference_run``
    (claim 9's fixed states) to ``RUNS/idqn/MinAtar-Breakout/s0``; ``arm`` to the run's place.
    A DDQN run that is not there leaves claim 4's DDQN part null."""
    from agents.interpret.figures import check_run
    from agents.rundir import load_agent, make_run_env

    placed_arm, game, seed = arm_of(run_dir)
    arm = arm or placed_arm
    if arm not in ARM_MEASURES:
        raise UsageError(
            f"{run_dir}: arm {arm!r} has no interpretability measures ({', '.join(ARM_MEASURES)})"
        )
    expected_agent = {"ddqn": "ddqn"}.get(arm, "attention" if arm in ATTENTION_ARMS else "idqn")
    run, config = check_run(run_dir, expected_agent)
    if (run.game, run.seed) != (game, seed):
        raise UsageError(f"{run_dir} holds {run.game} seed {run.seed}, not what its place says")
    measures = measures_of(arm, run.game)
    if arm in ATTENTION_ARMS:
        found = attention_agent_grounding(
            run_dir, settings.grounding_states, examples=settings.grounding_examples
        )
        return _document(
            run,
            arm,
            settings,
            {"weights_sha256": weights_digest(run_dir)},
            {"grounding": {"spatial_attention": found["spatial_attention"]}},
        )
    _, _, agent = load_agent(run_dir, device="cpu")
    inputs: dict[str, Any] = {"weights_sha256": weights_digest(run_dir)}
    result: dict[str, Any] = {}
    if "claim5" in measures:
        result["claim5"] = agreement_measures(
            agent, lambda: make_run_env(run, config), run.seed, settings
        )
    if "claim3" in measures or "claim4" in measures:
        ddqn_run = Path(ddqn_run) if ddqn_run else _sibling(run_dir, "ddqn", run.game, run.seed)
        ddqn_agent = None
        if (ddqn_run / "config.yaml").is_file():
            check_run(ddqn_run, "ddqn", "--ddqn-run")
            _, _, ddqn_agent = load_agent(ddqn_run, device="cpu")
            inputs |= {"ddqn_run": str(ddqn_run), "ddqn_weights_sha256": weights_digest(ddqn_run)}
        else:
            inputs |= {"ddqn_run": None, "ddqn_weights_sha256": None}
        found = embedding_measures(run, config, agent, ddqn_agent, run.seed, settings)
        result |= {name: found[name] for name in ("claim3", "claim4") if name in measures}
    if "claim9" in measures:
        reference = Path(reference_run) if reference_run else _sibling(run_dir, "idqn", BREAKOUT, 0)
        ref_run, ref_config = check_run(reference, "idqn", "--reference-run")
        _, _, ref_agent = load_agent(reference, device="cpu")
        states = fixed_states(ref_run, ref_config, ref_agent, settings.fixed_states, 0)
        inputs |= {
            "reference_run": str(reference),
            "reference_weights_sha256": weights_digest(reference),
            "fixed_states_sha256": states_digest(states),
        }
        result["claim9"] = diversity_measures(agent, states)
    if "grounding" in measures:
        result["grounding"] = grounding_measures(run, config, agent, run.seed, settings)
    return _document(run, arm, settings, inputs, result)


def _document(run, arm: str, settings: Settings, inputs: dict, result: dict) -> dict[str, Any]:
    """``interpret.json``'s content: the measures with what they were computed from."""
    from agents.rundir import _git_commit

    return {
        "schema_version": SCHEMA_VERSION,
        "arm": arm,
        "agent": run.agent,
        "game": run.game,
        "seed": run.seed,
        "code_commit": _git_commit(),
        "settings": asdict(settings),
        "streams": {
            "agreement": {"stream": "AGREEMENT_STREAM", "run_seed": run.seed},
            "visited_states": {"stream": "STATES_STREAM", "run_seed": run.seed},
            "fixed_states": {"stream": "STATES_STREAM", "run_seed": 0},
            "permutations": {"numpy_seed": [run.seed, PERMUTATION_STREAM]},
            "embedding_nulls": {"numpy_seed": run.seed},
        },
        "inputs": inputs,
        "measures": result,
    }


def write(path: Path, result: dict[str, Any]) -> Path:
    """``path`` atomically; a one-line error when it cannot be written."""
    from agents.files import atomic_write_json

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(Path(path), result)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return Path(path)


def read(path: Path) -> dict[str, Any]:
    """An ``interpret.json``, checked for this code's schema version."""
    import json

    try:
        result = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if result.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(
            f"{path} has schema version {result.get('schema_version')}, this code reads "
            f"{SCHEMA_VERSION}; recompute it (python -m agents interpret-run)"
        )
    return result
