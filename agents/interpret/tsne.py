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
    5 points are placed by PCA alone.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if n < 2:
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
