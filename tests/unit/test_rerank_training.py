"""Training the learned second stage offline (evaluation/rerank.py): queries from the
validation split only, labels from its held-out items, popularity from its training part."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.pmi import train_pmi
from services.ranker.core.rerank import FEATURE_NAMES
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.evaluation import harness
from services.ranker.evaluation.harness import RankerSignals, hybrid_config, run_harness
from services.ranker.evaluation.protocol import (
    Protocol,
    dataset_hash,
    split,
    validation_split,
)
from services.ranker.evaluation.rerank import (
    RERANK_SPLITS,
    FirstStage,
    listener_counts,
    ranking_set,
    validation_splits,
)
from tests.unit.test_evaluation_models import (
    SMALL_PMI,
    catalog,
    held_pairs,
    listening,
    pairs,
    triples,
)

CONFIG = hybrid_config(0.5, 0.5)


def test_listener_counts_count_distinct_users() -> None:
    data = triples([("u1", "a", 3), ("u1", "a", 2), ("u2", "a", 1), ("u2", "b", 9)])
    assert listener_counts(data) == {"a": 2.0, "b": 1.0}


def test_queries_label_the_held_out_items_of_candidates() -> None:
    features = CatalogFeatures.build(catalog())
    validation = validation_split(listening(), Protocol(seed=3))
    table = train_pmi(validation.train.users, validation.train.items,
                      validation.train.weights, SMALL_PMI)
    ranker = RankerSignals(features, CooccurrenceIndex(features, table), "artist")
    stage = FirstStage(ranker, CONFIG, candidates=8)
    data = ranking_set(stage, validation, listener_counts(validation.train))
    assert 0 < data.queries <= len(validation.cases)
    assert all(g <= 8 for g in data.groups)
    starts = np.concatenate(([0], np.cumsum(data.groups)[:-1]))
    queried = [c for c in validation.cases
               if any(i.id in c.held_out for i in stage(c.seeds, c.seeds)[0].items)]
    assert len(queried) == data.queries
    for case, start, size in zip(queried, starts, data.groups, strict=True):
        first, _ = stage(case.seeds, case.seeds)
        labels = data.labels[start:start + size]
        assert list(labels) == [float(i.id in case.held_out) for i in first.items]
        rank = data.features[start:start + size, FEATURE_NAMES.index("first_stage_rank")]
        assert list(rank) == list(range(size))


def test_the_harness_trains_the_reranker_on_training_data_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real = harness.train_reranker

    def spy(features, validation, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((validation, *kwargs.get("extra", ())))
        return real(features, validation, *args, **kwargs)

    monkeypatch.setattr(harness, "train_reranker", spy)
    data = listening()
    protocol = Protocol(seed=5)
    report = run_harness(catalog(), data, protocol, grid=(0.5,), collaborative_grid=(0.0,),
                         mmr_lambdas=(1.0,), pmi=SMALL_PMI, grid_users=None,
                         ease_lambdas=(50.0,), als_factors=(4,), slice_plays=(3,))
    test = split(data, protocol)
    (splits,) = seen
    assert len(splits) == RERANK_SPLITS
    for validation in splits:
        assert not (pairs(validation.train) | held_pairs(validation)) & held_pairs(test)
    assert report.row(harness.HYBRID_RERANK).result is not None
    assert report.row(harness.HYBRID_RERANK).params["validation_splits"] == RERANK_SPLITS


def test_validation_splits_start_with_the_validation_split_and_differ() -> None:
    train = split(listening(), Protocol(seed=5)).train
    protocol = Protocol(seed=5)
    splits = validation_splits(train, protocol, None, 3)
    assert dataset_hash(splits[0]) == dataset_hash(validation_split(train, protocol))
    held = [held_pairs(s) for s in splits]
    assert held[0] != held[1] and held[1] != held[2]
    everything = pairs(train)
    for s in splits:
        assert pairs(s.train) | held_pairs(s) == everything
    with pytest.raises(InvalidArgument, match="count=0"):
        validation_splits(train, protocol, None, 0)
