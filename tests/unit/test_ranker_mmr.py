"""MMR selection and the pool similarity it diversifies on."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.mmr import mmr_select, pool_similarity
from tests.unit.ranker_catalog import catalog

RELEVANCE = np.array([1.0, 0.95, 0.9, 0.5, 0.4])
# Items 0, 1 and 2 are near-duplicates of each other; 3 and 4 are unlike anything.
SIMILARITY = np.array(
    [
        [1.0, 0.98, 0.97, 0.0, 0.1],
        [0.98, 1.0, 0.99, 0.0, 0.1],
        [0.97, 0.99, 1.0, 0.0, 0.1],
        [0.0, 0.0, 0.0, 1.0, 0.0],
        [0.1, 0.1, 0.1, 0.0, 1.0],
    ]
)


def test_lambda_one_keeps_relevance_order() -> None:
    chosen, scores = mmr_select(RELEVANCE, SIMILARITY, 1.0, 5)
    assert list(chosen) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(scores, RELEVANCE)


def test_near_duplicates_are_pushed_down() -> None:
    chosen, scores = mmr_select(RELEVANCE, SIMILARITY, 0.5, 5)
    assert list(chosen[:3]) == [0, 3, 4]
    assert scores[1] == pytest.approx(0.5 * 0.5 - 0.5 * 0.0)
    assert scores[2] == pytest.approx(0.5 * 0.4 - 0.5 * 0.1)
    # Mild diversification still lets the second duplicate in ahead of weak items.
    assert list(mmr_select(RELEVANCE, SIMILARITY, 0.9, 3)[0]) == [0, 1, 2]


def test_lambda_zero_spreads_and_ties_go_to_the_earlier_position() -> None:
    chosen, _ = mmr_select(RELEVANCE, SIMILARITY, 0.0, 2)
    assert list(chosen) == [0, 3]  # first pick: all gains 0, so position 0
    flat = np.ones(4)
    assert list(mmr_select(flat, np.eye(4), 0.7, 4)[0]) == [0, 1, 2, 3]


def test_selection_is_capped_and_checked() -> None:
    assert len(mmr_select(RELEVANCE, SIMILARITY, 0.7, 50)[0]) == 5
    assert len(mmr_select(np.zeros(0), np.zeros((0, 0)), 0.7, 3)[0]) == 0
    with pytest.raises(InvalidArgument, match="lambda_mmr"):
        mmr_select(RELEVANCE, SIMILARITY, 1.5, 3)
    with pytest.raises(InvalidArgument, match="shape"):
        mmr_select(RELEVANCE, SIMILARITY[:3], 0.7, 3)


def test_pool_similarity_takes_the_larger_of_metadata_and_content() -> None:
    features = catalog()
    ids = ["tr-teen", "tr-lithium", "tr-sowhat", "tr-lonely"]
    index = np.array([features.index[i] for i in ids])
    metadata_only = pool_similarity(features, index)
    assert metadata_only[0, 1] > (1.0 + 0.8) / 2.7 - 1e-9  # same artist and release
    assert metadata_only[0, 2] == 0.0
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    has_vector = np.array([True, True, True, False])
    combined = pool_similarity(features, index, vectors, has_vector)
    assert combined[0, 2] == pytest.approx(1.0)  # sounds the same, shares no metadata
    assert combined[0, 1] == pytest.approx(metadata_only[0, 1])  # orthogonal sound
    assert combined[0, 3] == 0.0  # tr-lonely has no vector: metadata only
