"""t-SNE of state embeddings and keys (paper Fig. 2), with scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE


def tsne_2d(
    points: np.ndarray, seed: int = 0, perplexity: float = 30.0, pca_dims: int = 50
) -> np.ndarray:
    """Project (n, d) points to (n, 2): PCA to at most ``pca_dims``, then t-SNE.

    Copes with few points: perplexity is capped below n / 3 as t-SNE requires, and fewer than
    5 points are placed by PCA alone. Points that are all one (:func:`all_alike`, such as the
    features of a network whose ReLUs are dead) have one place: all at the origin.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if n < 2 or all_alike(points):
        return np.zeros((n, 2))
    if n < 5:
        coords = PCA(n_components=min(2, points.shape[1])).fit_transform(points)
        return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    reduced = PCA(n_components=min(pca_dims, n, points.shape[1]), random_state=seed).fit_transform(
        points
    )
    return TSNE(
        n_components=2, perplexity=min(perplexity, (n - 1) / 3), init="pca", random_state=seed
    ).fit_transform(reduced)


def all_alike(points: np.ndarray, rtol: float = 1e-6) -> bool:
    """Whether the (n, d) points are one point up to float rounding: no coordinate varies by
    more than ``rtol`` of the largest magnitude. PCA and t-SNE divide by their variance, so
    they would return NaN (and scikit-learn's t-SNE may crash) on them."""
    points = np.asarray(points, dtype=np.float64)
    scale = float(np.abs(points).max(initial=0.0))
    return float(np.ptp(points, axis=0).max(initial=0.0)) <= rtol * max(scale, 1e-12)
