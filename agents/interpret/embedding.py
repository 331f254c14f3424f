"""Numbers behind the paper's Fig 2 claims, in the embedding space itself (not t-SNE's plane).

* Do the keys lie among the state embeddings? For each key, the distance to its nearest state
  embedding; for each state, the distance to its nearest other state. If keys were states like
  any other, the two medians would be alike; ``key_to_state_ratio`` is their quotient.
* Do states cluster by their top key's value, unlike DDQN's embeddings? The k-nearest-neighbour
  purity of the top-key label (the fraction of a state's k nearest neighbours with its label), in
  i-DQN's embedding and in DDQN's penultimate layer on the same states, beside the purity that
  chance gives (the sum of squared label frequencies).
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors


def key_to_state_ratio(embeddings: np.ndarray, keys: np.ndarray) -> dict[str, float]:
    """Median nearest-state distance of the keys over that of the states (Euclidean)."""
    index = NearestNeighbors(n_neighbors=2).fit(embeddings)
    state_nearest = index.kneighbors(embeddings)[0][:, 1]  # column 0 is the state itself
    key_nearest = index.kneighbors(keys, n_neighbors=1)[0][:, 0]
    key_median, state_median = float(np.median(key_nearest)), float(np.median(state_nearest))
    return {
        "key_to_nearest_state_median": key_median,
        "state_to_nearest_state_median": state_median,
        "key_to_state_ratio": key_median / state_median if state_median > 0 else float("inf"),
    }


def neighbour_purity(features: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean over points of the fraction of their ``k`` nearest other points sharing their label."""
    k = min(k, len(features) - 1)
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features)[1][:, 1:]
    return float((labels[neighbours] == labels[:, None]).mean())


def chance_purity(labels: np.ndarray) -> float:
    """The purity of neighbours drawn at random: the sum of squared label frequencies."""
    _, counts = np.unique(labels, return_counts=True)
    return float(((counts / counts.sum()) ** 2).sum())


def gaussian_null_ratio(
    embeddings: np.ndarray, keys: np.ndarray, draws: int = 200, seed: int = 0
) -> float:
    """Claim 3's statistic (amendment 1, A1.3): log(median key-to-nearest-state distance / the
    same median for as many points drawn from a Gaussian fitted to the state embeddings), the
    null's median taken over ``draws`` draws. 0: keys sit among the states as plausible
    state-like points do; above 0: farther."""
    rng = np.random.default_rng(seed)
    index = NearestNeighbors(n_neighbors=1).fit(embeddings)
    key_median = np.median(index.kneighbors(keys)[0][:, 0])
    mean, cov = embeddings.mean(axis=0), np.cov(embeddings, rowvar=False)
    nulls = [
        np.median(index.kneighbors(rng.multivariate_normal(mean, cov, len(keys)))[0][:, 0])
        for _ in range(draws)
    ]
    return float(np.log(key_median / np.median(nulls)))


def excess_purity(
    features: np.ndarray, labels: np.ndarray, k: int = 10, permutations: int = 1000, seed: int = 0
) -> float:
    """Claim 4's statistic (amendment 1, A1.3): the neighbour purity of ``labels`` in
    ``features`` minus its mean under ``permutations`` random relabellings (the chance purity
    of these neighbourhoods)."""
    rng = np.random.default_rng(seed)
    k = min(k, len(features) - 1)
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features)[1][:, 1:]

    def purity(values: np.ndarray) -> float:
        return float((values[neighbours] == values[:, None]).mean())

    null = np.mean([purity(rng.permutation(labels)) for _ in range(permutations)])
    return purity(labels) - float(null)
