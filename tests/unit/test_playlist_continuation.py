"""PlaylistScoring.continuation over a fake ranker: what it asks the hybrid (weighted seeds,
every playlist track excluded) and the artist limiter with its fallback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from services.common.errors import FailedPrecondition
from services.ranker.core.features import CatalogFeatures, ResourceRow
from services.ranker.core.hybrid import Recommendation, ScoredItem
from services.ranker.playlists.scoring import PlaylistScoring
from services.ranker.serving.service import Query, Result
from services.ranker.store.playlists import PlaylistRecord

PLAYLIST = "0190c0de-0000-7000-8000-000000000001"


def _features() -> CatalogFeatures:
    rows = [ResourceRow(f"ar-{a}", "artist", f"A{a}") for a in range(4)]
    rows += [ResourceRow(f"t{a}{k}", "track", f"T{a}{k}", artist_ids=(f"ar-{a}",))
             for a in range(4) for k in range(6)]
    return CatalogFeatures.build(rows)


@dataclass
class FakeRanker:
    features: CatalogFeatures
    ranked: list[str]                       # what the hybrid answers, best first
    queries: list[Query] = field(default_factory=list)
    default_limit: int = 10
    max_limit: int = 100

    def catalog(self) -> CatalogFeatures:
        return self.features

    def limit(self, requested: int) -> int:
        return requested or self.default_limit

    def recommend(self, query: Query, mode: str = "hybrid") -> Result:
        self.queries.append(query)
        items = tuple(ScoredItem(i, "track", i, 0.0, 1.0, 0.0, 1.0 - n / 100, 0.0, ())
                      for n, i in enumerate(x for x in self.ranked if x not in query.exclude)
                      )[:query.limit]
        bundle = cast(Any, type("B", (), {"weight_config": type("W", (), {"lambda_mmr": 1.0})}))
        return Result(Recommendation(items, query.seeds, ("track",), "w", (), {}), bundle, ())


class FakePlaylists:
    def __init__(self, tracks: Sequence[str]) -> None:
        now = datetime.now(UTC)
        self.record = PlaylistRecord(PLAYLIST, "u", "p", "", tuple(tracks), now, now)

    def get(self, playlist_id: str) -> PlaylistRecord | None:
        return self.record if playlist_id == PLAYLIST else None


def _scoring(ranker: FakeRanker, tracks: Sequence[str]) -> PlaylistScoring:
    return PlaylistScoring(cast(Any, ranker), cast(Any, FakePlaylists(tracks)),
                           cast(Any, None), cast(Any, None), artist_limit=2, artist_window=10)


def test_the_hybrid_gets_weighted_seeds_and_the_whole_playlist_excluded() -> None:
    features = _features()
    ranker = FakeRanker(features, [f"t{a}{k}" for k in range(6) for a in range(4)])
    playlist = ["t00", "t10", "t00", "t20", "unknown"]
    result = _scoring(ranker, playlist).continuation(PLAYLIST, 4)
    query = ranker.queries[0]
    assert query.seeds == ("t10", "t00", "t20")
    assert dict(query.seed_weights)["t20"] == pytest.approx(0.5 ** (1 / 10))  # "unknown" is last
    assert set(query.exclude) == {"t00", "t10", "t20"}
    served = [i.id for i in result.items]
    assert len(served) == 4 and not set(served) & set(playlist)


def test_the_playlists_tail_counts_for_the_limiter_until_it_cannot_fill_the_page() -> None:
    features = _features()
    # The tail holds two tracks of artist 3: the limiter keeps artist 3 out first.
    ranker = FakeRanker(features, [f"t3{k}" for k in range(2, 6)] + ["t01", "t02", "t11"])
    result = _scoring(ranker, ["t30", "t31"]).continuation(PLAYLIST, 3)
    assert [i.id for i in result.items] == ["t01", "t02", "t11"]
    # Only artist 3 left: the continuation's own tracks count, two of artist 3 at most.
    only = FakeRanker(features, [f"t3{k}" for k in range(2, 6)])
    page = _scoring(only, ["t30", "t31"]).continuation(PLAYLIST, 3)
    assert [i.id for i in page.items] == ["t32", "t33"]
    assert [q.limit for q in only.queries] == [12, 100]   # widened once, still short


def test_a_playlist_without_catalog_tracks_cannot_be_continued() -> None:
    ranker = FakeRanker(_features(), [])
    with pytest.raises(FailedPrecondition, match=PLAYLIST):
        _scoring(ranker, ["unknown"]).continuation(PLAYLIST, 3)
