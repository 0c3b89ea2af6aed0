"""Implicit ALS training and fold-in: deterministic, clusters recovered, heavy users capped."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig, train_als


def _clusters() -> tuple[list[str], list[str], list[float]]:
    users, items, weights = [], [], []
    for user in range(40):
        group = "a" if user % 2 else "b"
        for k in range(6):
            users.append(f"u{user}")
            items.append(f"{group}{(user + k) % 8}")
            weights.append(float(1 + k))
    return users, items, weights


def test_training_is_deterministic_and_recovers_clusters() -> None:
    config = CfConfig(factors=8, iterations=10)
    first = train_als(*_clusters(), config)
    second = train_als(*_clusters(), config)
    assert np.array_equal(first.item_factors, second.item_factors)
    assert first.input_hash == second.input_hash and first.users == 40
    scores = first.scores(["a0", "a1", "a2"])
    liked = {str(first.item_ids[k]) for k in np.flatnonzero(scores > 0.1)}
    assert liked - {"a0", "a1", "a2"} and all(i.startswith("a") for i in liked)


def test_fold_in_of_unknown_history_scores_nothing() -> None:
    model = train_als(*_clusters(), CfConfig(factors=4, iterations=3))
    assert not model.scores(["unknown"]).any()
    assert model.user_vector([]) is None


def test_no_positive_interaction_and_bad_config_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="no positive interactions"):
        train_als(["u"], ["i"], [0.0])
    with pytest.raises(InvalidArgument, match="factors=0"):
        CfConfig(factors=0)
