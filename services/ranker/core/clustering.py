"""Deterministic weighted k-means (k-means++ seeding) and the silhouette that picks k. NumPy.

Points carry weights (a user's listening weight per item): k-means++ draws each new centre
with probability proportional to weight x squared distance to the nearest centre chosen so
far, and Lloyd's steps move a centre to the weighted mean of its points, so what a user
plays most pulls hardest. Every random draw comes from one `numpy.random.default_rng(seed)`
and every tie is broken by the lowest index, so the same points in the same order always
give the same clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.common.errors import InvalidArgument

N_INIT = 4          # k-means++ restarts; the lowest weighted inertia wins
MAX_ITER = 100


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray      # cluster of each point, 0..k-1
    centres: np.ndarray     # k x d
    inertia: float          # weighted sum of squared distances to the own centre


def squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """n x k squared Euclidean distances (clipped at 0 against rounding)."""
    d = (np.sum(points ** 2, axis=1)[:, None] - 2.0 * points @ centres.T
         + np.sum(centres ** 2, axis=1)[None, :])
    return np.maximum(d, 0.0)


def kmeans_pp(points: np.ndarray, weights: np.ndarray, k: int,
              rng: np.random.Generator) -> np.ndarray:
    """k initial centres by weighted k-means++ seeding."""
    first = int(rng.choice(len(points), p=weights / weights.sum()))
    centres = [points[first]]
    nearest = squared_distances(points, points[first:first + 1])[:, 0]
    for _ in range(1, k):
        mass = weights * nearest
        if mass.sum() <= 0:  # every point sits on a centre: duplicates, take the next one
            pick = int(np.argmax(nearest == nearest.max()))
        else:
            pick = int(rng.choice(len(points), p=mass / mass.sum()))
        centres.append(points[pick])
        nearest = np.minimum(nearest, squared_distances(points, points[pick:pick + 1])[:, 0])
    return np.asarray(centres, dtype=np.float64)


def _lloyd(points: np.ndarray, weights: np.ndarray, centres: np.ndarray) -> Clustering:
    labels = np.full(len(points), -1)
    for _ in range(MAX_ITER):
        distances = squared_distances(points, centres)
        new = np.argmin(distances, axis=1)  # ties: the lowest centre index
        if np.array_equal(new, labels):
            break
        labels = new
        for c in range(len(centres)):
            members = labels == c
            if members.any():
                centres[c] = np.average(points[members], axis=0, weights=weights[members])
            else:  # an emptied centre restarts at the point worst served by the others
                worst = int(np.argmax(weights * distances[np.arange(len(points)), labels]))
                centres[c] = points[worst]
    distances = squared_distances(points, centres)
    inertia = float(np.sum(weights * distances[np.arange(len(points)), labels]))
    return Clustering(labels, centres, inertia)


def kmeans(points: np.ndarray, k: int, weights: np.ndarray | None = None,
           seed: int = 0, n_init: int = N_INIT) -> Clustering:
    """Weighted k-means, the best of `n_init` k-means++ starts; deterministic for a seed."""
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if not 1 <= k <= n:
        raise InvalidArgument(f"k={k} must be within 1..{n} (the number of points)")
    if weights.shape != (n,) or not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise InvalidArgument("point weights must be one positive finite number per point")
    rng = np.random.default_rng(seed)
    best: Clustering | None = None
    for _ in range(max(1, n_init)):
        run = _lloyd(points, weights, kmeans_pp(points, weights, k, rng))
        if best is None or run.inertia < best.inertia - 1e-12:
            best = run
    assert best is not None
    return best


def silhouette(points: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> float:
    """Mean silhouette (weighted by `weights`) of a clustering, in -1..1.

    s(i) = (b - a) / max(a, b), a = mean distance to the other members of i's cluster,
    b = the smallest mean distance to another cluster's members; 0 for a point alone in
    its cluster (Rousseeuw 1987). Fewer than two clusters have no silhouette: 0.
    """
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    weights = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    distances = np.sqrt(squared_distances(points, points))
    member = labels[:, None] == clusters[None, :]                 # n x k
    sums = distances @ member                                      # n x k
    sizes = member.sum(axis=0).astype(np.float64)
    own = np.argmax(member, axis=1)
    own_size = sizes[own]
    a = np.divide(sums[np.arange(len(points)), own], own_size - 1,
                  out=np.zeros(len(points)), where=own_size > 1)
    to_others = sums / sizes[None, :]
    to_others[np.arange(len(points)), own] = np.inf
    b = to_others.min(axis=1)
    scale = np.maximum(a, b)
    s = np.divide(b - a, scale, out=np.zeros(len(points)), where=scale > 0)
    s[own_size <= 1] = 0.0
    return float(np.average(s, weights=weights))
