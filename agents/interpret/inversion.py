"""Key inversion (paper Figs 3, 4, 10-12) and latent interpolation (Fig 16).

A key h_{a,i} lives in the embedding space, so the decoder turns it into an image directly:
no optimisation, exactly as the authors' notebooks do (decode, then *255 + mean image, clip).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

PAPER_VALUE_TARGETS = (25.0, 3.0, -11.0, -25.0)  # the supports the paper's key grids show


def nearest_value_indices(
    values: torch.Tensor, targets: Sequence[float] = PAPER_VALUE_TARGETS
) -> list[int]:
    """Index of the support closest to each target value (values may be unsorted)."""
    return [int((values - target).abs().argmin()) for target in targets]


def invert_keys(agent, actions: Sequence[int], value_indices: Sequence[int]) -> torch.Tensor:
    """Decoded keys, (len(actions), len(value_indices), C, H, W), pixels in [0, 255]."""
    keys = agent.keys[list(actions)][:, list(value_indices)]
    images = agent.decode(keys.reshape(-1, keys.shape[-1]))
    return images.reshape(len(actions), len(value_indices), *images.shape[1:]).cpu()


def interpolate_to_state(
    agent, key: torch.Tensor, state_embedding: torch.Tensor, steps: int = 6
) -> torch.Tensor:
    """Decode (1 - l) key + l h(s) for l in linspace(0, 1, steps): (steps, C, H, W) pixels."""
    weights = torch.linspace(0, 1, steps, device=key.device)[:, None]
    path = (1 - weights) * key[None] + weights * state_embedding[None]
    return agent.decode(path).cpu()
