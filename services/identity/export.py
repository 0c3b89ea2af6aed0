"""The whole catalog in bulk, columnar, one resource type and id range at a time.

What a reader that loads every resource (the ranker's catalog features) needs, read with
one query per relation and chunk (ids as text, no ORM object per row), instead of a page of
full resource views per call. A chunk is the next `limit` resources of a type after a
juke_id; its relations are read by the same id range (and type, for the tables shared by
all types), so no id list is sent to the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, and_, select
from sqlalchemy.orm import Session

from services.identity.models import (
    RESOURCE_MODELS,
    AlbumArtist,
    ResourceGenre,
    ResourceTag,
    TrackArtist,
    TrackWork,
)

ARTIST_LINKS: dict[str, Any] = {"album": (AlbumArtist, AlbumArtist.album_juke_id),
                                "track": (TrackArtist, TrackArtist.track_juke_id)}
# Per-resource columns, and each relation's columns with its `*_of` column first.
PER_RESOURCE = ("juke_ids", "names", "duration_ms", "release_dates", "album_ids")
RELATIONS = (("artist_of", "artist_ids"), ("work_of", "work_mbids"),
             ("genre_of", "genre_ids"),
             ("tag_of", "tag_names", "tag_sources", "tag_weights", "tag_datasets"))


@dataclass
class CatalogChunk:
    """Parallel lists: `*_of` holds the position of the owning resource in `juke_ids`."""

    type: str
    juke_ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    duration_ms: list[int] = field(default_factory=list)      # tracks
    release_dates: list[str] = field(default_factory=list)    # albums
    album_ids: list[str] = field(default_factory=list)        # tracks ("" without one)
    artist_of: list[int] = field(default_factory=list)
    artist_ids: list[str] = field(default_factory=list)
    work_of: list[int] = field(default_factory=list)
    work_mbids: list[str] = field(default_factory=list)
    genre_of: list[int] = field(default_factory=list)
    genre_ids: list[str] = field(default_factory=list)
    tag_of: list[int] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)
    tag_sources: list[str] = field(default_factory=list)
    tag_weights: list[float] = field(default_factory=list)
    tag_datasets: list[str] = field(default_factory=list)


def halves(chunk: CatalogChunk) -> tuple[CatalogChunk, CatalogChunk]:
    """The chunk split at its middle resource, each relation going with its owner (for a
    chunk too large for one message: resources with many tags make chunks of the same
    count differ in size by orders of magnitude)."""
    middle = len(chunk.juke_ids) // 2
    first, second = CatalogChunk(chunk.type), CatalogChunk(chunk.type)
    for name in PER_RESOURCE:
        values = getattr(chunk, name)
        setattr(first, name, values[:middle])
        setattr(second, name, values[middle:])
    for of_name, *columns in RELATIONS:
        owners = getattr(chunk, of_name)
        cut = sum(1 for owner in owners if owner < middle)  # relations are in owner order
        setattr(first, of_name, owners[:cut])
        setattr(second, of_name, [owner - middle for owner in owners[cut:]])
        for name in columns:
            values = getattr(chunk, name)
            setattr(first, name, values[:cut])
            setattr(second, name, values[cut:])
    return first, second


def chunks(session: Session, rtype: str, limit: int) -> Iterator[CatalogChunk]:
    """Every resource of `rtype` in juke_id order, `limit` a chunk."""
    after: str | None = None
    while True:
        chunk = _chunk(session, rtype, after, limit)
        if not chunk.juke_ids:
            return
        yield chunk
        if len(chunk.juke_ids) < limit:
            return
        after = chunk.juke_ids[-1]


def _chunk(session: Session, rtype: str, after: str | None, limit: int) -> CatalogChunk:
    model: Any = RESOURCE_MODELS[rtype]
    columns = [model.juke_id.cast(Text), model.name]
    if rtype == "track":
        columns += [model.duration_ms, model.album_juke_id.cast(Text)]
    if rtype == "album":
        columns += [model.release_date]
    stmt = select(*columns).order_by(model.juke_id).limit(limit)
    if after is not None:
        stmt = stmt.where(model.juke_id > uuid.UUID(after))
    rows = session.execute(stmt).all()
    chunk = CatalogChunk(rtype)
    if not rows:
        return chunk
    chunk.juke_ids = [r[0] for r in rows]
    chunk.names = [r[1] for r in rows]
    if rtype == "track":
        chunk.duration_ms = [int(r[2] or 0) for r in rows]
        chunk.album_ids = [r[3] or "" for r in rows]
    if rtype == "album":
        chunk.release_dates = [r[2] or "" for r in rows]
    position = {juke_id: k for k, juke_id in enumerate(chunk.juke_ids)}
    span = (uuid.UUID(chunk.juke_ids[0]), uuid.UUID(chunk.juke_ids[-1]))
    _relations(session, rtype, span, position, chunk)
    return chunk


def _in_span(column: Any, span: tuple[uuid.UUID, uuid.UUID]) -> Any:
    return and_(column >= span[0], column <= span[1])


def _relations(session: Session, rtype: str, span: tuple[uuid.UUID, uuid.UUID],
               position: dict[str, int], chunk: CatalogChunk) -> None:
    if rtype in ARTIST_LINKS:
        link, owner = ARTIST_LINKS[rtype]
        stmt = (select(owner.cast(Text), link.artist_juke_id.cast(Text))
                .where(_in_span(owner, span)).order_by(owner, link.position))
        for of, artist in session.execute(stmt):
            chunk.artist_of.append(position[of])
            chunk.artist_ids.append(artist)
    if rtype == "track":
        stmt = (select(TrackWork.track_juke_id.cast(Text), TrackWork.work_mbid.cast(Text))
                .where(_in_span(TrackWork.track_juke_id, span))
                .order_by(TrackWork.track_juke_id, TrackWork.work_mbid))
        for of, work in session.execute(stmt):
            chunk.work_of.append(position[of])
            chunk.work_mbids.append(work)
    if rtype != "genre":
        stmt = (select(ResourceGenre.resource_juke_id.cast(Text),
                       ResourceGenre.genre_juke_id.cast(Text))
                .where(_in_span(ResourceGenre.resource_juke_id, span),
                       ResourceGenre.resource_type == rtype)
                .order_by(ResourceGenre.resource_juke_id, ResourceGenre.genre_juke_id))
        for of, genre in session.execute(stmt):
            chunk.genre_of.append(position[of])
            chunk.genre_ids.append(genre)
    stmt = (select(ResourceTag.resource_juke_id.cast(Text), ResourceTag.name,
                   ResourceTag.source, ResourceTag.weight, ResourceTag.dataset)
            .where(_in_span(ResourceTag.resource_juke_id, span),
                   ResourceTag.resource_type == rtype)
            .order_by(ResourceTag.resource_juke_id, ResourceTag.weight.desc(),
                      ResourceTag.name))
    for of, name, source, weight, dataset in session.execute(stmt):
        chunk.tag_of.append(position[of])
        chunk.tag_names.append(name)
        chunk.tag_sources.append(source)
        chunk.tag_weights.append(float(weight))
        chunk.tag_datasets.append(dataset)
