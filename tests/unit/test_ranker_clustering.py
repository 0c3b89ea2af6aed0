"""Weighted k-means and the silhouette (services/ranker/core/clustering.py)."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.clustering import kmeans, kmeans_pp, silhouette


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated 5-d blobs of 10 points each, and the true labels."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * 5, [10.0] + [0.0] * 4, [0.0, 10.0, 0.0, 0.0, 0.0]])
    points = np.vstack([c + rng.normal(scale=0.5, size=(10, 5)) for c in centres])
    return points, np.repeat(np.arange(3), 10)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return all(len(set(b[a == c])) == 1 for c in np.unique(a)) and \
        len(np.unique(a)) == len(np.unique(b))


def test_same_points_give_the_same_clusters_every_time() -> None:
    points, _ = _blobs()
    weights = np.linspace(1, 3, len(points))
    runs = [kmeans(points, 4, weights, seed=7) for _ in range(3)]
    for run in runs[1:]:
        assert np.array_equal(run.labels, runs[0].labels)
        assert np.array_equal(run.centres, runs[0].centres)
        assert run.inertia == runs[0].inertia


def test_separated_blobs_are_recovered_whatever_the_seed() -> None:
    points, truth = _blobs()
    for seed in (0, 1, 7, 42):
        assert _same_partition(kmeans(points, 3, seed=seed).labels, truth)


def test_centres_are_weighted_means() -> None:
    points = np.array([[0.0], [1.0], [10.0], [11.0]])
    weights = np.array([3.0, 1.0, 1.0, 1.0])
    run = kmeans(points, 2, weights, seed=0)
    centres = sorted(run.centres[:, 0])
    assert centres == pytest.approx([0.25, 10.5])
    assert run.inertia == pytest.approx(3 * 0.25 ** 2 + 0.75 ** 2 + 2 * 0.5 ** 2)


def test_kmeans_pp_follows_the_weights() -> None:
    """A point with all the weight is always the first centre."""
    points = np.array([[0.0], [5.0], [9.0]])
    for seed in range(5):
        first = kmeans_pp(points, np.array([1e-9, 1e-9, 1.0]), 1,
                          np.random.default_rng(seed))
        assert first[0, 0] == 9.0


def test_duplicates_and_bad_input() -> None:
    same = np.ones((5, 3))
    run = kmeans(same, 3, seed=1)
    assert run.inertia == 0.0 and set(run.labels) <= {0, 1, 2}
    with pytest.raises(InvalidArgument, match="k=6"):
        kmeans(same, 6)
    with pytest.raises(InvalidArgument, match="positive"):
        kmeans(same, 2, weights=np.array([1, 1, 0, 1, 1.0]))


def test_silhouette_is_high_for_separated_and_low_for_arbitrary_splits() -> None:
    points, truth = _blobs()
    assert silhouette(points, truth) > 0.85
    shuffled = np.random.default_rng(3).permutation(truth)
    assert silhouette(points, shuffled) < 0.1
    assert silhouette(points, np.zeros(len(points), dtype=int)) == 0.0


def test_silhouette_by_hand() -> None:
    points = np.array([[0.0], [1.0], [4.0]])
    labels = np.array([0, 0, 1])
    # s0 = (4 - 1) / 4, s1 = (3 - 1) / 3, s2 = 0 (alone in its cluster)
    assert silhouette(points, labels) == pytest.approx((0.75 + 2 / 3 + 0) / 3)
    assert silhouette(points, labels, np.array([2.0, 1.0, 1.0])) == pytest.approx(
        (2 * 0.75 + 2 / 3) / 4)
