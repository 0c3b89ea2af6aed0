"""The request-sized sparse operations agree with the library ones they replace, and the
tag candidates bound which items a popular tag reaches."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from services.ranker.core import signals as sig
from services.ranker.core.features import CatalogFeatures, FeatureSettings, ResourceRow, TagRow
from services.ranker.core.sparse_ops import (
    column_sums,
    gathered_product,
    pairwise_products,
    rows_of,
    sorted_unique,
)
from tests.unit.rounding import U64, gamma


def random_csr(rng: np.random.Generator, shape: tuple[int, int], density: float) -> sp.csr_matrix:
    return sp.random(*shape, density=density, format="csr", random_state=rng,
                     data_rvs=lambda n: rng.uniform(0.1, 2.0, n))


def sum_bound(left: sp.csr_matrix, right: sp.csr_matrix) -> np.ndarray:
    """Two float64 summation orders of k nonnegative products differ by at most
    2 gamma_k times the sum itself (each within gamma_k of the exact value)."""
    k = max(1, left.shape[1])
    return 2 * gamma(k, U64) * abs(left) @ abs(right)


@pytest.mark.parametrize("seed", range(5))
def test_gathered_product_is_the_product(seed: int) -> None:
    rng = np.random.default_rng(seed)
    left, right = random_csr(rng, (3, 40), 0.2), random_csr(rng, (40, 500), 0.05)
    got, want = gathered_product(left, right), left @ right
    assert got.shape == want.shape
    assert set(zip(*got.nonzero(), strict=True)) == set(zip(*want.nonzero(), strict=True))
    assert np.all(abs(got - want).toarray() <= sum_bound(left, right).toarray())


def test_gathered_product_of_nothing_is_empty() -> None:
    right = sp.csr_matrix(np.eye(4))
    assert gathered_product(sp.csr_matrix((2, 4)), right).nnz == 0
    assert gathered_product(sp.csr_matrix((2, 4)), right).shape == (2, 4)


def test_column_sums_and_sorted_unique() -> None:
    a = sp.csr_matrix(np.array([[0, 1.0, 0, 2.0], [0, 0, 0, 3.0]]))
    b = sp.csr_matrix(np.array([[4.0, 0, 0, 0.5]]))
    columns, sums = column_sums([a, b])
    assert columns.tolist() == [0, 1, 3] and sums.tolist() == [4.0, 1.0, 5.5]
    assert column_sums([])[0].tolist() == []
    assert sorted_unique(np.array([5, 1, 5, 3, 1])).tolist() == [1, 3, 5]
    assert sorted_unique(np.array([], dtype=np.int64)).tolist() == []


def test_pairwise_products_of_chosen_rows() -> None:
    rng = np.random.default_rng(3)
    matrix = random_csr(rng, (200, 300), 0.03)
    rows = np.array([5, 17, 5, 199, 0])
    want = (matrix[rows] @ matrix[rows].T).toarray()
    got = pairwise_products(matrix, rows)
    assert np.all(abs(got - want) <= sum_bound(matrix[rows], matrix[rows].T))
    assert (rows_of(matrix, rows) != matrix[rows]).nnz == 0
    assert pairwise_products(sp.csr_matrix((3, 3)), np.array([0, 1])).tolist() == [[0, 0],
                                                                                   [0, 0]]


def tagged_tracks(n: int) -> list[ResourceRow]:
    """n tracks sharing tag 'rock' with strengths rising with their number; one seed."""
    rows = [ResourceRow(f"t{k:03d}", "track", f"T{k}",
                        tags=(TagRow("rock", "internal", (k + 1) / (n + 1)),
                              TagRow(f"own{k}", "internal", 0.5)))
            for k in range(n)]
    return [*rows, ResourceRow("seed", "track", "S", tags=(TagRow("rock", "internal", 1.0),))]


def test_a_tag_reaches_at_most_its_strongest_tag_candidates() -> None:
    everything = CatalogFeatures.build(tagged_tracks(30))
    bounded = CatalogFeatures.build(tagged_tracks(30), FeatureSettings(tag_candidates=5))
    seeds_all, seeds_bounded = (f.expand_seeds(["seed"]) for f in (everything, bounded))
    full = sig.metadata(seeds_all, everything, "track").dense()
    some = sig.metadata(seeds_bounded, bounded, "track").dense()
    reached = np.flatnonzero(some)
    assert len(np.flatnonzero(full)) == 31 and len(reached) == 5
    # The five holding the tag most strongly (own weight, then IDF and normalisation), and
    # their scores exactly as without the bound.
    rock = list(bounded.tag_names).index("rock")
    strength = bounded.tag_rows["track"][:, rock].toarray().ravel()
    strongest = np.lexsort((np.arange(len(strength)), -strength))
    assert set(reached) <= set(np.flatnonzero(full))
    assert set(reached) == set(strongest[:5].tolist())
    np.testing.assert_array_equal(some[reached], full[reached])


def test_under_the_bounds_every_sharer_is_reached() -> None:
    features = CatalogFeatures.build(tagged_tracks(30), FeatureSettings(tag_candidates=31))
    scores = sig.metadata(features.expand_seeds(["seed"]), features, "track").dense()
    assert np.count_nonzero(scores) == 31
    budget = CatalogFeatures.build(tagged_tracks(30), FeatureSettings(tag_budget=4))
    scores = sig.metadata(budget.expand_seeds(["seed"]), budget, "track").dense()
    assert np.count_nonzero(scores) == 4
    with pytest.raises(Exception, match="tag_candidates"):
        FeatureSettings(tag_candidates=0)
    with pytest.raises(Exception, match="tag_budget"):
        FeatureSettings(tag_budget=0)


@pytest.mark.parametrize("keep", [1, 3, 7, 50])
def test_postings_list_each_tags_strongest_items_first(keep: int) -> None:
    from services.ranker.core.features import _ranked_postings

    rng = np.random.default_rng(keep)
    matrix = random_csr(rng, (30, 60), 0.15)
    matrix.data = np.round(matrix.data, 1)  # ties, broken by the lower column
    postings = _ranked_postings(matrix, keep)
    for row in range(matrix.shape[0]):
        cols = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
        vals = matrix.data[matrix.indptr[row]:matrix.indptr[row + 1]]
        want = [int(c) for _, c in sorted(zip(-vals, cols, strict=True))[:keep]]
        got = postings.items[postings.indptr[row]:postings.indptr[row + 1]].tolist()
        assert got == want


def test_the_budget_is_shared_by_the_seeds_weight_on_each_tag() -> None:
    from services.ranker.core.features import TagPostings
    from services.ranker.core.signals import tag_candidates

    # Tag 0 lists items 0..9, tag 1 items 10..19, tag 2 items 20..21 (strongest first).
    postings = TagPostings(np.array([0, 10, 20, 22]), np.arange(22))
    seeds = sp.csr_matrix(np.array([[0.6, 0.2, 0.0], [0.2, 0.2, 0.2]]))  # sums .8 .4 .2
    assert tag_candidates(seeds, postings, 7).tolist() == [0, 1, 2, 3, 10, 11, 20]
    # A tag with fewer items gives what it has; every tag gives at least one.
    assert tag_candidates(seeds, postings, 70).tolist() == list(range(22))
    assert tag_candidates(seeds, postings, 1).tolist() == [0, 10, 20]
    assert tag_candidates(sp.csr_matrix((1, 3)), postings, 7).tolist() == []
