"""The playlist-continuation protocol: R-precision, playlist order, the evaluation loop."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig, train_als
from services.ranker.core.collaborative import CollaborativeIndex, collaborative
from services.ranker.core.features import CatalogFeatures, ResourceRow
from services.ranker.core.hybrid import WeightConfig
from services.ranker.core.pmi import PmiConfig, train_pmi
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.evaluation.playlists import (
    NDCG10,
    R_PRECISION,
    RECALL10,
    PlaylistCase,
    WeightedRanker,
    evaluate_playlists,
    ordered_cases,
    r_precision,
)
from services.ranker.evaluation.protocol import Protocol, Triples, split


def test_r_precision_counts_hits_in_the_top_r() -> None:
    relevant = frozenset({"a", "b", "c"})
    assert r_precision(["a", "x", "b", "c"], relevant) == pytest.approx(2 / 3)
    assert r_precision(["x", "y"], relevant) == 0.0
    with pytest.raises(InvalidArgument):
        r_precision(["a"], frozenset())


def test_cases_keep_the_split_and_order_seeds_by_weight() -> None:
    users = ["u"] * 6 + ["v"] * 6
    items = [f"i{k}" for k in range(6)] * 2
    weights = [6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6]
    data = split(Triples(np.array(users), np.array(items), np.array(weights, float)),
                 Protocol(min_items=5))
    cases = {c.playlist: c for c in ordered_cases(data)}
    reverse = {c.playlist: c for c in ordered_cases(data, reverse=True)}
    for user, case in zip("uv", data.cases, strict=True):
        mine = cases[user]
        assert set(mine.seeds) == set(case.seeds) and mine.held_out == set(case.held_out)
        assert reverse[user].seeds == mine.seeds[::-1]
    assert list(cases["u"].seeds) == sorted(cases["u"].seeds)        # weights fall with k
    assert list(cases["v"].seeds) == sorted(cases["v"].seeds)[::-1]  # weights rise with k


def test_evaluation_averages_over_playlists_and_refuses_a_seed() -> None:
    cases = [PlaylistCase("p", ("s1", "s2"), frozenset({"a", "b"})),
             PlaylistCase("q", ("s3",), frozenset({"c"}))]

    def perfect(seeds: Sequence[str], k: int) -> list[str]:
        return {"s1": ["a", "b"], "s3": ["c"]}[seeds[0]]

    def wrong(seeds: Sequence[str], k: int) -> list[str]:
        return ["z"]

    result = evaluate_playlists({"perfect": perfect, "wrong": wrong}, cases)
    assert result["perfect"] == {R_PRECISION: 1.0, NDCG10: 1.0, RECALL10: 1.0}
    assert result["wrong"] == {R_PRECISION: 0.0, NDCG10: 0.0, RECALL10: 0.0}
    with pytest.raises(InvalidArgument, match="seed"):
        evaluate_playlists({"cheat": lambda seeds, k: [seeds[0]]}, cases)
    with pytest.raises(InvalidArgument):
        evaluate_playlists({"perfect": perfect}, [])


def _clustered_listening(users: int = 60, clusters: int = 3, per_cluster: int = 10,
                         seed: int = 3) -> tuple[list[ResourceRow], Triples]:
    """Artists in clusters; each listener plays 7 artists of one cluster."""
    rng = np.random.default_rng(seed)
    rows = [ResourceRow(f"a{c}-{k}", "artist", f"A{c}-{k}") for c in range(clusters)
            for k in range(per_cluster)]
    u, i = [], []
    for user in range(users):
        cluster = user % clusters
        for k in rng.choice(per_cluster, 7, replace=False):
            u.append(f"u{user}")
            i.append(f"a{cluster}-{k}")
    return rows, Triples(np.array(u), np.array(i), rng.integers(1, 50, len(u)).astype(float))


def test_the_continuation_ranker_weighs_the_collaborative_signal_as_the_service_does() -> None:
    rows, triples = _clustered_listening()
    features = CatalogFeatures.build(rows)
    cooc = CooccurrenceIndex(features, train_pmi(triples.users, triples.items, triples.weights,
                                                 PmiConfig()))
    only_collaborative = WeightConfig("cf-only", 0.0, 0.0, 0.0, 1.0, w_collaborative=1.0)
    with pytest.raises(InvalidArgument, match="cf-only"):
        WeightedRanker(features, cooc, "artist", only_collaborative)
    index = CollaborativeIndex(features, train_als(triples.users, triples.items,
                                                   triples.weights, CfConfig(factors=4)))
    ranker = WeightedRanker(features, cooc, "artist", only_collaborative, index)
    seeds = ["a1-0", "a1-1", "a1-2"]
    ranked = ranker.rank(seeds, 5, weighted=True)
    # Collaborative scores alone, the seeds' weights leaving them as they are.
    scores = collaborative(features.expand_seeds(seeds), index, "artist")
    by_score = {str(features.ids[features.offsets["artist"][0] + j]): v
                for j, v in zip(scores.support, scores.values, strict=True)}
    expected = sorted((a for a in by_score if a not in seeds and by_score[a] > 0),
                      key=lambda a: (-by_score[a], features.index[a]))[:5]
    assert ranked == expected
    assert ranked == ranker.rank(seeds, 5, weighted=False)
    assert all(a.startswith("a1-") for a in ranked[:3])
