"""The agreement score of the paper's Table 2: do decoded keys explain the agent's choices?

Decode every key h_{a,i} into an image s_{a,i}. In each visited state s_t, an image-space
attention w'_{a,i} = softmax_i(cos(s_t, s_{a,i})) gives Q'(s_t, a) and U'(s_t, a) as usual and an
action a'_t = argmax_a Q' + lambda_exp U'. Agreement is the fraction of steps where a'_t equals
the agent's own action a_t, over several rollouts of the agent's (directed) policy. A random
a'_t would agree 1/|A| of the time. An a'_t that ignores the state but follows the same action
shares as the real one would agree sum_a p(a) q(a) of the time, p and q being the shares of each
action among the agent's actions and among the suggested ones (``chance``): when either is
skewed, that is the rate to beat, not 1/|A|. A constant a'_t agrees exactly as often as the agent
takes that action.

The cosine is taken in the space the decoder reconstructs: the agent's normalised input,
``agent.normalise(s) = (s - mean image) / 255``, against the raw decoder output of each key.
Cosine ignores the 1/255 scale but not the mean shift, so comparing raw uint8 states with
pixel-space key images would, under ``input_normalization: mean-image``, compare two spaces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def unit_key_images(key_images: torch.Tensor) -> torch.Tensor:
    """Decoded keys (A, N, C, H, W) -> unit vectors (A, N, C*H*W), computed once per agent."""
    return torch.nn.functional.normalize(key_images.float().flatten(2), dim=2)


@torch.inference_mode()
def image_space_choice(
    agent, states: torch.Tensor, unit_keys: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """a' (B,) and the image-space attention w' (B, A, N) for uint8 states (B, C, H, W) in
    pixels, given :func:`unit_key_images` (A, N, D) of keys decoded in normalised space
    (:meth:`agents.contract.Agent.decoded_keys`). The states are normalised as the agent
    normalises its input before the cosine, so both sides live in the decoder's space."""
    normalised = agent.normalise(torch.as_tensor(states).to(agent.device))
    flat_states = torch.nn.functional.normalize(normalised.flatten(1), dim=1)
    cosine = torch.einsum("bd,and->ban", flat_states, unit_keys.to(flat_states.device))
    attention = cosine.softmax(dim=-1)
    return agent.action_from_attention(attention), attention


def image_space_actions(agent, states: torch.Tensor, unit_keys: torch.Tensor) -> torch.Tensor:
    """a' alone (:func:`image_space_choice`)."""
    return image_space_choice(agent, states, unit_keys)[0]


def agreement_steps(agent, make_env, rollouts: int, max_steps: int, seed: int = 0):
    """Every step of the agreement rollouts: ``(step, suggested action a', image-space attention
    (A, N))``. The agent plays its directed policy (i-DQN: argmax Q + lambda_exp U) through
    :meth:`~agents.contract.Agent.directed_actions`, so a rollout leaves the agent (its mean image
    included) untouched. Table 2's
    score and Fig 5's examples both come from here."""
    from agents.rollout import AGREEMENT_STREAM, episode_seed, rollout

    unit_keys = unit_key_images(agent.decoded_keys())
    env = make_env()

    def directed(obs) -> int:
        return int(agent.directed_actions(torch.as_tensor(obs[None]).to(agent.device))[0])

    steps = rollout(
        env,
        directed,
        lambda index: episode_seed(seed, index, AGREEMENT_STREAM),
        episodes=rollouts,
        max_steps_per_episode=max_steps,
        begin_episode=agent.begin_episode,
        after_step=agent.after_step,
    )
    try:
        for step in steps:
            state = torch.as_tensor(step.obs[None]).to(agent.device)
            suggested, attention = image_space_choice(agent, state, unit_keys)
            yield step, int(suggested[0]), attention[0]
    finally:
        steps.close()
        env.close()


def agreement_score(
    agent, make_env, rollouts: int = 5, max_steps: int = 27_000, seed: int = 0
) -> dict:
    """Agreement over ``rollouts`` episodes (each capped at ``max_steps`` agent steps), beside
    what chance gives: ``random`` = 1/|A|, and ``chance`` = sum_a p(a) q(a) from the shares of each
    action among the agent's actions (``action_shares``) and the suggested ones
    (``suggested_shares``). ``rollout_agreement``: the agreement of each rollout, whose steps,
    unlike the rollouts, are not independent."""
    actions, suggestions, episodes = [], [], []
    for step, suggested, _ in agreement_steps(agent, make_env, rollouts, max_steps, seed):
        actions.append(step.action)
        suggestions.append(suggested)
        episodes.append(step.episode)
    num_actions = agent.spec.num_actions
    actions, suggestions, episodes = map(np.asarray, (actions, suggestions, episodes))
    agree = actions == suggestions
    p = np.bincount(actions, minlength=num_actions) / len(actions)
    q = np.bincount(suggestions, minlength=num_actions) / len(actions)
    return {
        "agreement": float(agree.mean()),
        "steps": len(actions),
        "rollouts": rollouts,
        "random": 1.0 / num_actions,
        "chance": float(p @ q),
        "action_shares": p.tolist(),
        "suggested_shares": q.tolist(),
        "rollout_agreement": [float(agree[episodes == e].mean()) for e in np.unique(episodes)],
    }


def agreeing_examples(
    agent, make_env, count: int, rollouts: int = 5, max_steps: int = 27_000, seed: int = 0
) -> list[tuple[np.ndarray, int, int]]:
    """Fig 5: up to ``count`` states where a' equals the agent's action, spread over the
    agreeing steps of the rollouts: ``(state, action, index of the key the image-space attention
    of that action weighs most)``. At most ``2 * count`` states are held at a time (every
    ``stride``-th agreeing step, the stride doubling when the buffer fills), so Atari rollouts
    of 27,000 steps do not keep every frame."""
    if count <= 0:
        return []
    kept: list[tuple[np.ndarray, int, int]] = []
    stride, seen = 1, 0
    for step, suggested, attention in agreement_steps(agent, make_env, rollouts, max_steps, seed):
        if suggested != step.action:
            continue
        if seen % stride == 0:
            kept.append((step.obs, step.action, int(attention[step.action].argmax())))
            if len(kept) == 2 * count:
                kept, stride = kept[::2], 2 * stride
        seen += 1
    return kept[:: max(1, len(kept) // count)][:count]


def variant_label(config) -> str:
    """The paper's Table 2 column for an i-DQN config."""
    if config.embedding == "ae":
        return "AE"
    if config.decoder == "dense":
        return f"Dense VAE (beta = {config.vae_beta:g})"
    return f"VAE (beta = {config.vae_beta:g})"


def write_agreement(
    run_dir: Path, stem: Path, rollouts: int = 5, max_steps: int = 27_000, seed: int = 0
) -> list[Path]:
    """Table 2's agreement score of one i-DQN run over ``rollouts`` episodes, as ``stem.json``
    with the run, its game, variant and input (what Table 2 reads)."""
    from agents.interpret.figures import write_json
    from agents.rundir import load_agent, make_run_env
    from agents.suites import suite_of

    run, config, agent = load_agent(run_dir, device="cpu")
    result = agreement_score(agent, lambda: make_run_env(run, config), rollouts, max_steps, seed)
    result |= {
        "run": str(run_dir),
        "game": run.game,
        "variant": variant_label(config),
        "input": suite_of(run.game).input_name(config.color),
    }
    return write_json(stem, result)
