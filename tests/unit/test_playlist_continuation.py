"""PlaylistScoring.continuation over a fake ranker: what it asks the hybrid (weighted seeds,
every playlist track excluded) and the artist limiter with its fallback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from services.common.errors import FailedPrecondition
from services.ranker.core.features import CatalogFeatures, ResourceRow
from services.ranker.core.hybrid import Contribution, ScoredItem
from services.ranker.personal.radio_page import ArtistLimit
from services.ranker.playlists.scoring import PlaylistScoring, per_artist
from services.ranker.serving.service import FirstStage, Query
from services.ranker.store.playlists import PlaylistRecord

PLAYLIST = "0190c0de-0000-7000-8000-000000000001"
EXPLAINED = Contribution("metadata", "same_artist", 1.0, 1.0, 1.0, 1.0, "explained", ())


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
    explained: list[list[str]] = field(default_factory=list)   # what was explained, per call
    default_limit: int = 10
    max_limit: int = 100

    def catalog(self) -> CatalogFeatures:
        return self.features

    def limit(self, requested: int) -> int:
        return requested or self.default_limit

    def shortlist(self, query: Query) -> FirstStage:
        self.queries.append(query)
        items = tuple(ScoredItem(i, "track", i, 0.0, 1.0, 0.0, 1.0 - n / 100, 0.0, ())
                      for n, i in enumerate(x for x in self.ranked if x not in query.exclude)
                      )[:query.limit]
        bundle = cast(Any, type("B", (), {"weight_config": type("W", (), {"lambda_mmr": 1.0})}))
        return FirstStage(items, bundle, (), self._explained)

    def _explained(self, picks: Sequence[ScoredItem]) -> list[ScoredItem]:
        self.explained.append([i.id for i in picks])
        return [replace(i, explanation=(EXPLAINED,)) for i in picks]


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
    # Of the shortlist, only the served items are explained, once.
    assert ranker.explained == [served]
    assert all(i.explanation == (EXPLAINED,) for i in result.items)


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
    assert [q.limit for q in only.queries] == [60]   # a short shortlist: nothing wider
    assert only.explained == [["t32", "t33"]]


def test_a_full_shortlist_the_limiter_cannot_use_is_widened_once() -> None:
    rows = [ResourceRow(f"ar-{a}", "artist", f"A{a}") for a in range(2)]
    rows += [ResourceRow(f"t1-{k}", "track", f"T{k}", artist_ids=("ar-1",)) for k in range(70)]
    rows += [ResourceRow("t0-0", "track", "T", artist_ids=("ar-0",))]
    features = CatalogFeatures.build(rows)
    # The first 60 (3 x 20) are all by artist 1; the track by artist 0 comes 69th.
    ranker = FakeRanker(features, [f"t1-{k}" for k in range(2, 70)] + ["t0-0"])
    page = _scoring(ranker, ["t1-0", "t1-1"]).continuation(PLAYLIST, 3)
    assert [q.limit for q in ranker.queries] == [60, 300]
    assert [i.id for i in page.items] == ["t1-2", "t1-3", "t0-0"]
    assert ranker.explained == [["t1-2", "t1-3", "t0-0"]]


def test_each_artist_keeps_only_as_many_candidates_as_a_page_can_hold() -> None:
    features = _features()
    ranked = ["t00", "t01", "t10", "t02", "t11", "t12", "t20"]
    items = [ScoredItem(i, "track", i, 0.0, 1.0, 0.0, 1.0, 1.0, ()) for i in ranked]
    assert [i.id for i in per_artist(features, items, 2)] == ["t00", "t01", "t10", "t11", "t20"]
    assert ArtistLimit(2, 10).most_in(10) == 2
    assert ArtistLimit(2, 10).most_in(11) == 4
    assert ArtistLimit(1, 3).most_in(7) == 3


def test_a_playlist_without_catalog_tracks_cannot_be_continued() -> None:
    ranker = FakeRanker(_features(), [])
    with pytest.raises(FailedPrecondition, match=PLAYLIST):
        _scoring(ranker, ["unknown"]).continuation(PLAYLIST, 3)
