"""Ranker domain logic: serve recommendations from the active model bundle. No gRPC here.

The active weight config, co-occurrence, CF, reranker and embedding models form the bundle,
held in memory and swapped when an activation commits (bundle.py), so a request reads no
model row.
Results are cached under (request, bundle, catalog version): a new bundle is a new key, and
activations also clear the cache outright.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypedDict

import numpy as np

from services.common.db import Database
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.common.ids import parse_uuid
from services.common.resource_types import RESOURCE_TYPES
from services.ranker.core.cf import CfConfig, CfFactors
from services.ranker.core.collaborative import CollaborativeIndex
from services.ranker.core.features import (
    CatalogFeatures,
    FeatureSettings,
    ItemDetails,
    ResourceRow,
)
from services.ranker.core.hybrid import (
    Recommendation,
    ScoredItem,
    WeightConfig,
    recommend,
    seed_weight_array,
    shortlist,
)
from services.ranker.core.rerank import Reordered
from services.ranker.core.signals import CooccurrenceIndex, content_query
from services.ranker.registry import models as model_registry
from services.ranker.serving.bundle import EVERYTHING, BundleWatcher
from services.ranker.serving.health import Metric
from services.ranker.serving.ports import ActiveEmbedding, Candidates, Content
from services.ranker.serving.rerank import ActiveReranker, ActiveRerankers
from services.ranker.serving.uuid_keys import UuidPositions
from services.ranker.store import repository as repo
from services.ranker.store.feature_snapshots import FeatureSnapshots, snapshot_key
from services.ranker.store.repository import (
    CfModelRecord,
    CooccurrenceModelRecord,
    WeightConfigRecord,
)

log = logging.getLogger(__name__)

MODES = ("hybrid", "metadata", "cooccurrence", "content")
CONTENT_POOL = 200          # ANN candidates fetched for the content signal
EMBEDDING_TABLE = "embedding_model"   # what the embedder announces its activations as
EMBEDDING_RECHECK_S = 60.0
SHORTLIST_MAX = 5000        # candidates a shortlist may hold (scored, unexplained)
SEED_TRACKS_CAP = 500       # tracks whose vectors stand for one seed (an artist, a genre)


class Catalog(Protocol):
    def stats(self) -> tuple[int, ...]: ...
    def rows(self, allowed_datasets: Collection[str]) -> list[ResourceRow]: ...
    def resolve(self, refs: Sequence[str]) -> dict[str, tuple[str | None, str]]: ...


class Datasets(Protocol):
    def allowed_datasets(self, environment: str) -> set[str]: ...
    def production_eligible_rows(self) -> int: ...


@dataclass(frozen=True)
class Query:
    seeds: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    limit: int = 0
    resource_types: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()      # taste profile ids; their favourites join the seeds
    # (seed juke_id, weight > 0): seeds it omits weigh 1 (see core/hybrid.py)
    seed_weights: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Bundle:
    weight_config: WeightConfigRecord
    cooccurrence: CooccurrenceModelRecord | None
    embedding: ActiveEmbedding | None
    cf: CfModelRecord | None = None  # the active CF model: the collaborative signal's
    # The active reranker model: the learned second stage of hybrid requests (rerank.py)
    reranker: ActiveReranker | None = None

    @property
    def uses_cf(self) -> bool:
        """The collaborative signal serves: the config weighs it and a CF model is active."""
        return self.cf is not None and self.weight_config.w_collaborative > 0

    @property
    def model_version(self) -> str:
        emb = self.embedding.label if self.embedding else "none"
        cooc = self.cooccurrence.version if self.cooccurrence else "none"
        version = f"emb:{emb}+cooc:{cooc}"
        if self.uses_cf:
            assert self.cf is not None
            version += f"+cf:{self.cf.version}"
        return version

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        # The artifact hash changes when a model is re-embedded under the same id.
        return (str(self.weight_config.id),
                str(self.cooccurrence.id) if self.cooccurrence else "",
                self.embedding.model_id if self.embedding else "",
                self.embedding.artifact_hash if self.embedding else "",
                str(self.cf.id) if self.cf else "",
                str(self.reranker.model_id) if self.reranker else "")


@dataclass(frozen=True)
class Result:
    recommendation: Recommendation
    bundle: Bundle
    seeds: tuple[tuple[str, str, str], ...]     # (type, juke_id, name)
    cached: bool = False
    reranker: str = ""  # the second stage's version where one reranked the items

    @property
    def model_version(self) -> str:
        """What every item's `model_version` says: the bundle's, and the reranker's."""
        version = self.bundle.model_version
        return f"{version}+rerank:{self.reranker}" if self.reranker else version


@dataclass(frozen=True)
class FirstStage:
    """A shortlist of the hybrid (RankerService.shortlist): its items by relevance and how
    to explain the ones a caller serves."""
    items: tuple[ScoredItem, ...]
    bundle: Bundle
    seeds: tuple[tuple[str, str, str], ...]     # (type, juke_id, name)
    explained: Callable[[Sequence[ScoredItem]], list[ScoredItem]]
    reranker: str = ""  # the second stage's version where one reranked the items


class _Signals(TypedDict):
    cooccurrence: CooccurrenceIndex | None
    seed_vectors: dict[str, np.ndarray] | None
    candidate_ids: Sequence[str]
    candidate_vectors: np.ndarray | None
    seed_weights: dict[str, float] | None
    collaborative_index: CollaborativeIndex | None


@dataclass
class _Snapshot:
    features: CatalogFeatures
    version: str
    stats: tuple[int, ...]
    cooc: dict[uuid.UUID, CooccurrenceIndex] = field(default_factory=dict)
    collab: dict[uuid.UUID, CollaborativeIndex] = field(default_factory=dict)
    _uuid_positions: UuidPositions | None = None

    def positions(self, keys: np.ndarray) -> np.ndarray:
        """Catalog positions of 16-byte UUID keys, -1 where the catalog has none."""
        if self._uuid_positions is None:
            self._uuid_positions = UuidPositions(self.features)
        return self._uuid_positions.of(keys)


class RankerService:
    def __init__(self, db: Database, catalog: Catalog, content: Content, datasets: Datasets,
                 *, default_limit: int = 10, max_limit: int = 100, cache_size: int = 1024,
                 environment: str = "development", snapshots: FeatureSnapshots | None = None,
                 feature_settings: FeatureSettings | None = None) -> None:
        if not 1 <= default_limit <= max_limit:
            raise InvalidArgument(f"default limit {default_limit} is outside 1..{max_limit}")
        self._db = db
        self._catalog = catalog
        self._content = content
        self._datasets = datasets
        self._snapshots = snapshots
        self._feature_settings = feature_settings or FeatureSettings()
        self._rerankers = ActiveRerankers()  # parsed once per activated reranker model
        self.default_limit = default_limit
        self.max_limit = max_limit
        self.environment = environment
        self._snapshot: _Snapshot | None = None
        self._refresh_lock = threading.Lock()
        self._cooc_lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], Result] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._embedding: tuple[ActiveEmbedding | None, float] = (None, float("-inf"))
        self._bundles: BundleWatcher[Bundle] = BundleWatcher(self._load_bundle)

    # --- catalog features ----------------------------------------------------------------

    def refresh_features(self, force: bool = True, rebuild: bool = False
                         ) -> tuple[int, str, float]:
        """Load the catalog features when forced or when the catalog changed: mapped from
        the saved snapshot of this catalog revision if there is one, else built from
        identity (and saved). `rebuild` reads identity and builds whatever is saved (an
        operator's explicit refresh)."""
        with self._refresh_lock:
            stats = self._catalog.stats()
            current = self._snapshot
            if current is not None and not force and not rebuild and current.stats == stats:
                return current.features.size, current.version, 0.0
            started = time.perf_counter()
            features, how = self._load_features(stats, rebuild)
            version = hashlib.sha256(repr(stats).encode()).hexdigest()[:12] + \
                f"-{int(time.time())}"
            snapshot = _Snapshot(features, version, stats)
            # The active co-occurrence table is aligned before the swap, so no request waits
            # for it.
            self._warm(snapshot, self._active_cooccurrence())
            self._snapshot = snapshot
            self.clear_cache()
            seconds = time.perf_counter() - started
            log.info("catalog features: %d resources in %.1fs (%s; version %s)",
                     features.size, seconds, how, version)
            return features.size, version, seconds

    def _load_features(self, stats: tuple[int, ...], rebuild: bool
                       ) -> tuple[CatalogFeatures, str]:
        # Tags derived from a data set count only where governance allows that set.
        allowed = self._datasets.allowed_datasets(self.environment)

        def build() -> CatalogFeatures:
            return CatalogFeatures.build(self._catalog.rows(allowed), self._feature_settings)

        if self._snapshots is None:
            return build(), "built from identity"
        key = snapshot_key(stats, allowed, self._feature_settings)
        features, built = self._snapshots.load_or_build(key, build, rebuild=rebuild)
        return features, ("built from identity, snapshot saved" if built
                          else "mapped from the saved snapshot")

    def ready(self) -> None:
        """SERVING once the catalog features are loaded and the active co-occurrence table
        is aligned with them, so the first request waits for neither."""
        if self._snapshot is None:
            self.refresh_features()
        try:
            bundle = self.bundle()
        except Exception as err:  # nothing active yet, or the embedder still starting
            log.info("no model bundle to warm before serving: %s", err)
            return
        self._warm(self._snapshot, bundle.cooccurrence)
        self._warm_content(bundle.embedding)

    def _warm_content(self, model: ActiveEmbedding | None) -> None:
        """Open (and verify) the model's retrieval artifacts now rather than on the first
        request that needs them (seconds at a million vectors); asking for no vectors does
        exactly that, and costs nothing where content is served remotely."""
        if model is not None:
            self._content.vectors([], model.model_id)

    def _active_cooccurrence(self) -> CooccurrenceModelRecord | None:
        """The co-occurrence model of the bundle in memory (none loaded yet: nothing to
        warm; the first request loads both)."""
        bundle = self._bundles.peek()
        return bundle.cooccurrence if bundle is not None else None

    def _warm(self, snap: _Snapshot | None, model: CooccurrenceModelRecord | None) -> None:
        if snap is not None and model is not None:
            self._cooc_index(snap, model)

    def _features(self) -> _Snapshot:
        if self._snapshot is None:
            raise Unavailable("catalog features are still loading; retry shortly")
        return self._snapshot

    # --- the model bundle ----------------------------------------------------------------

    def bundle(self) -> Bundle:
        """The active bundle: from memory while activations are watched, else from the
        database and the embedder on every call."""
        return self._bundles.current()

    def watch_activations(self, dsn: str, poll_s: float) -> None:
        """Keep the bundle in memory, reloaded when an activation commits (see bundle.py)."""
        self._bundles.start(dsn, poll_s)

    def _load_bundle(self, what: str | None) -> Bundle:
        with self._db.read() as session:
            config_id, cooc_id = repo.active_ids(session)
            if config_id is None:
                raise FailedPrecondition("no ranking weight config is active")
            config = repo.weight_config(session, config_id)
            cooc = repo.cooccurrence_model(session, cooc_id) if cooc_id else None
            cf = repo.active_cf_model(session)
            reranker = self._rerankers.active(session)
        assert config is not None
        # Aligned and opened here, in the watcher, before the bundle is swapped in:
        # requests keep the previous bundle meanwhile instead of waiting for a new table or
        # new artifacts.
        self._warm(self._snapshot, cooc)
        bundle_cf = cf if config.w_collaborative > 0 else None
        if self._snapshot is not None and bundle_cf is not None:
            self._collab_index(self._snapshot, bundle_cf)
        embedding = self._active_embedding(what)
        if what in (EVERYTHING, EMBEDDING_TABLE):
            self._warm_content(embedding)
        return Bundle(config, cooc, embedding, bundle_cf, reranker)

    def _active_embedding(self, what: str | None) -> ActiveEmbedding | None:
        """The embedder is asked when its model was announced (or everything is reloaded),
        and otherwise only every EMBEDDING_RECHECK_S: a lost announcement is caught then,
        without a call to another service twice a second."""
        asked_at = self._embedding[1]
        if what in (EVERYTHING, EMBEDDING_TABLE) or \
                time.monotonic() - asked_at > EMBEDDING_RECHECK_S:
            self._embedding = (self._content.active(), time.monotonic())
        return self._embedding[0]

    def _activated(self) -> None:
        """After an activation this process committed: serve it from the next request on
        (other processes hear of it through the activation channel)."""
        self.clear_cache()
        if self._bundles.watching:
            self._bundles.reload()

    def _cooc_index(self, snap: _Snapshot, model: CooccurrenceModelRecord | None
                    ) -> CooccurrenceIndex | None:
        if model is None:
            return None
        if model.id not in snap.cooc:
            # One load per model: concurrent cold requests wait instead of each loading it.
            with self._cooc_lock:
                if model.id not in snap.cooc:
                    started = time.perf_counter()
                    with self._db.read() as session:
                        rows = repo.cooccurrence_arrays(session, model.id)
                    snap.cooc[model.id] = CooccurrenceIndex.from_positions(
                        snap.features, snap.positions(rows.item_a), snap.positions(rows.item_b),
                        rows.co_count, rows.pmi_score)
                    log.info("co-occurrence model %s: %d rows aligned in %.1fs", model.version,
                             len(rows.co_count), time.perf_counter() - started)
        return snap.cooc[model.id]

    def _collab_index(self, snap: _Snapshot, model: CfModelRecord) -> CollaborativeIndex:
        """The CF model's item factors aligned with the catalog, loaded once per model."""
        if model.id not in snap.collab:
            with self._cooc_lock:
                if model.id not in snap.collab:
                    started = time.perf_counter()
                    with self._db.read() as session:
                        ids, matrix = repo.cf_item_factors(session, model.id, model.factors)
                    snap.collab[model.id] = CollaborativeIndex(
                        snap.features, cf_factors(model, ids, matrix))
                    log.info("CF model %s: %d items aligned for the collaborative signal in "
                             "%.1fs", model.version, len(ids), time.perf_counter() - started)
        return snap.collab[model.id]

    # --- recommending --------------------------------------------------------------------

    def recommend(self, query: Query, mode: str = "hybrid") -> Result:
        if mode not in MODES:
            raise InvalidArgument(f"mode {mode!r} is not one of {', '.join(MODES)}")
        limit = self._limit(query.limit)
        types = self._types(query.resource_types)
        snap = self._features()
        seeds = self._query_seeds(snap.features, query)
        exclude = self._exclude_ids(snap.features, query.exclude)
        bundle = self.bundle()
        # Seeds in request order: the response lists them so, and a hit must too.
        weights = dict(query.seed_weights)
        key = (mode, seeds, tuple(sorted(exclude)), limit, types, bundle.key, snap.version,
               query.seed_weights)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return replace(hit, cached=True)
        result = self._compute(snap, bundle, seeds, exclude, limit, types, mode, weights)
        with self._cache_lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def _compute(self, snap: _Snapshot, bundle: Bundle, seeds: tuple[str, ...],
                 exclude: tuple[str, ...], limit: int, types: tuple[str, ...],
                 mode: str, weights: dict[str, float] | None = None) -> Result:
        named = self._named(snap.features, seeds)
        if mode == "hybrid" and bundle.reranker is not None:
            first, reordered = self._reranked(snap, bundle, seeds, exclude, types, weights)
            kept = reordered.explained(reordered.items[:limit])
            by_score = sorted(kept, key=lambda i: -i.final_score)   # stable: ties keep order
            return Result(replace(first, items=tuple(by_score)), bundle, named,
                          reranker=bundle.reranker.version)
        config, signals = self._signal_inputs(snap, bundle, seeds, exclude, mode, weights)
        rec = recommend(snap.features, seeds, config, out_types=types, exclude_ids=exclude,
                        limit=limit, **signals)
        return Result(rec, bundle, named)

    def _reranked(self, snap: _Snapshot, bundle: Bundle, seeds: tuple[str, ...],
                  exclude: tuple[str, ...], types: tuple[str, ...],
                  weights: dict[str, float] | None) -> tuple[Recommendation, Reordered]:
        """The hybrid's shortlist by relevance (no MMR, see serving/rerank.py), each item
        with its rules' raw points for the features, reordered by the active reranker;
        nothing explained yet."""
        assert bundle.reranker is not None
        second = bundle.reranker.artifact
        config, signals = self._signal_inputs(snap, bundle, seeds, exclude, "hybrid", weights)
        short = shortlist(snap.features, seeds, config, size=second.candidates,
                          out_types=types, exclude_ids=exclude, with_rules=True, **signals)
        first = short.recommendation()
        seed_types = [snap.features.type_of(snap.features.lookup(s)) for s in seeds]
        return first, second.reranker.reorder(first, seed_types, second.listeners,
                                               explain=short.explained)

    def shortlist(self, query: Query) -> FirstStage:
        """The hybrid's best `query.limit` (up to SHORTLIST_MAX) candidates by relevance, for
        a caller that picks and diversifies them itself (core/hybrid.py `shortlist`); only
        the items it serves get explained. With a reranker active they are the reranker's
        candidates in its order (at most as many as it reranks), explained by it likewise."""
        if not 1 <= query.limit <= SHORTLIST_MAX:
            raise InvalidArgument(f"shortlist size {query.limit} is outside 1..{SHORTLIST_MAX}")
        limit = query.limit
        types = self._types(query.resource_types)
        snap = self._features()
        seeds = self._query_seeds(snap.features, query)
        exclude = self._exclude_ids(snap.features, query.exclude)
        bundle = self.bundle()
        weights = dict(query.seed_weights)
        if bundle.reranker is not None:
            _, reordered = self._reranked(snap, bundle, seeds, exclude, types, weights)
            return FirstStage(reordered.by_relevance()[:limit], bundle,
                              self._named(snap.features, seeds), reordered.explained,
                              bundle.reranker.version)
        config, signals = self._signal_inputs(snap, bundle, seeds, exclude, "hybrid", weights)
        short = shortlist(snap.features, seeds, config, size=limit, out_types=types,
                          exclude_ids=exclude, **signals)
        return FirstStage(short.items, bundle, self._named(snap.features, seeds),
                          short.explained)

    def _signal_inputs(self, snap: _Snapshot, bundle: Bundle, seeds: tuple[str, ...],
                       exclude: tuple[str, ...], mode: str,
                       weights: dict[str, float] | None) -> tuple[WeightConfig, _Signals]:
        """The weight config a mode ranks with, and the models and content candidates its
        signals read (keyword arguments of core/hybrid.py `recommend` and `shortlist`)."""
        wc = bundle.weight_config
        config = WeightConfig(str(wc.id), wc.w_content, wc.w_metadata, wc.w_cooccurrence,
                              wc.lambda_mmr, wc.w_collaborative if bundle.uses_cf else 0.0)
        if mode != "hybrid":
            config = WeightConfig.single_signal(mode, lambda_mmr=1.0)
        collab = self._collab_index(snap, bundle.cf) \
            if mode == "hybrid" and bundle.uses_cf and bundle.cf is not None else None
        use = {s: mode in ("hybrid", s) for s in ("content", "metadata", "cooccurrence")}
        cooc = self._cooc_index(snap, bundle.cooccurrence) if use["cooccurrence"] else None
        seed_vectors: dict[str, np.ndarray] = {}
        candidates: Candidates | None = None
        if use["content"] and bundle.embedding is not None:
            seed_vectors, candidates = self._content_inputs(snap.features, bundle.embedding,
                                                            seeds, exclude, weights)
        return config, _Signals(
            cooccurrence=cooc, seed_vectors=seed_vectors or None,
            candidate_ids=candidates.ids if candidates else (),
            candidate_vectors=candidates.vectors if candidates else None,
            seed_weights=weights or None, collaborative_index=collab)

    @staticmethod
    def _named(features: CatalogFeatures, seeds: Sequence[str]
               ) -> tuple[tuple[str, str, str], ...]:
        return tuple((features.type_of(features.lookup(s)), s,
                      str(features.names[features.lookup(s)])) for s in seeds)

    def _content_inputs(self, features: CatalogFeatures, model: ActiveEmbedding,
                        seeds: Sequence[str], exclude: Sequence[str],
                        weights: dict[str, float] | None = None
                        ) -> tuple[dict[str, np.ndarray], Candidates | None]:
        tracks = {s: _spread(features.track_ids_of(s), SEED_TRACKS_CAP) for s in seeds}
        vectors = self._content.vectors(sorted({t for ts in tracks.values() for t in ts}),
                                        model.model_id)
        seed_vectors = {s: np.stack([vectors[t] for t in ts if t in vectors])
                        for s, ts in tracks.items() if any(t in vectors for t in ts)}
        if not seed_vectors:
            return {}, None
        seed_set = features.expand_seeds(list(seeds))
        query = content_query(seed_set, seed_vectors,
                              seed_weight_array(seed_set, weights) if weights else None)
        if query is None:
            return {}, None
        candidates = self._content.neighbors(query.vector, CONTENT_POOL, model.model_id,
                                             [*seeds, *exclude])
        return seed_vectors, candidates

    def item_details(self, item_id: str) -> ItemDetails:
        """Artists, release, duration and year of an item, from the catalog snapshot."""
        snap = self._snapshot
        return snap.features.details(item_id) if snap is not None else ItemDetails()

    def catalog(self) -> CatalogFeatures:
        """The current catalog features (Unavailable while they load)."""
        return self._features().features

    @property
    def content(self) -> Content:
        """The content-vector source the content signal uses (mixes and taste share it)."""
        return self._content

    def limit(self, requested: int) -> int:
        return self._limit(requested)

    def cooccurrence_index(self, bundle: Bundle) -> CooccurrenceIndex | None:
        """The bundle's co-occurrence table aligned with the current catalog features
        (loaded once per model, as requests load it)."""
        return self._cooc_index(self._features(), bundle.cooccurrence)

    def resolve_refs(self, features: CatalogFeatures, refs: Sequence[str]) -> dict[str, str]:
        """ref -> catalog juke_id for the refs that name one (juke_ids and Juke URIs from
        the snapshot, other forms through identity); the others are left out."""
        return self._resolve_refs(features, refs)

    def seed_ids(self, features: CatalogFeatures, refs: Sequence[str]) -> tuple[str, ...]:
        return self._seed_ids(features, refs)

    def _limit(self, requested: int) -> int:
        limit = requested or self.default_limit
        if not 1 <= limit <= self.max_limit:
            raise InvalidArgument(f"limit {requested} is outside 1..{self.max_limit}")
        return limit

    @staticmethod
    def _types(requested: Sequence[str]) -> tuple[str, ...]:
        types = tuple(dict.fromkeys(requested)) or ("track",)
        bad = [t for t in types if t not in RESOURCE_TYPES]
        if bad:
            raise InvalidArgument(f"resource type {bad[0]!r} is not one of "
                                  f"{', '.join(RESOURCE_TYPES)}")
        return types

    def _query_seeds(self, features: CatalogFeatures, query: Query) -> tuple[str, ...]:
        """Explicit seeds, then the profiles' favourites, de-duplicated; the cache key is
        built from these, so a profile edit is a new key."""
        has_seeds = any(s.strip() for s in query.seeds)
        if not has_seeds and not any(p.strip() for p in query.profiles):
            raise InvalidArgument("at least one seed_item_id or profile_id is required")
        explicit = self._seed_ids(features, query.seeds) if has_seeds else ()
        return tuple(dict.fromkeys((*explicit, *self._expand(features, query.profiles))))

    def expand_profiles(self, profile_ids: Sequence[str]) -> tuple[str, ...]:
        """The juke_ids of these taste profiles' favourites that the current catalog features
        hold, in profile then favourite order, without repeats. A malformed id is
        InvalidArgument, an unknown one NotFound, a profile with no favourite in the catalog
        InvalidArgument naming it."""
        return self._expand(self._features().features, profile_ids)

    def _expand(self, features: CatalogFeatures, profile_ids: Sequence[str]
                ) -> tuple[str, ...]:
        wanted = list(dict.fromkeys(p.strip() for p in profile_ids if p.strip()))
        if not wanted:
            return ()
        keys = {}
        for profile_id in wanted:
            key = parse_uuid(profile_id)
            if key is None:
                raise InvalidArgument(f"taste profile id {profile_id!r} is not a UUID")
            keys[profile_id] = key
        with self._db.read() as session:
            favourites = repo.taste_profile_favourites(session, list(keys.values()))
        unknown = [p for p, key in keys.items() if key not in favourites]
        if unknown:
            raise NotFound(f"unknown taste profiles: {', '.join(map(repr, unknown))}")
        known = features.index
        seeds: list[str] = []
        for profile_id, key in keys.items():
            present = [juke_id for juke_id in favourites[key] if juke_id in known]
            if not present:
                raise InvalidArgument(f"taste profile {profile_id!r} has no favourite in the "
                                      "current catalog")
            seeds += present
        return tuple(dict.fromkeys(seeds))

    def _seed_ids(self, features: CatalogFeatures, refs: Sequence[str]) -> tuple[str, ...]:
        """Seeds as catalog juke_ids; unknown or unresolvable seeds are named in one error."""
        cleaned = [r.strip() for r in refs if r.strip()]
        if not cleaned:
            raise InvalidArgument("at least one seed_item_id is required")
        found = self._resolve_refs(features, cleaned)
        bad = [ref for ref in cleaned if ref not in found]
        if bad:
            raise InvalidArgument(f"unknown or ineligible seeds: {', '.join(map(repr, bad))}")
        return tuple(dict.fromkeys(found[ref] for ref in cleaned))

    def _exclude_ids(self, features: CatalogFeatures, refs: Sequence[str]) -> tuple[str, ...]:
        """Exclusions in any ID form, as juke_ids; one the catalog does not hold cannot be
        recommended anyway, so it is dropped rather than refused."""
        cleaned = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
        found = self._resolve_refs(features, cleaned) if cleaned else {}
        return tuple(dict.fromkeys(found[ref] for ref in cleaned if ref in found))

    def _resolve_refs(self, features: CatalogFeatures, refs: Sequence[str]) -> dict[str, str]:
        """ref -> juke_id held by the catalog features. juke_ids and Juke URIs of them are
        answered from the snapshot; other forms (MBIDs, adapter ids) ask identity."""
        known = features.index  # a dict: membership without copying the catalog
        local = {ref: juke_id for ref in refs
                 if (juke_id := _local_juke_id(ref, features)) is not None}
        remote = [ref for ref in refs if ref not in local]
        resolved = self._catalog.resolve(remote) if remote else {}
        for ref in remote:
            juke_id = resolved.get(ref, (None, ""))[0]
            if juke_id is not None and juke_id in known:
                local[ref] = juke_id
        return local

    # --- configs and models --------------------------------------------------------------

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def list_weight_configs(self) -> list[WeightConfigRecord]:
        with self._db.read() as session:
            return repo.list_weight_configs(session)

    def create_weight_config(self, w_content: float, w_metadata: float, w_cooccurrence: float,
                             lambda_mmr: float, description: str,
                             w_collaborative: float = 0.0) -> WeightConfigRecord:
        weights = {"w_content": w_content, "w_metadata": w_metadata,
                   "w_cooccurrence": w_cooccurrence, "w_collaborative": w_collaborative}
        for name, value in weights.items():
            if not (np.isfinite(value) and value >= 0):
                raise InvalidArgument(f"{name}={value!r} must be a finite number >= 0")
        if sum(weights.values()) <= 0:
            raise InvalidArgument("at least one weight must be positive")
        if not (np.isfinite(lambda_mmr) and 0 <= lambda_mmr <= 1):
            raise InvalidArgument(f"lambda_mmr={lambda_mmr!r} must be within 0..1")
        with self._db.transaction() as session:
            return repo.create_weight_config(session, {**weights, "lambda_mmr": lambda_mmr,
                                                       "description": description})

    def activate_weight_config(self, config_id: str
                               ) -> tuple[WeightConfigRecord, uuid.UUID | None]:
        key = parse_uuid(config_id)
        if key is None:
            raise InvalidArgument(f"weight config id {config_id!r} is not a UUID")
        with self._db.transaction() as session:
            if repo.weight_config(session, key) is None:
                raise NotFound(f"no weight config {config_id!r}")
            previous = model_registry.activate_weight_config(session, key)
            config = repo.weight_config(session, key)
        self._activated()
        assert config is not None
        return config, previous

    def list_cooccurrence_models(self) -> list[CooccurrenceModelRecord]:
        with self._db.read() as session:
            return repo.list_cooccurrence_models(session)

    def activate_cooccurrence_model(self, model_id: str
                                    ) -> tuple[CooccurrenceModelRecord, uuid.UUID | None]:
        key = parse_uuid(model_id)
        if key is None:
            raise InvalidArgument(f"co-occurrence model id {model_id!r} is not a UUID")
        with self._db.transaction() as session:
            model = repo.cooccurrence_model(session, key)
            if model is None:
                raise NotFound(f"no co-occurrence model {model_id!r}")
            if self.environment == "production" and not model.production_allowed:
                raise FailedPrecondition(
                    f"co-occurrence model {model.version} was trained on data that is not "
                    f"production-eligible (training set {model.training_set_hash}); it can "
                    "never be activated in production")
            previous = model_registry.activate_cooccurrence_model(session, key)
        self._activated()
        return replace(model, active=True), previous

    def mark_cooccurrence_known_good(self, model_id: str) -> CooccurrenceModelRecord:
        key = parse_uuid(model_id)
        if key is None:
            raise InvalidArgument(f"co-occurrence model id {model_id!r} is not a UUID")
        with self._db.transaction() as session:
            if repo.cooccurrence_model(session, key) is None:
                raise NotFound(f"no co-occurrence model {model_id!r}")
            model_registry.mark_cooccurrence_known_good(session, key)
            model = repo.cooccurrence_model(session, key)
        assert model is not None
        return model

    def rollback_cooccurrence_model(self) -> tuple[CooccurrenceModelRecord, uuid.UUID | None]:
        """Re-activate the previous known-good co-occurrence model; nothing is deleted."""
        with self._db.transaction() as session:
            rolled_back = model_registry.rollback_cooccurrence_model(session)
        if rolled_back is None:
            raise FailedPrecondition("no previous known-good co-occurrence model to roll back to")
        self._activated()
        return rolled_back

    # --- model health --------------------------------------------------------------------

    def model_metrics(self) -> list[Metric]:
        """Coverage of the eligible corpus by the active embedding, latest evaluations."""
        bundle = self.bundle()
        out: list[Metric] = []
        if bundle.embedding is not None:
            embedded, indexed = self._content.coverage(bundle.embedding.model_id)
            eligible = self._datasets.production_eligible_rows()
            out += [Metric("embedding_coverage", embedded / eligible if eligible else 0.0,
                           bundle.embedding.model_id,
                           {"embedded": embedded, "eligible": eligible, "index": indexed})]
        with self._db.read() as session:
            for model_id in (str(bundle.weight_config.id),
                             str(bundle.cooccurrence.id) if bundle.cooccurrence else ""):
                metrics = repo.latest_evaluation(session, model_id) if model_id else {}
                out += [Metric(f"evaluation:{name}", value, model_id)
                        for name, value in sorted(metrics.items())]
        return out

    def store_health(self, metrics: list[Metric]) -> None:
        with self._db.transaction() as session:
            repo.record_health(session, [(m.name, m.value, m.model_id, m.metadata or {})
                                         for m in metrics])

    def latest_health(self) -> list[repo.HealthRecord]:
        with self._db.read() as session:
            return repo.latest_health(session)


def cf_factors(model: CfModelRecord, ids: np.ndarray, matrix: np.ndarray) -> CfFactors:
    """A stored CF model's factors with the config and typical weight it was trained with."""
    known = set(CfConfig.__dataclass_fields__)
    config = CfConfig(**{k: v for k, v in model.params.items() if k in known})
    return CfFactors(ids, matrix, config,
                     typical_weight=float(model.params.get("typical_weight", 1.0)))


def _local_juke_id(ref: str, features: CatalogFeatures) -> str | None:
    """The catalog juke_id a ref names by itself (a juke_id, or `juke:<type>:<juke_id>` of
    that type), else None (then identity decides)."""
    if ref in features.index:
        return ref
    parts = ref.split(":")
    if len(parts) == 3 and parts[0] == "juke" and parts[2] in features.index and \
            features.type_of(features.index[parts[2]]) == parts[1]:
        return parts[2]
    return None


def _spread(items: Sequence[str], cap: int) -> list[str]:
    """At most `cap` items evenly spaced over all of them: a seed with more tracks than the
    cap is stood for by its whole catalogue, not by the tracks whose ids sort first."""
    if len(items) <= cap:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, cap).round().astype(int)]
