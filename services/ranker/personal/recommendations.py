"""Personal recommendations from a user's listening events, with a fallback chain.

1. `cf`: at least `cf_min_plays` qualifying interactions (distinct catalog items with a
   positive event total; JUKE_CF_MIN_PLAYS) and an active collaborative-filtering model that
   knows some of them: the user is folded into the model from their history
   (`cf.CfFactors.scores`); the pool is MMR-diversified by item-factor cosine and the
   metadata rules. On HetRec the evaluation harness puts ALS above the hybrid, which is why
   CF leads for users with a history, and its short-history slice puts CF above popularity
   from very few plays, which is where the default threshold comes from (README, Offline
   evaluation).
2. `history`: at least MIN_INTERACTIONS qualifying interactions but no usable CF model: the
   user's heaviest items are the seeds of the production hybrid (`RankerService.recommend`).
3. `popularity`: fewer qualifying interactions: the items most distinct listeners played in
   the last month (optionally within a genre), the user's own items skipped; the ranking
   is kept in memory (`PopularItems`), recomputed at most every half minute.
4. `catalog`: no recent plays at all: catalog items of the requested type, the most
   richly tagged first, so a known catalog never yields an empty list.
Every item carries an explanation naming the path that served it.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np

from services.common.db import Database
from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig, CfFactors
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import Contribution, Recommendation, ScoredItem
from services.ranker.core.mmr import mmr_select, pool_similarity
from services.ranker.personal.popular import PopularItems
from services.ranker.personal.user_ids import check_user_id
from services.ranker.serving.service import Query, RankerService, Result
from services.ranker.store import repository as repo
from services.ranker.store.repository import CfModelRecord

MIN_INTERACTIONS = 5  # the history path's: a hybrid seeded by fewer plays is no better
DEFAULT_CF_MIN_PLAYS = 1  # the CF path's: Settings.cf_min_plays's default (see there)
HISTORY_SEEDS = 20
POOL_FACTOR = 3
CF_LAMBDA = 0.8


def fallback_chain(qualifying: int, has_cf_model: bool, cf_min_plays: int) -> tuple[str, ...]:
    """The paths to try, in order, for a user with `qualifying` interactions; the last one
    always serves (`popularity` ends in `catalog` itself)."""
    first = ("cf",) if has_cf_model and qualifying >= cf_min_plays else ()
    return (*first, "history" if qualifying >= MIN_INTERACTIONS else "popularity")


@dataclass(frozen=True)
class PersonalResult:
    result: Result
    path: str
    qualifying: int
    cf_model_id: str = ""


def _item(features: CatalogFeatures, item_id: str, score: float, contribution: Contribution,
          mmr_score: float) -> ScoredItem:
    index = features.lookup(item_id)
    return ScoredItem(id=item_id, type=features.type_of(index), name=str(features.names[index]),
                      content_score=0.0, metadata_score=0.0, cooccurrence_score=0.0,
                      final_score=score, mmr_score=mmr_score, explanation=(contribution,))


class PersonalRecommender:
    def __init__(self, db: Database, ranker: RankerService,
                 cf_min_plays: int = DEFAULT_CF_MIN_PLAYS,
                 popular: PopularItems | None = None) -> None:
        if cf_min_plays < 1:
            raise InvalidArgument(f"cf_min_plays={cf_min_plays!r} must be >= 1")
        self._db = db
        self._popular = popular or PopularItems(db)
        self._ranker = ranker
        self._cf_min_plays = cf_min_plays
        self._cf: dict[uuid.UUID, CfFactors] = {}
        self._cf_lock = threading.Lock()

    def recommend(self, user_id: str, limit: int = 0, genre: str = "") -> PersonalResult:
        user_id = check_user_id(user_id)
        limit = self._ranker.limit(limit)
        features = self._ranker.catalog()
        with self._db.read() as session:
            history = [h for h in repo.user_positive_items(session, user_id)
                       if h[0] in features.index]
            model = repo.active_cf_model(session)
        genre_id = self._ranker.seed_ids(features, (genre,))[0] if genre else ""
        chain = fallback_chain(len(history), model is not None, self._cf_min_plays)
        if chain[0] == "cf" and model is not None:
            served = self._by_cf(features, model, history, limit)
            if served is not None:
                return served
        if chain[-1] == "history":
            return self._by_history(history, limit)
        needed = min(self._cf_min_plays, MIN_INTERACTIONS) if model else MIN_INTERACTIONS
        return self._by_popularity(features, history, limit, genre_id, needed)

    # --- the paths ---------------------------------------------------------------------

    def _by_cf(self, features: CatalogFeatures, model: CfModelRecord,
               history: list[tuple[str, str, float]], limit: int) -> PersonalResult | None:
        factors = self._factors(model)
        own = [(i, w) for i, t, w in history if t == model.item_type]
        scores = factors.scores([i for i, _ in own], [w for _, w in own])
        scores[factors.positions([i for i, _, _ in history])] = 0.0
        order = [k for k in np.argsort(-scores, kind="stable")[:limit * POOL_FACTOR]
                 if scores[k] > 0 and str(factors.item_ids[k]) in features.index]
        if not order:
            return None
        pool = [str(factors.item_ids[k]) for k in order]
        relevance = scores[order] / scores[order[0]]
        vectors = factors.item_factors[order].astype(np.float64)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        similarity = pool_similarity(features, np.array([features.lookup(i) for i in pool]),
                                     vectors, np.ones(len(pool), dtype=bool))
        chosen, mmr = mmr_select(relevance, similarity, CF_LAMBDA, limit)
        reason = (f"listeners whose history is like yours ({len(own)} items) play it "
                  f"(collaborative filtering, model {model.version})")
        items = tuple(_item(features, pool[k], float(relevance[k]), Contribution(
            "cf", "als", float(scores[order[k]]), float(relevance[k]), 1.0,
            float(relevance[k]), reason, tuple(i for i, _ in own[:3])), float(m))
            for k, m in zip(chosen, mmr, strict=True))
        return PersonalResult(self._result(items, (model.item_type,)), "cf", len(history),
                              str(model.id))

    def _by_history(self, history: list[tuple[str, str, float]], limit: int) -> PersonalResult:
        kind = Counter(t for _, t, _ in history).most_common(1)[0][0]
        seeds = tuple(i for i, _, _ in history[:HISTORY_SEEDS])
        result = self._ranker.recommend(Query(seeds=seeds, limit=limit,
                                              exclude=tuple(i for i, _, _ in history),
                                              resource_types=(kind,)))
        return PersonalResult(result, "history", len(history))

    def _by_popularity(self, features: CatalogFeatures, history: list[tuple[str, str, float]],
                       limit: int, genre_id: str, needed: int) -> PersonalResult:
        popular = self._popular.top(limit * 20)
        own = {i for i, _, _ in history}
        picks = [(i, n) for i, _, n in popular
                 if i in features.index and i not in own
                 and (not genre_id or genre_id in features.genres_of(i))][:limit]
        if picks:
            top = picks[0][1]
            where = " in this genre" if genre_id else ""
            items = tuple(_item(features, i, n / top, Contribution(
                "popularity", "recent_listeners", float(n), n / top, 1.0, n / top,
                f"{n} listeners played it in the last {self._popular.days} days{where} "
                f"(you have {len(history)} of the {needed} play{'s' if needed != 1 else ''} "
                "a personal mix needs)", ()), n / top) for i, n in picks)
            return PersonalResult(self._result(items, ("track",)), "popularity", len(history))
        return PersonalResult(self._result(self._catalog_items(features, own, limit, genre_id),
                                           ("track",)), "catalog", len(history))

    def _catalog_items(self, features: CatalogFeatures, own: set[str], limit: int,
                       genre_id: str) -> tuple[ScoredItem, ...]:
        tag_counts = np.diff(features.tags.indptr)  # tags per catalog item, all at once
        for kind in ("track", "album", "artist"):
            span = features.type_slice(kind)
            order = span.start + np.lexsort((np.arange(span.stop - span.start),
                                            -tag_counts[span]))
            wanted = (item for item in (str(features.ids[i]) for i in order)
                      if item not in own
                      and (not genre_id or genre_id in features.genres_of(item)))
            ranked = list(islice(wanted, limit))  # stops at `limit`: no pass over the catalog
            if ranked:
                break
        picks = [(i, int(tag_counts[features.lookup(i)])) for i in ranked]
        best = max((n for _, n in picks), default=0)
        reason = "no recent listening yet: from the catalog, the most richly tagged first"
        return tuple(_item(features, i, (n + 1) / (best + 1), Contribution(
            "popularity", "catalog", float(n), (n + 1) / (best + 1), 1.0, (n + 1) / (best + 1),
            reason, ()), (n + 1) / (best + 1)) for i, n in picks)

    # --- CF models ------------------------------------------------------------------------

    def list_models(self) -> list[CfModelRecord]:
        with self._db.read() as session:
            return repo.list_cf_models(session)

    # --- plumbing ------------------------------------------------------------------------

    def _result(self, items: Sequence[ScoredItem], types: tuple[str, ...]) -> Result:
        rec = Recommendation(items=tuple(items), seed_ids=(), out_types=types,
                             weight_config_id="", empty_signals=(), silent_seeds={})
        return Result(rec, self._ranker.bundle(), ())

    def _factors(self, model: CfModelRecord) -> CfFactors:
        with self._cf_lock:  # one load per model, shared by concurrent requests
            if model.id not in self._cf:
                with self._db.read() as session:
                    ids, matrix = repo.cf_item_factors(session, model.id, model.factors)
                known = {f for f in CfConfig.__dataclass_fields__}
                config = CfConfig(**{k: v for k, v in model.params.items() if k in known})
                self._cf = {model.id: CfFactors(ids, matrix, config,
                                                typical_weight=float(
                                                    model.params.get("typical_weight", 1.0)))}
            return self._cf[model.id]
