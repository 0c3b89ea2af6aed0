"""Playlist profiles and match results in the ranker schema: written once, read by key.

Both are immutable (the migration's trigger refuses an UPDATE): a profile is keyed by its
content hash, a match by the hashes of everything it was computed from. `add` inserts with
ON CONFLICT DO NOTHING, so two processes computing the same thing at once both succeed and
the first row stays.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.common.db import Database
from services.common.ids import uuid7
from services.ranker.store.models import Playlist
from services.ranker.store.playlist_scoring_models import PlaylistMatchRow, PlaylistProfileRow

Weights = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ProfileRecord:
    hash: str
    track_ids: tuple[str, ...]
    bundle_hash: str
    model_version: str
    algorithm_version: str
    centroid: np.ndarray | None     # float32
    tags: Weights
    artists: Weights
    cooccurrence: Weights
    moods: Weights
    members: int
    with_vectors: int


@dataclass(frozen=True)
class MatchKey:
    kind: str                       # tracks | playlists
    profile_hash: str
    candidate_set_hash: str
    bundle_hash: str
    config_hash: str
    algorithm_version: str


@dataclass(frozen=True)
class MatchRecord:
    id: str
    key: MatchKey
    subject_id: str
    candidates: tuple[str, ...]
    result: dict[str, Any]
    created_at: datetime


class PlaylistProfileStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, profile_hash: str) -> ProfileRecord | None:
        with self._db.read() as session:
            row = session.get(PlaylistProfileRow, profile_hash)
            return _profile(row) if row is not None else None

    def existing(self, hashes: Sequence[str]) -> set[str]:
        """Which of these profile hashes are stored."""
        if not hashes:
            return set()
        with self._db.read() as session:
            return set(session.scalars(select(PlaylistProfileRow.hash)
                                       .where(PlaylistProfileRow.hash.in_(list(hashes)))))

    def count_for_bundle(self, bundle_hash: str) -> int:
        with self._db.read() as session:
            return int(session.scalar(select(func.count()).select_from(PlaylistProfileRow)
                                      .where(PlaylistProfileRow.bundle_hash == bundle_hash))
                       or 0)

    def add(self, record: ProfileRecord) -> bool:
        """True when this call stored it, False when it was there already."""
        values = {
            "hash": record.hash, "track_ids": [uuid.UUID(t) for t in record.track_ids],
            "bundle_hash": record.bundle_hash, "model_version": record.model_version,
            "algorithm_version": record.algorithm_version,
            "centroid": (np.ascontiguousarray(record.centroid, dtype="<f4").tobytes()
                         if record.centroid is not None else None),
            "tags": [list(p) for p in record.tags],
            "artists": [list(p) for p in record.artists],
            "cooccurrence": [list(p) for p in record.cooccurrence],
            "moods": [list(p) for p in record.moods],
            "members": record.members, "with_vectors": record.with_vectors,
        }
        with self._db.transaction() as session:
            inserted = session.execute(
                pg_insert(PlaylistProfileRow).values(**values)
                .on_conflict_do_nothing(index_elements=["hash"])
                .returning(PlaylistProfileRow.hash)).first()
        return inserted is not None


class PlaylistMatchStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: MatchKey) -> MatchRecord | None:
        with self._db.read() as session:
            row = session.scalars(select(PlaylistMatchRow).where(
                PlaylistMatchRow.kind == key.kind,
                PlaylistMatchRow.profile_hash == key.profile_hash,
                PlaylistMatchRow.candidate_set_hash == key.candidate_set_hash,
                PlaylistMatchRow.bundle_hash == key.bundle_hash,
                PlaylistMatchRow.config_hash == key.config_hash,
                PlaylistMatchRow.algorithm_version == key.algorithm_version)).first()
            return _match(row) if row is not None else None

    def add(self, key: MatchKey, subject_id: str, candidates: Sequence[str],
            result: dict[str, Any]) -> MatchRecord:
        """The stored match under `key`: this one, or the one a concurrent call stored."""
        with self._db.transaction() as session:
            session.execute(pg_insert(PlaylistMatchRow).values(
                id=uuid7(), kind=key.kind, profile_hash=key.profile_hash,
                candidate_set_hash=key.candidate_set_hash, bundle_hash=key.bundle_hash,
                config_hash=key.config_hash, algorithm_version=key.algorithm_version,
                subject_id=subject_id, candidates=list(candidates), result=result,
            ).on_conflict_do_nothing(constraint="uq_playlist_match_key"))
        stored = self.get(key)
        assert stored is not None
        return stored

    def count(self) -> int:
        with self._db.read() as session:
            return int(session.scalar(select(func.count()).select_from(PlaylistMatchRow))
                       or 0)


def playlist_ids_after(db: Database, after_id: str, limit: int) -> list[str]:
    """The next `limit` playlist ids (as text) greater than `after_id` ("" : from the first),
    in id order: the profile backfill's cursor."""
    query = select(Playlist.id).order_by(Playlist.id).limit(limit)
    if after_id:
        query = query.where(Playlist.id > uuid.UUID(after_id))
    with db.read() as session:
        return [str(i) for i in session.scalars(query)]


def _weights(value: list[Any]) -> Weights:
    return tuple((str(name), float(weight)) for name, weight in value)


def _profile(row: PlaylistProfileRow) -> ProfileRecord:
    return ProfileRecord(
        hash=row.hash, track_ids=tuple(str(t) for t in row.track_ids),
        bundle_hash=row.bundle_hash, model_version=row.model_version,
        algorithm_version=row.algorithm_version,
        centroid=(np.frombuffer(row.centroid, dtype="<f4").copy()
                  if row.centroid is not None else None),
        tags=_weights(row.tags), artists=_weights(row.artists),
        cooccurrence=_weights(row.cooccurrence), moods=_weights(row.moods),
        members=row.members, with_vectors=row.with_vectors)


def _match(row: PlaylistMatchRow) -> MatchRecord:
    return MatchRecord(
        id=str(row.id),
        key=MatchKey(row.kind, row.profile_hash, row.candidate_set_hash, row.bundle_hash,
                     row.config_hash, row.algorithm_version),
        subject_id=row.subject_id, candidates=tuple(row.candidates), result=dict(row.result),
        created_at=row.created_at)
