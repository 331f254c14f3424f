"""Perturbation saliency (Greydanus et al. 2017), as the i-DQN paper uses it.

    phi(s, i, j) = s * (1 - M(i, j)) + A(s, sigma_blur) * M(i, j)
    S(s, a, i, j) = 1/2 (Q(phi(s, i, j), a) - Q(s, a))^2

M(i, j) is a Gaussian mask centred at (i, j) (peak 1) and A a Gaussian blur of s. Masks are
placed on a grid with ``stride``; all perturbed states go through the network in batches, so an
84x84 map at stride 3 (784 positions) costs a handful of forward passes. Defaults follow the
authors' notebooks: mask sigma 3, stride 3, blur sigma 5.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

QFunction = Callable[[torch.Tensor], torch.Tensor]  # float (B, C, H, W) in pixels -> (B, A)


def q_function(agent) -> QFunction:
    """Action values (or preferences) of any agent for float pixel inputs (B, C, H, W)."""
    return agent.q_values


def gaussian_masks(height: int, width: int, centres: np.ndarray, sigma: float) -> torch.Tensor:
    """(P, H, W) Gaussian bumps with peak 1 at each (row, col) in ``centres``."""
    rows = torch.arange(height, dtype=torch.float32)[None, :, None]
    cols = torch.arange(width, dtype=torch.float32)[None, None, :]
    centres_t = torch.as_tensor(centres, dtype=torch.float32)
    dist2 = (rows - centres_t[:, 0, None, None]) ** 2 + (cols - centres_t[:, 1, None, None]) ** 2
    return torch.exp(-dist2 / (2 * sigma**2))


@torch.no_grad()
def perturbation_saliency(
    q_fn: QFunction,
    obs: np.ndarray | torch.Tensor,
    *,
    stride: int = 3,
    mask_sigma: float = 3.0,
    blur_sigma: float = 5.0,
    batch_size: int = 256,
) -> torch.Tensor:
    """Saliency maps (A, H, W) of one observation (C, H, W) in pixel units, for every action.

    Returns the per-action score 1/2 (Q(phi) - Q(s))^2 on the stride grid, upsampled bilinearly
    to the input's size.
    """
    state = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
    channels, height, width = state.shape
    blurred = torch.from_numpy(
        np.stack([gaussian_filter(c, blur_sigma) for c in state.numpy()]).astype(np.float32)
    )
    grid_rows, grid_cols = np.arange(0, height, stride), np.arange(0, width, stride)
    centres = np.stack(np.meshgrid(grid_rows, grid_cols, indexing="ij"), axis=-1).reshape(-1, 2)
    base_q = q_fn(state[None]).float().cpu()[0]
    scores = []
    for start in range(0, len(centres), batch_size):
        masks = gaussian_masks(height, width, centres[start : start + batch_size], mask_sigma)[
            :, None
        ]
        perturbed = state[None] * (1 - masks) + blurred[None] * masks
        scores.append(0.5 * (q_fn(perturbed).float().cpu() - base_q).square())
    grid = torch.cat(scores).T.reshape(-1, len(grid_rows), len(grid_cols))
    return F.interpolate(grid[None], size=(height, width), mode="bilinear", align_corners=False)[0]
