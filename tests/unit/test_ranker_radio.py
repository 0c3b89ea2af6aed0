"""Radio pages on a synthetic catalog: the artist limiter over pages, the skip penalty, tiers,
no repeats (services/ranker/personal/radio_page.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from services.ranker.core.features import CatalogFeatures, ResourceRow, TagRow
from services.ranker.core.hybrid import Contribution, ScoredItem
from services.ranker.core.mmr import mmr_select
from services.ranker.personal.radio_page import (
    CATALOG,
    HYBRID,
    POPULAR,
    ArtistLimit,
    Candidate,
    artist_columns,
    choose_page,
    first_artist,
    session_feedback,
    skip_penalties,
)

ARTISTS, TRACKS_EACH = 5, 8


def _catalog() -> CatalogFeatures:
    """Five artists with eight tracks each on one album per artist; every track shares the
    tag 'ambient', artist a0's and a1's tracks also 'drone'; one track (t-duet) credits a0
    and a1 together."""
    rows = []
    for a in range(ARTISTS):
        rows.append(ResourceRow(f"a{a}", "artist", f"Artist {a}"))
        rows.append(ResourceRow(f"al{a}", "album", f"Album {a}", artist_ids=(f"a{a}",)))
        for t in range(TRACKS_EACH):
            tags = [TagRow("ambient", "internal", 0.9)]
            if a < 2:
                tags.append(TagRow("drone", "internal", 0.9))
            rows.append(ResourceRow(f"t{a}-{t}", "track", f"Song {a}-{t}", artist_ids=(f"a{a}",),
                                    album_id=f"al{a}", tags=tuple(tags)))
    rows.append(ResourceRow("t-duet", "track", "Duet", artist_ids=("a0", "a1")))
    return CatalogFeatures.build(rows)


FEATURES = _catalog()
LIMIT = ArtistLimit(limit=2, window=10)


def _item(item_id: str, score: float) -> ScoredItem:
    line = Contribution("metadata", "shared_tag", score, score, 1.0, score, "test", ())
    return ScoredItem(id=item_id, type="track", name=item_id, content_score=0.0,
                      metadata_score=score, cooccurrence_score=0.0, final_score=score,
                      mmr_score=score, explanation=(line,))


def _candidates(exclude: set[str], tier: int = HYBRID) -> list[Candidate]:
    """Every track, artist a0's scored highest (as if the seed were an a0 track)."""
    out = []
    for a in range(ARTISTS):
        for t in range(TRACKS_EACH):
            item = f"t{a}-{t}"
            if item not in exclude:
                out.append(Candidate(_item(item, 1.0 - 0.1 * a - 0.01 * t), tier))
    return out


def _artist_of(item: str) -> str:
    return item.split("-")[0][1:]


def _page(served: list[str], n: int, negatives: tuple[tuple[str, str], ...] = (),
          limit: ArtistLimit = LIMIT, allow: bool = False) -> list[ScoredItem]:
    recent = [artist_columns(FEATURES, i) for i in served]
    return choose_page(FEATURES, _candidates(set(served)), recent, n, limit, 0.8, negatives,
                       allow_penalised=allow)


def test_artist_limit_holds_over_every_window_across_pages() -> None:
    served: list[str] = []
    for _ in range(6):  # six pages of 4: windows straddle page boundaries
        page = _page(served, 4)
        assert len(page) == 4
        served += [i.id for i in page]
    assert len(served) == len(set(served)) == 24  # never a repeat
    for start in range(len(served)):
        counts = Counter(_artist_of(i) for i in served[start:start + 10])
        assert max(counts.values()) <= 2, (start, served[start:start + 10])
    # With five artists and 2-in-10, the station has to rotate through all of them.
    assert Counter(_artist_of(i) for i in served[:10]) == {str(a): 2 for a in range(5)}


def test_without_the_limiter_the_best_artist_would_dominate() -> None:
    loose = _page([], 6, limit=ArtistLimit(limit=10, window=10))
    assert sum(_artist_of(i.id) == "0" for i in loose) >= 3
    strict = _page([], 6)
    assert sum(_artist_of(i.id) == "0" for i in strict) == 2


def test_a_page_is_shorter_when_the_limiter_cannot_be_met() -> None:
    only_a0 = [Candidate(_item(f"t0-{t}", 1.0 - 0.01 * t), HYBRID) for t in range(TRACKS_EACH)]
    page = choose_page(FEATURES, only_a0, [], 10, LIMIT, 0.8, (), allow_penalised=True)
    assert [i.id for i in page] == ["t0-0", "t0-1"]
    # The next page still sees those two within its window: nothing of a0 may come.
    recent = [artist_columns(FEATURES, i.id) for i in page]
    rest = [c for c in only_a0 if c.item.id not in {"t0-0", "t0-1"}]
    assert choose_page(FEATURES, rest, recent, 10, LIMIT, 0.8, (), allow_penalised=True) == []


def test_an_item_counts_for_each_of_its_artists() -> None:
    served = ["t0-0", "t1-0", "t1-1"]  # a1 is at its limit, a0 is not
    recent = [artist_columns(FEATURES, i) for i in served]
    duet = [Candidate(_item("t-duet", 1.0), HYBRID), Candidate(_item("t2-0", 0.1), HYBRID)]
    page = choose_page(FEATURES, duet, recent, 2, LIMIT, 0.8, (), allow_penalised=False)
    assert [i.id for i in page] == ["t2-0"]
    assert first_artist(FEATURES, "t-duet") == "a0"


def test_skip_penalty_orders_same_artist_above_shared_tags_and_dislike_doubles_it() -> None:
    items = [_item(i, 0.8) for i in ("t0-5", "t1-5", "t3-5")]  # same artist, drone+ambient
    skip = skip_penalties(FEATURES, items, [("t0-1", "skip")])  # tags, ambient only
    dislike = skip_penalties(FEATURES, items, [("t0-1", "dislike")])
    cuts = [-c.contribution / 0.8 if c else 0.0 for c in skip]
    assert cuts[0] == pytest.approx(0.5)  # shares the artist: closeness 1, skip 0.5
    assert cuts[1] == pytest.approx(0.5 * 0.5 / 2.7)  # identical tags: pool similarity 0.185
    assert cuts[1] > cuts[2] > 0
    for s, d in zip(skip, dislike, strict=True):
        assert s is not None and d is not None
        assert -d.contribution == pytest.approx(2 * -s.contribution)
    first = skip[0]
    assert first is not None
    assert (first.signal, first.rule, first.seed_ids) == ("radio", "skip_penalty", ("t0-1",))
    assert first.weight * first.normalised == pytest.approx(first.contribution)
    assert "score x0.50" in first.reason and "'Song 0-1' (skipped; same artist)" in first.reason
    assert dislike[1] is not None and "disliked; shared tags: drone" in dislike[1].reason
    assert skip_penalties(FEATURES, items, []) == [None, None, None]


def test_two_skips_demote_the_artist_and_the_score_stays_explained() -> None:
    loose = ArtistLimit(10, 10)
    before = [i.id for i in _page([], 4, limit=loose)]
    assert before[0] == "t0-0"
    negatives = (("t0-6", "skip"), ("t0-7", "skip"))
    after = _page(["t0-6", "t0-7"], 40, negatives, limit=loose)
    assert len(after) == 38
    first_t0 = next(k for k, i in enumerate(after) if i.id.startswith("t0-"))
    assert first_t0 == 32  # a0 led; now all 32 tracks of the other artists come first
    t0 = next(i for i in after if i.id == "t0-0")
    assert t0.final_score == pytest.approx(1.0 * 0.5 * 0.5)  # each skip halves it
    for item in after:
        assert sum(c.contribution for c in item.explanation) == pytest.approx(item.final_score)
        assert item.explanation[-1].rule == "skip_penalty"  # all share a tag with the skips


def test_a_dislike_takes_the_artist_out_until_nothing_else_is_left() -> None:
    negatives = (("t0-7", "dislike"),)
    page = _page(["t0-7"], 40, negatives, limit=ArtistLimit(10, 10))
    assert len(page) == 32 and not any(i.id.startswith("t0-") for i in page)
    everything_else = [f"t{a}-{t}" for a in range(1, 5) for t in range(8)]
    last = _page([*everything_else, "t0-7"], 3, negatives, limit=ArtistLimit(10, 10),
                 allow=True)
    assert [i.id for i in last] == ["t0-0", "t0-1", "t0-2"]  # by their score before it
    assert all(i.final_score == 0.0 for i in last)


def test_tiers_come_in_order_whatever_their_scores() -> None:
    candidates = [Candidate(_item("t1-0", 0.9), CATALOG), Candidate(_item("t2-0", 0.2), POPULAR),
                  Candidate(_item("t3-0", 0.05), HYBRID)]
    page = choose_page(FEATURES, candidates, [], 3, LIMIT, 0.8, (), allow_penalised=False)
    assert [i.id for i in page] == ["t3-0", "t2-0", "t1-0"]


def test_a_listed_twice_item_is_served_once() -> None:
    candidates = [Candidate(_item("t1-0", 0.9), HYBRID), Candidate(_item("t1-0", 0.9), POPULAR),
                  Candidate(_item("t2-0", 0.5), HYBRID)]
    page = choose_page(FEATURES, candidates, [], 5, LIMIT, 0.8, (), allow_penalised=True)
    assert [i.id for i in page] == ["t1-0", "t2-0"]


def test_feedback_keeps_each_items_latest_opinion() -> None:
    events = [("x", "skip"), ("y", "like"), ("x", "like"), ("z", "play"), ("w", "dislike"),
              ("y", "complete"), ("v", "skip")]
    feedback = session_feedback(events)
    assert feedback.positives == ("y", "x")          # most recent first
    assert feedback.negatives == (("w", "dislike"), ("v", "skip"))
    assert feedback.negative_events == 3             # every skip/dislike posted counts


def test_mmr_stops_when_the_constraint_allows_nothing() -> None:
    relevance = np.array([1.0, 0.9, 0.8])
    only_two = lambda chosen: np.array([len(chosen) < 2] * 3)  # noqa: E731
    chosen, scores = mmr_select(relevance, np.eye(3), 1.0, 3, only_two)
    assert list(chosen) == [0, 1] and len(scores) == 2
