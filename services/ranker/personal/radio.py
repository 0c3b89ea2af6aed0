"""Radio: a session started from seeds, continued page by page without repeats. No gRPC here.

`start` resolves the seeds (identity refs and taste profiles) and stores the session with
its artist limiter settings. `next` decides a page inside one transaction that first locks
the session row (FOR UPDATE), so concurrent calls on one session are served one after the
other, and stores the page's items (radio_play, unique per session and item) before it
commits: an item is never served twice in a session.

A page's candidates, widened only while the page is short (see radio_page for how they
are penalised, limited and diversified):
1. the production hybrid (`RankerService.recommend`) seeded by the session's seeds plus the
   items liked or completed in the session (the most recent POSITIVE_SEEDS), excluding
   what the session served and what it skipped, `POOL_FACTOR x n` candidates;
2. the hybrid again with the largest pool a request may ask for;
3. popular items (most distinct listeners over the last month, `PopularItems`, recomputed
   at most every half minute), then catalog items (the most
   richly tagged first), and at last the items the skip penalty took to zero or below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Protocol

import numpy as np

from services.common.db import Database
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import Contribution, ScoredItem
from services.ranker.personal.popular import PopularItems
from services.ranker.personal.radio_page import (
    CATALOG,
    HYBRID,
    POPULAR,
    ArtistLimit,
    Candidate,
    Feedback,
    artist_columns,
    choose_page,
    first_artist,
    session_feedback,
)
from services.ranker.personal.user_ids import check_user_id
from services.ranker.serving.service import Bundle, Query, Result
from services.ranker.store import repository as repo
from services.ranker.store.repository import RadioSessionRecord

RADIO_TYPES = ("track", "album", "artist")
POOL_FACTOR = 4             # hybrid candidates per requested item on the first try
POSITIVE_SEEDS = 20         # liked/completed session items that join the seeds
FALLBACK_POOL = 100         # popular and catalog candidates, at least
MAX_WINDOW = 1000


class Recommender(Protocol):
    """What radio needs of the ranker (RankerService)."""

    default_limit: int
    max_limit: int

    def catalog(self) -> CatalogFeatures: ...
    def seed_ids(self, features: CatalogFeatures, refs: Sequence[str]) -> tuple[str, ...]: ...
    def expand_profiles(self, profile_ids: Sequence[str]) -> tuple[str, ...]: ...
    def recommend(self, query: Query, mode: str = "hybrid") -> Result: ...


@dataclass(frozen=True)
class RadioView:
    id: str
    user_id: str
    seeds: tuple[tuple[str, str, str], ...]     # (type, juke_id, name)
    resource_type: str
    artist_limit: int
    artist_window: int
    served: int
    skips: int                                  # skip and dislike events posted for it
    created_at: datetime


@dataclass(frozen=True)
class RadioPage:
    session: RadioView
    items: tuple[ScoredItem, ...]
    bundle: Bundle
    skipped_item_ids: tuple[str, ...]           # the skips this page was penalised by


class RadioService:
    def __init__(self, db: Database, ranker: Recommender, *, artist_limit: int = 2,
                 artist_window: int = 10, popular: PopularItems | None = None) -> None:
        self._db = db
        self._popular = popular or PopularItems(db)
        self._ranker = ranker
        self.defaults = _checked_limit(artist_limit, artist_window)

    # --- starting ---------------------------------------------------------------------------

    def start(self, seeds: Sequence[str], profile_ids: Sequence[str] = (), user_id: str = "",
              resource_type: str = "", artist_limit: int = 0,
              artist_window: int = 0) -> RadioView:
        kind = resource_type or "track"
        if kind not in RADIO_TYPES:
            raise InvalidArgument(f"radio resource type {kind!r} is not one of "
                                  f"{', '.join(RADIO_TYPES)}")
        limit = _checked_limit(artist_limit or self.defaults.limit,
                               artist_window or self.defaults.window)
        user = check_user_id(user_id) if user_id.strip() else ""  # optional
        features = self._ranker.catalog()
        seed_ids = self._seeds(features, seeds, profile_ids)
        with self._db.transaction() as session:
            record = repo.create_radio_session(session, user, list(seed_ids), kind,
                                               limit.limit, limit.window)
        return _view(features, record, served=0, skips=0)

    def _seeds(self, features: CatalogFeatures, refs: Sequence[str],
               profile_ids: Sequence[str]) -> tuple[str, ...]:
        explicit = [r for r in refs if r.strip()]
        profiles = [p for p in profile_ids if p.strip()]
        if not explicit and not profiles:
            raise InvalidArgument("a radio needs at least one seed_item_id or profile_id")
        found = self._ranker.seed_ids(features, explicit) if explicit else ()
        if profiles:
            found += self._ranker.expand_profiles(profiles)
        return tuple(dict.fromkeys(found))

    # --- continuing ---------------------------------------------------------------------------

    def next(self, session_id: str, n: int = 0) -> RadioPage:
        count = n or self._ranker.default_limit
        if not 1 <= count <= self._ranker.max_limit:
            raise InvalidArgument(f"n {n} is outside 1..{self._ranker.max_limit}")
        key = parse_uuid(session_id.strip())
        if key is None:
            raise InvalidArgument(f"radio session id {session_id!r} is not a UUID")
        features = self._ranker.catalog()
        with self._db.transaction() as session:
            record = repo.lock_radio_session(session, key)
            if record is None:
                raise NotFound(f"no radio session {session_id!r}")
            plays = repo.radio_plays(session, key)
            feedback = session_feedback(repo.session_events(session, str(key)))
            items, bundle = self._page(features, record, plays, feedback, count)
            start = plays[-1][0] + 1 if plays else 0
            repo.add_radio_plays(session, key, start,
                                 [(i.id, first_artist(features, i.id)) for i in items])
        view = _view(features, record, served=len(plays) + len(items),
                     skips=feedback.negative_events)
        return RadioPage(view, tuple(items), bundle, feedback.negative_ids)

    def _page(self, features: CatalogFeatures, record: RadioSessionRecord,
              plays: list[tuple[int, str, str | None]], feedback: Feedback, n: int
              ) -> tuple[list[ScoredItem], Bundle]:
        seeds = self._session_seeds(features, record, feedback)
        served = [item for _, item, _ in plays]
        recent = [artist_columns(features, item, artist)
                  for _, item, artist in plays[-record.artist_window:]]
        limit = ArtistLimit(record.artist_limit, record.artist_window)
        exclude = tuple(dict.fromkeys([*served, *feedback.negative_ids]))
        types = (record.resource_type,)
        first = self._ranker.recommend(Query(seeds=seeds, exclude=exclude, limit=min(
            self._ranker.max_limit, POOL_FACTOR * n), resource_types=types))
        bundle = first.bundle
        lambda_mmr = bundle.weight_config.lambda_mmr
        candidates = [Candidate(i, HYBRID) for i in first.recommendation.items]

        def choose(allow_penalised: bool = False) -> list[ScoredItem]:
            return choose_page(features, candidates, recent, n, limit, lambda_mmr,
                               feedback.negatives, allow_penalised=allow_penalised)

        picks = choose()
        if len(picks) < n and POOL_FACTOR * n < self._ranker.max_limit:
            wide = self._ranker.recommend(Query(seeds=seeds, exclude=exclude,
                                                limit=self._ranker.max_limit,
                                                resource_types=types))
            candidates += [Candidate(i, HYBRID) for i in wide.recommendation.items]
            picks = choose()
        if len(picks) < n:
            taken = {*exclude, *seeds, *(c.item.id for c in candidates)}
            candidates += self._fallbacks(features, record.resource_type, taken,
                                          max(FALLBACK_POOL, POOL_FACTOR * n))
            picks = choose(allow_penalised=True)
        return picks, bundle

    def _session_seeds(self, features: CatalogFeatures, record: RadioSessionRecord,
                       feedback: Feedback) -> tuple[str, ...]:
        own = [s for s in record.seed_ids if s in features.index]
        if not own:
            raise FailedPrecondition(f"none of radio session {str(record.id)!r}'s seeds is in "
                                     "the catalog any more")
        liked = [i for i in feedback.positives if i in features.index][:POSITIVE_SEEDS]
        return tuple(dict.fromkeys([*own, *liked]))

    # --- fallbacks ----------------------------------------------------------------------------

    def _fallbacks(self, features: CatalogFeatures, kind: str, taken: set[str],
                   count: int) -> list[Candidate]:
        popular = self._popular.top(count * 4)
        picks = [(i, n) for i, t, n in popular
                 if t == kind and i in features.index and i not in taken][:count]
        out = []
        if picks:
            top = picks[0][1]
            out = [Candidate(_fallback_item(features, i, n / top, Contribution(
                "popularity", "recent_listeners", float(n), n / top, 1.0, n / top,
                f"{n} listeners played it in the last {self._popular.days} days (the station "
                "ran short of items like its seeds)", ())), POPULAR) for i, n in picks]
        taken = taken | {i for i, _ in picks}
        return out + _catalog_candidates(features, kind, taken, count)


def _catalog_candidates(features: CatalogFeatures, kind: str, taken: set[str],
                        count: int) -> list[Candidate]:
    """Catalog items of a type, the most richly tagged first (ties by id)."""
    tag_counts = np.diff(features.tags.indptr)
    span = features.type_slice(kind)
    order = span.start + np.lexsort((np.arange(span.stop - span.start), -tag_counts[span]))
    ids = (str(features.ids[i]) for i in order)
    ranked = list(islice((i for i in ids if i not in taken), count))  # no pass over it all
    best = max((int(tag_counts[features.index[i]]) for i in ranked), default=0)
    out = []
    for item in ranked:
        share = (int(tag_counts[features.index[item]]) + 1) / (best + 1)
        out.append(Candidate(_fallback_item(features, item, share, Contribution(
            "popularity", "catalog", float(tag_counts[features.index[item]]), share, 1.0,
            share, "from the catalog, the most richly tagged first (the station ran short "
            "of items like its seeds)", ())), CATALOG))
    return out


def _fallback_item(features: CatalogFeatures, item_id: str, score: float,
                   contribution: Contribution) -> ScoredItem:
    index = features.lookup(item_id)
    return ScoredItem(id=item_id, type=features.type_of(index), name=str(features.names[index]),
                      content_score=0.0, metadata_score=0.0, cooccurrence_score=0.0,
                      final_score=score, mmr_score=score, explanation=(contribution,))


def _checked_limit(limit: int, window: int) -> ArtistLimit:
    if not 1 <= window <= MAX_WINDOW:
        raise InvalidArgument(f"artist_window {window} is outside 1..{MAX_WINDOW}")
    if not 1 <= limit <= window:
        raise InvalidArgument(f"artist_limit {limit} is outside 1..{window} (the window)")
    return ArtistLimit(limit, window)


def _view(features: CatalogFeatures, record: RadioSessionRecord, served: int,
          skips: int) -> RadioView:
    seeds = tuple((features.type_of(features.index[s]), s, str(features.names[features.index[s]]))
                  for s in record.seed_ids if s in features.index)
    return RadioView(str(record.id), record.user_id, seeds, record.resource_type,
                     record.artist_limit, record.artist_window, served, skips,
                     record.created_at)
