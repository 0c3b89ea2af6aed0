"""Playlists in the ranker schema: a user's named, ordered list of track juke_ids.

The repository owns its transactions (one per call); what a playlist holds is decided by the
domain service, which hands it plain values. Item edits run under a row lock on the
playlist, so two concurrent edits of one playlist apply one after the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, delete, func, insert, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.ids import parse_uuid, uuid7
from services.ranker.store.models import Playlist, PlaylistItem


@dataclass(frozen=True)
class PlaylistRecord:
    id: str                      # UUID string
    user_id: str
    name: str
    description: str
    track_ids: tuple[str, ...]   # identity juke_ids (UUID strings), in playlist order
    created_at: datetime
    updated_at: datetime


# The track ids a playlist has -> the ones it should have (a pure function of the domain).
ItemEdit = Callable[[tuple[str, ...]], Sequence[str]]


class PlaylistRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- read side ---------------------------------------------------------------------

    def get(self, playlist_id: str) -> PlaylistRecord | None:
        """None when there is no such playlist (or `playlist_id` is not a UUID)."""
        key = parse_uuid(playlist_id)
        if key is None:
            return None
        # One round trip (the playlist with its ordered tracks): continuation reads it on
        # every request.
        tracks = func.array_agg(aggregate_order_by(PlaylistItem.track_id.cast(Text),
                                                   PlaylistItem.position))
        stmt = (select(Playlist.id, Playlist.user_id, Playlist.name, Playlist.description,
                       Playlist.created_at, Playlist.updated_at,
                       tracks.filter(PlaylistItem.track_id.is_not(None)))
                .outerjoin(PlaylistItem, PlaylistItem.playlist_id == Playlist.id)
                .where(Playlist.id == key).group_by(Playlist.id))
        with self._db.read() as session:
            row = session.execute(stmt).first()
        if row is None:
            return None
        pid, user_id, name, description, created, updated, track_ids = row
        return PlaylistRecord(str(pid), user_id, name, description, tuple(track_ids or ()),
                              created, updated)

    def list_for_user(self, user_id: str) -> list[PlaylistRecord]:
        """The user's playlists, oldest first."""
        with self._db.read() as session:
            rows = session.scalars(select(Playlist).where(Playlist.user_id == user_id)
                                   .order_by(Playlist.created_at, Playlist.id))
            return _records(session, list(rows))

    def all_ids(self) -> list[str]:
        with self._db.read() as session:
            return list(session.scalars(select(Playlist.id.cast(Text)).order_by(Playlist.id)))

    def find_by_source(self, user_id: str, source_key: str) -> PlaylistRecord | None:
        """The user's playlist imported under `source_key`, if any."""
        with self._db.read() as session:
            row = session.scalars(select(Playlist).where(
                Playlist.user_id == user_id, Playlist.source_key == source_key)).first()
            return _records(session, [row])[0] if row else None

    # --- write side --------------------------------------------------------------------

    def create(self, user_id: str, name: str, description: str, track_ids: Sequence[str],
               source_key: str | None = None) -> tuple[PlaylistRecord, bool]:
        """The new playlist and True; with a `source_key` the user already imported, that
        playlist as it is and False (nothing is written)."""
        with self._db.transaction() as session:
            new_id = uuid7()
            inserted = session.execute(
                pg_insert(Playlist)
                .values(id=new_id, user_id=user_id, name=name, description=description,
                        source_key=source_key)
                .on_conflict_do_nothing(index_elements=["user_id", "source_key"],
                                        index_where=Playlist.source_key.isnot(None))
                .returning(Playlist.id)).first()
            if inserted is None:
                row = session.scalars(select(Playlist).where(
                    Playlist.user_id == user_id, Playlist.source_key == source_key)).one()
                return _records(session, [row])[0], False
            _write_items(session, new_id, track_ids)
            row = session.get_one(Playlist, new_id)
            return _records(session, [row])[0], True

    def update(self, playlist_id: str, name: str | None, description: str | None,
               track_ids: Sequence[str] | None) -> PlaylistRecord | None:
        """None leaves that part as it is; track_ids, when given, replace the items. None
        when there is no such playlist."""
        def replace(current: tuple[str, ...]) -> Sequence[str]:
            return current if track_ids is None else track_ids
        return self._change(playlist_id, name, description, replace)

    def edit_items(self, playlist_id: str, edit: ItemEdit) -> PlaylistRecord | None:
        """Apply `edit` to the items under a lock on the playlist; None when there is none.
        An exception from `edit` writes nothing."""
        return self._change(playlist_id, None, None, edit)

    def delete(self, playlist_id: str) -> bool:
        """The playlist and (cascade) its items; False when there was none."""
        key = parse_uuid(playlist_id)
        if key is None:
            return False
        with self._db.transaction() as session:
            deleted = session.execute(delete(Playlist).where(Playlist.id == key)
                                      .returning(Playlist.id)).first()
            return deleted is not None

    def _change(self, playlist_id: str, name: str | None, description: str | None,
                edit: ItemEdit) -> PlaylistRecord | None:
        key = parse_uuid(playlist_id)
        if key is None:
            return None
        with self._db.transaction() as session:
            row = session.get(Playlist, key, with_for_update=True)
            if row is None:
                return None
            current = _item_rows(session, [key])[key]
            wanted = tuple(edit(current))
            if name is not None:
                row.name = name
            if description is not None:
                row.description = description
            row.updated_at = func.now()  # type: ignore[assignment]
            if wanted != current:
                session.execute(delete(PlaylistItem).where(PlaylistItem.playlist_id == key))
                _write_items(session, key, wanted)
            session.flush()
            session.refresh(row)
            return _records(session, [row])[0]


def _item_rows(session: Session, playlist_ids: list[uuid.UUID]
               ) -> dict[uuid.UUID, tuple[str, ...]]:
    """Each playlist's track ids in position order, one query for all."""
    out: dict[uuid.UUID, list[str]] = {p: [] for p in playlist_ids}
    if playlist_ids:
        stmt = (select(PlaylistItem.playlist_id, PlaylistItem.track_id.cast(Text))
                .where(PlaylistItem.playlist_id.in_(playlist_ids))
                .order_by(PlaylistItem.playlist_id, PlaylistItem.position))
        for playlist_id, track_id in session.execute(stmt):
            out[playlist_id].append(track_id)
    return {p: tuple(ids) for p, ids in out.items()}


def _records(session: Session, rows: list[Playlist]) -> list[PlaylistRecord]:
    items = _item_rows(session, [r.id for r in rows])
    return [PlaylistRecord(str(r.id), r.user_id, r.name, r.description, items[r.id],
                           r.created_at, r.updated_at) for r in rows]


def _write_items(session: Session, playlist_id: uuid.UUID, track_ids: Sequence[str]) -> None:
    if track_ids:
        session.execute(insert(PlaylistItem), [
            {"playlist_id": playlist_id, "position": position, "track_id": uuid.UUID(track_id)}
            for position, track_id in enumerate(track_ids)])
