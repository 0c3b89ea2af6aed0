"""Playlist scoring: profiles, continuation and matching over stored playlists. No gRPC.

Profiles (profile.py) are built on demand, the first time a (membership, bundle, item
embeddings) combination is asked for, and stored under their hash; the backfill workflow
builds them ahead for a new bundle. A request recomputes only the hash (the members' vectors
are read from the local artifacts, no embedding is computed).

Continuation seeds the production hybrid with the playlist's position-weighted tracks
(continuation.py), excludes every track of the playlist, takes the hybrid's shortlist (its
best candidates by relevance, unexplained: `RankerService.shortlist`) and picks the page
with the radio's artist limiter and MMR, the playlist's last tracks counting as already
played (personal/radio_page.py); only the served items are then explained. When that cannot
fill the page (a playlist of few artists blocks them from the start), the limiter counts
only the continuation's own tracks, and only then is the hybrid asked for a wider pool.

Matching. A match is keyed by (the profile hash, the candidate set hash, the bundle hash, the
fit config hash, the fit algorithm version): the candidate set hash covers the candidates'
ids and their content vectors, so a stored result is returned (`cached`) exactly when
nothing it was computed from changed, and a repeat costs no embedding and no scoring, only
the hashes. Hits and misses are counted (`cache_counts`, and `on_cache` for the metrics).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import ScoredItem
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.personal.radio_page import (
    HYBRID,
    ArtistLimit,
    Candidate,
    artist_columns,
    artist_columns_of,
    choose_page,
)
from services.ranker.personal.user_ids import check_user_id
from services.ranker.playlists.continuation import continuation_seeds
from services.ranker.playlists.fit import FIT_VERSION, Fit, FitWeights, SignalFit, fit_tracks
from services.ranker.playlists.profile import (
    PROFILE_VERSION,
    ProfileContent,
    build_profile,
    bundle_hash,
    members,
    profile_hash,
    vector_digest,
)
from services.ranker.serving.content import Content
from services.ranker.serving.service import Bundle, FirstStage, Query
from services.ranker.store.playlist_scoring import (
    MatchKey,
    MatchRecord,
    PlaylistMatchStore,
    PlaylistProfileStore,
    ProfileRecord,
)
from services.ranker.store.playlists import PlaylistRecord, PlaylistRepository

MAX_CANDIDATES = 500
# Per requested track: the hybrid's shortlist (unexplained candidates cost little, and a
# long one seldom leaves the limiter short), the wider one asked once when it does, and the
# candidates the limiter and MMR choose the page from.
POOL_FACTOR = 20
WIDE_POOL_FACTOR = 100
PAGE_POOL_FACTOR = 5
TRACKS, PLAYLISTS = "tracks", "playlists"


class Ranker(Protocol):
    """What playlist scoring needs of the ranker (RankerService)."""

    def catalog(self) -> CatalogFeatures: ...
    def bundle(self) -> Bundle: ...
    def limit(self, requested: int) -> int: ...
    def shortlist(self, query: Query) -> FirstStage: ...
    def cooccurrence_index(self, bundle: Bundle) -> CooccurrenceIndex | None: ...
    def resolve_refs(self, features: CatalogFeatures, refs: Sequence[str]
                     ) -> dict[str, str]: ...
    @property
    def content(self) -> Content: ...


@dataclass(frozen=True)
class ProfileView:
    record: ProfileRecord
    built: bool                 # computed by this call (else read from the store)


@dataclass(frozen=True)
class Continuation:
    playlist_id: str
    items: tuple[ScoredItem, ...]
    bundle: Bundle
    seeds: tuple[tuple[str, float], ...]    # (track juke_id, weight)
    reranker: str = ""  # the second stage's version where one reranked the candidates

    @property
    def model_version(self) -> str:
        """What every item's `model_version` says: the bundle's, and the reranker's."""
        version = self.bundle.model_version
        return f"{version}+rerank:{self.reranker}" if self.reranker else version


@dataclass(frozen=True)
class TrackFit:
    track_id: str
    name: str
    score: float
    signals: tuple[SignalFit, ...]


@dataclass(frozen=True)
class PlaylistFit:
    playlist_id: str
    name: str
    profile_hash: str
    score: float
    signals: tuple[SignalFit, ...]


@dataclass(frozen=True)
class MatchOutcome:
    match_id: str
    key: MatchKey
    model_version: str
    bundle: Bundle              # the active bundle; its hash is the key's bundle_hash
    cached: bool
    tracks: tuple[TrackFit, ...] = ()          # MatchTracks: best fit first
    playlists: tuple[PlaylistFit, ...] = ()    # MatchPlaylists: best fit first
    track_id: str = ""                         # MatchPlaylists: the track matched


@dataclass(frozen=True)
class _Context:
    features: CatalogFeatures
    bundle: Bundle
    bundle_hash: str
    vectors: dict[str, np.ndarray]


def per_artist(features: CatalogFeatures, items: Sequence[ScoredItem], cap: int
               ) -> list[ScoredItem]:
    """`items` (best first) less those after their artist's `cap` best: an item stays while
    each of its artists has fewer than `cap` items kept. A page the artist limiter admits
    never holds more than `cap` of one artist, so the page is chosen among these."""
    counts: dict[int, int] = {}
    kept = []
    for item, artists in zip(items, artist_columns_of(features, [i.id for i in items]),
                             strict=True):
        columns = artists.tolist()
        if all(counts.get(a, 0) < cap for a in columns):
            kept.append(item)
            for a in columns:
                counts[a] = counts.get(a, 0) + 1
    return kept


class PlaylistScoring:
    def __init__(self, ranker: Ranker, playlists: PlaylistRepository,
                 profiles: PlaylistProfileStore, matches: PlaylistMatchStore, *,
                 artist_limit: int = 2, artist_window: int = 10,
                 fit_weights: FitWeights | None = None,
                 on_cache: Callable[[str, bool], None] | None = None) -> None:
        if not 1 <= artist_limit <= artist_window:
            raise InvalidArgument(f"artist_limit {artist_limit} is outside 1..{artist_window}")
        self._ranker = ranker
        self._playlists = playlists
        self._profiles = profiles
        self._matches = matches
        self._limit = ArtistLimit(artist_limit, artist_window)
        self._weights = fit_weights or FitWeights()
        self._on_cache = on_cache
        self.cache_counts = {"hit": 0, "miss": 0}

    # --- profiles -------------------------------------------------------------------------

    def profile(self, playlist_id: str) -> ProfileView:
        record = self._playlist(playlist_id)
        return self._ensure_profile(record, self._context(record.track_ids))

    def _context(self, track_ids: Sequence[str]) -> _Context:
        features = self._ranker.catalog()
        bundle = self._ranker.bundle()
        vectors: dict[str, np.ndarray] = {}
        if bundle.embedding is not None:
            wanted = sorted(set(members(features, track_ids)))
            vectors = self._ranker.content.vectors(wanted, bundle.embedding.model_id) \
                if wanted else {}
        return _Context(features, bundle, bundle_hash(bundle.key), vectors)

    def _hash(self, record: PlaylistRecord, ctx: _Context) -> str:
        return profile_hash(record.track_ids, ctx.bundle_hash, ctx.vectors)

    def _ensure_profile(self, record: PlaylistRecord, ctx: _Context) -> ProfileView:
        key = self._hash(record, ctx)
        stored = self._profiles.get(key)
        if stored is not None:
            return ProfileView(stored, built=False)
        content = build_profile(ctx.features, record.track_ids, ctx.vectors,
                                self._ranker.cooccurrence_index(ctx.bundle))
        built = ProfileRecord(
            hash=key, track_ids=record.track_ids, bundle_hash=ctx.bundle_hash,
            model_version=ctx.bundle.model_version, algorithm_version=PROFILE_VERSION,
            centroid=content.centroid, tags=content.tags, artists=content.artists,
            cooccurrence=content.cooccurrence, moods=content.moods, members=content.members,
            with_vectors=content.with_vectors)
        inserted = self._profiles.add(built)
        return ProfileView(built if inserted else (self._profiles.get(key) or built),
                           built=inserted)

    # --- continuation ---------------------------------------------------------------------

    def continuation(self, playlist_id: str, limit: int = 0) -> Continuation:
        record = self._playlist(playlist_id)
        n = self._ranker.limit(limit)
        features = self._ranker.catalog()
        seeds = continuation_seeds(features, record.track_ids)
        if not seeds:
            raise FailedPrecondition(f"playlist {playlist_id!r} has no track in the catalog "
                                     "to continue from")
        ids = tuple(s for s, _ in seeds)
        exclude = tuple(t for t in dict.fromkeys(record.track_ids) if t in features.index)
        recent = [artist_columns(features, t) for t in record.track_ids[-self._limit.window:]]

        def ask(pool: int) -> FirstStage:
            return self._ranker.shortlist(Query(seeds=ids, exclude=exclude, limit=pool,
                                                resource_types=("track",),
                                                seed_weights=seeds))

        def page_pool(shortlist: FirstStage) -> list[Candidate]:
            kept = per_artist(features, shortlist.items, self._limit.most_in(n))
            return [Candidate(i, HYBRID) for i in kept[:PAGE_POOL_FACTOR * n]]

        first = ask(POOL_FACTOR * n)
        lambda_mmr = first.bundle.weight_config.lambda_mmr
        candidates = page_pool(first)

        def choose(history: list[np.ndarray]) -> list[ScoredItem]:
            return choose_page(features, candidates, history, n, self._limit, lambda_mmr, (),
                               allow_penalised=False)

        picks = choose(recent)
        if len(picks) < n:
            # A playlist of few artists blocks its own artists from the start: then the
            # limiter counts the continuation's own tracks only.
            picks = choose([])
        if len(picks) < n and len(first.items) == POOL_FACTOR * n:
            first = ask(WIDE_POOL_FACTOR * n)       # the wider shortlist holds the first
            candidates = page_pool(first)
            picks = choose([])
        return Continuation(record.id, tuple(first.explained(picks)), first.bundle, seeds,
                            first.reranker)

    # --- matching -------------------------------------------------------------------------

    def match_tracks(self, playlist_id: str, refs: Sequence[str]) -> MatchOutcome:
        record = self._playlist(playlist_id)
        features = self._ranker.catalog()
        candidates = self._tracks(features, refs)
        ctx = self._context((*record.track_ids, *candidates))
        key = MatchKey(TRACKS, self._hash(record, ctx), _candidate_hash(candidates, ctx),
                       ctx.bundle_hash, self._weights.config_hash(), FIT_VERSION)
        stored = self._matches.get(key)
        if stored is not None:
            self._count(TRACKS, hit=True)
            return _tracks_outcome(stored, ctx.bundle, cached=True)
        profile = self._ensure_profile(record, ctx).record
        fits = fit_tracks(features, _content(profile), candidates, ctx.vectors, self._weights)
        ranked = sorted(fits, key=lambda f: -f.score)   # stable: request order breaks ties
        result = {"model_version": ctx.bundle.model_version,
                  "fits": [_fit_json(f, str(features.names[features.index[f.track_id]]))
                           for f in ranked]}
        self._count(TRACKS, hit=False)
        return _tracks_outcome(self._matches.add(key, record.id, candidates, result),
                               ctx.bundle, cached=False)

    def match_playlists(self, user_id: str, ref: str) -> MatchOutcome:
        user = check_user_id(user_id)
        features = self._ranker.catalog()
        (track,) = self._tracks(features, [ref], what="track")
        playlists = self._playlists.list_for_user(user)
        ctx = self._context((*[t for p in playlists for t in p.track_ids], track))
        hashes = {p.id: self._hash(p, ctx) for p in playlists}
        combined = hashlib.sha256("\n".join(
            f"{pid}:{h}" for pid, h in sorted(hashes.items())).encode()).hexdigest()
        key = MatchKey(PLAYLISTS, combined, _candidate_hash([track], ctx), ctx.bundle_hash,
                       self._weights.config_hash(), FIT_VERSION)
        stored = self._matches.get(key)
        if stored is not None:
            self._count(PLAYLISTS, hit=True)
            return _playlists_outcome(stored, ctx.bundle, cached=True)
        rows = []
        for playlist in playlists:
            profile = self._ensure_profile(playlist, ctx).record
            fit = fit_tracks(features, _content(profile), [track], ctx.vectors,
                             self._weights)[0]
            rows.append((playlist, profile.hash, fit))
        rows.sort(key=lambda r: -r[2].score)
        result = {"model_version": ctx.bundle.model_version, "track_id": track,
                  "playlists": [{**_fit_json(f, p.name), "playlist_id": p.id,
                                 "profile_hash": h} for p, h, f in rows]}
        self._count(PLAYLISTS, hit=False)
        return _playlists_outcome(self._matches.add(key, user, [track], result), ctx.bundle,
                                  cached=False)

    # --- helpers --------------------------------------------------------------------------

    def _playlist(self, playlist_id: str) -> PlaylistRecord:
        if parse_uuid(playlist_id.strip()) is None:
            raise InvalidArgument(f"playlist id {playlist_id!r} is not a UUID")
        record = self._playlists.get(playlist_id.strip())
        if record is None:
            raise NotFound(f"no playlist {playlist_id!r}")
        return record

    def _tracks(self, features: CatalogFeatures, refs: Sequence[str],
                what: str = "candidate") -> list[str]:
        cleaned = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
        if not cleaned:
            raise InvalidArgument(f"at least one {what} track is required")
        if len(cleaned) > MAX_CANDIDATES:
            raise InvalidArgument(f"{len(cleaned)} candidate tracks; at most {MAX_CANDIDATES} "
                                  "per call")
        found = self._ranker.resolve_refs(features, cleaned)
        unknown = [r for r in cleaned if r not in found]
        if unknown:
            raise InvalidArgument(f"unknown {what} tracks: {', '.join(map(repr, unknown[:10]))}")
        track_start, track_stop = features.offsets["track"]
        others = [r for r in cleaned if not track_start <= features.index[found[r]] < track_stop]
        if others:
            raise InvalidArgument(
                "only tracks can be matched; not tracks: " + ", ".join(
                    f"{r!r} ({features.type_of(features.index[found[r]])})" for r in others[:10]))
        return list(dict.fromkeys(found[r] for r in cleaned))

    def _count(self, kind: str, hit: bool) -> None:
        self.cache_counts["hit" if hit else "miss"] += 1
        if self._on_cache is not None:
            self._on_cache(kind, hit)


def _candidate_hash(candidates: Sequence[str], ctx: _Context) -> str:
    """The candidate set (order does not matter) with each candidate's content vector."""
    digest = hashlib.sha256(b"playlist-match-candidates-v1\n")
    for track in sorted(set(candidates)):
        digest.update(f"{track}\x1f{vector_digest(ctx.vectors.get(track))}\x1e".encode())
    return digest.hexdigest()


def _content(record: ProfileRecord) -> ProfileContent:
    return ProfileContent(record.centroid, record.tags, record.artists, record.cooccurrence,
                          record.moods, record.members, record.with_vectors)


def _fit_json(fit: Fit, name: str) -> dict[str, Any]:
    return {"track_id": fit.track_id, "name": name, "score": fit.score,
            "signals": [asdict(s) for s in fit.signals]}


def _signals(values: Sequence[Mapping[str, Any]]) -> tuple[SignalFit, ...]:
    return tuple(SignalFit(**v) for v in values)


def _tracks_outcome(stored: MatchRecord, bundle: Bundle, cached: bool) -> MatchOutcome:
    fits = tuple(TrackFit(f["track_id"], f["name"], float(f["score"]), _signals(f["signals"]))
                 for f in stored.result["fits"])
    return MatchOutcome(stored.id, stored.key, stored.result["model_version"], bundle, cached,
                        tracks=fits)


def _playlists_outcome(stored: MatchRecord, bundle: Bundle, cached: bool) -> MatchOutcome:
    rows = tuple(PlaylistFit(p["playlist_id"], p["name"], p["profile_hash"], float(p["score"]),
                             _signals(p["signals"]))
                 for p in stored.result["playlists"])
    return MatchOutcome(stored.id, stored.key, stored.result["model_version"], bundle, cached,
                        playlists=rows, track_id=stored.result["track_id"])
