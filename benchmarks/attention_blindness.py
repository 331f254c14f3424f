"""Does the attention agent's policy look at the screen? Measurements behind docs/learning.md,
"Why the attention agent barely learns" (issue 25). No training.

1. **Trained runs** (the committed seed-0 weights, ``results/minatar/runs/attention/<game>/s0``):
   play ``--episodes`` episodes from the policy; at every step after the 20th, compare the policy
   of the current observation with the policy of an earlier observation of the same episodes
   (same memory, :meth:`AttentionAgent.preferences_in_context`), by total variation (0: the
   current observation does not move the policy). Also the attention maps' entropy (uniform over
   the 10 x 10 grid: ln 100 = 4.61) and the most likely action's probability.
2. **At initialisation**, for ``torch`` and ``orthogonal`` init and ``minatar-v2``'s vision
   pathway (:data:`INITS`): over 200 observations of a random Breakout policy, the spread (std
   over observations, averaged over units) of the ConvLSTM's maps, the attention maps, the policy
   LSTM's state and the logits; the attention's entropy; and the gradient norm that a
   policy-gradient step toward the ball sends to the attention maps and the ConvLSTM.

    python benchmarks/attention_blindness.py [--games MinAtar-Breakout ...] [--episodes 5]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from agents.attention import AttentionNet
from agents.rollout import rollout
from agents.rundir import load_agent, make_run_env

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "results/minatar/runs/attention"
GAMES = ["MinAtar-Breakout", "MinAtar-SpaceInvaders", "MinAtar-Freeway"]
GAMES += ["MinAtar-Seaquest", "MinAtar-Asterix"]


def _total_variation(a: torch.Tensor, b: torch.Tensor) -> float:
    return 0.5 * float((torch.softmax(a, -1) - torch.softmax(b, -1)).abs().sum(-1).mean())


def trained_run(run_dir: Path, episodes: int) -> dict[str, float]:
    """How much the current observation moves a trained policy (see the module docstring)."""
    run, config, agent = load_agent(run_dir, "cpu")
    env = make_run_env(run, config)
    rng = np.random.default_rng(1)
    seen, moved, top, entropy = [], [], [], []

    def act(obs: np.ndarray) -> int:
        seen.append(obs)
        if len(seen) > 20:
            other = seen[rng.integers(len(seen) - 10)]
            now = agent.preferences_in_context(torch.as_tensor(obs[None]))
            then = agent.preferences_in_context(torch.as_tensor(other[None]))
            moved.append(_total_variation(now, then))
        out = agent.step_one(obs)
        probs = torch.softmax(out.logits, -1)[0]
        top.append(float(probs.max()))
        maps = out.attention.flatten(2)
        entropy.append(float(-(maps * maps.clamp_min(1e-12).log()).sum(-1).mean()))
        p = probs.double().numpy()
        return int(rng.choice(len(p), p=p / p.sum()))

    steps = rollout(
        env,
        act,
        lambda episode: 1000 + episode,
        episodes=episodes,
        begin_episode=agent.begin_episode,
        after_step=agent.after_step,
    )
    for _ in steps:
        pass
    env.close()
    return {
        "steps": len(top),
        "tv_current_vs_earlier_obs": float(np.mean(moved)),
        "attention_entropy": float(np.mean(entropy)),
        "top_action_prob": float(np.mean(top)),
    }


#: The networks compared at initialisation: the ``minatar`` preset, its orthogonal init, and
#: ``minatar-v2``'s vision pathway (issue 25).
INITS = {
    "torch": {"init": "torch"},
    "orthogonal": {"init": "orthogonal"},
    "minatar-v2": {"init": "torch", "core_norm": "layer"},
    "minatar-v2, attention_scale 5": {
        "init": "torch",
        "core_norm": "layer",
        "attention_scale": 5.0,
    },
}


def at_init(count: int = 200) -> dict[str, dict[str, float]]:
    """How much ``count`` Breakout observations move each network of :data:`INITS` at init, and
    how much gradient a policy-gradient step toward reading the screen sends back: the loss
    raises the log-probability of moving the paddle toward the ball's column (channels 0 and 1)
    against the mean over actions, advantage 1, episode-first steps."""
    run, config, _ = load_agent(RUNS / "MinAtar-Breakout" / "s0", "cpu")
    env = make_run_env(run, config)
    rng = np.random.default_rng(0)
    steps = rollout(env, lambda obs: int(rng.integers(3)), lambda episode: 5 + episode)
    frames = [step.obs for step in itertools.islice(steps, count)]
    env.close()
    batch = torch.as_tensor(np.stack(frames))  # (count, C, 10, 10)

    def column(channel: int) -> torch.Tensor:  # each frame's mean column of the channel's cells
        cells = batch[:, channel].float().sum(1)  # (count, 10)
        return (cells * torch.arange(10)).sum(1) / cells.sum(1).clamp_min(1)

    toward = torch.where(column(1) < column(0), 1, 2)  # LEFT or RIGHT (count,)
    sizes = {k: getattr(config, k) for k in ("core_channels", "value_channels", "policy_hidden")}
    sizes |= {"basis_u": config.basis_u, "basis_v": config.basis_v}
    result = {}
    for name, options in INITS.items():
        torch.manual_seed(0)
        net = AttentionNet(batch.shape[1:], 3, torso="minatar", **sizes, **options)
        out = net(
            batch,
            torch.zeros(count, dtype=torch.int64),
            torch.zeros(count),
            torch.ones(count, dtype=torch.bool),
            net.initial_state(count),
        )
        out.attention.retain_grad()
        log_probs = out.logits.log_softmax(-1)  # (count, 3)
        chosen = log_probs.gather(1, toward[:, None]).squeeze(1)
        (-(chosen - log_probs.mean(1)).mean()).backward()
        maps = out.attention.detach().flatten(2)  # (count, Q, 100)
        vision, policy = out.state.vision_hidden.detach(), out.state.policy_hidden.detach()
        result[name] = {
            "vision_hidden_abs": float(vision.abs().mean()),
            "vision_hidden_spread": float(vision.std(0).mean()),
            "attention_entropy": float(-(maps * maps.clamp_min(1e-12).log()).sum(-1).mean()),
            "attention_spread": float(maps.std(0).mean()),
            "policy_hidden_spread": float(policy.std(0).mean()),
            "logits_spread": float(out.logits.detach().std(0).mean()),
            "grad_attention": float(out.attention.grad.norm()),
            "grad_vision_core": float(
                torch.cat([p.grad.flatten() for p in net.core.parameters()]).norm()
            ),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="*", default=GAMES)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--runs", nargs="*", default=[], type=Path, help="other run directories")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        "| game (seed 0, 300K steps) | steps | TV(pi(s_t), pi(earlier s)) | attention entropy "
        "| top action prob |"
    )
    print("|---|---|---|---|---|")
    named = [(game, RUNS / game / "s0") for game in args.games]
    for name, run_dir in named + [(str(run_dir), run_dir) for run_dir in args.runs]:
        r = trained_run(run_dir, args.episodes)
        print(
            f"| {name} | {r['steps']} | {r['tv_current_vs_earlier_obs']:.4f} "
            f"| {r['attention_entropy']:.2f} | {r['top_action_prob']:.2f} |"
        )
    print()
    for init, r in at_init().items():
        print(f"init {init}: " + ", ".join(f"{k} {v:.2e}" for k, v in r.items()))


if __name__ == "__main__":
    main()
