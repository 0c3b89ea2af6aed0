"""The playlist-continuation protocol: R-precision, playlist order, the evaluation loop."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.evaluation.playlists import (
    NDCG10,
    R_PRECISION,
    RECALL10,
    PlaylistCase,
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
