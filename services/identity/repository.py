"""Data access for the catalog. Takes a Session, returns dataclasses (never ORM objects)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, literal, or_, select, tuple_, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common.ids import uuid7
from services.identity.models import (
    EXTERNAL_ID_MODELS,
    RESOURCE_MODELS,
    AlbumArtist,
    ResourceGenre,
    ResourceTag,
    TrackArtist,
    TrackWork,
)
from services.identity.refs import uri


@dataclass(frozen=True)
class Summary:
    type: str
    juke_id: uuid.UUID
    name: str
    mbid: uuid.UUID | None = None

    @property
    def uri(self) -> str:
        return uri(self.type, self.juke_id)


@dataclass(frozen=True)
class TagView:
    name: str
    source: str
    weight: float
    dataset: str = ""


@dataclass
class ResourceView:
    summary: Summary
    disambiguation: str = ""
    external_ids: list[tuple[str, str]] = field(default_factory=list)
    tags: list[TagView] = field(default_factory=list)
    artists: list[Summary] = field(default_factory=list)
    album: Summary | None = None
    work_mbids: list[uuid.UUID] = field(default_factory=list)
    genres: list[Summary] = field(default_factory=list)
    duration_ms: int = 0
    track_number: int = 0
    release_date: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SearchRow:
    summary: Summary
    score: float
    context: str


def _summary(rtype: str, row: Any) -> Summary:
    return Summary(type=rtype, juke_id=row.juke_id, name=row.name, mbid=row.mbid)


# --- lookups -------------------------------------------------------------------------------
# Each lookup takes the candidate types and runs ONE union query across their tables, so a
# batch costs one round trip per resolution stage however many types are involved.

Hits = dict[Any, list[Summary]]


def _collect(session: Session, selects: list[Any]) -> Hits:
    out: Hits = defaultdict(list)
    if not selects:
        return out
    stmt: Any = union_all(*selects) if len(selects) > 1 else selects[0]
    for row in session.execute(stmt):
        out[row.key].append(_summary(row.rtype, row))
    return out


def _columns(rtype: str, key: Any) -> Any:
    model = RESOURCE_MODELS[rtype]
    return select(literal(rtype).label("rtype"), key.label("key"), model.juke_id, model.name,
                  model.mbid)


def find_by_juke_ids(session: Session, types: Iterable[str], ids: Iterable[uuid.UUID]) -> Hits:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return _collect(session, [
        _columns(t, RESOURCE_MODELS[t].juke_id).where(RESOURCE_MODELS[t].juke_id.in_(wanted))
        for t in types
    ])


def find_by_mbids(session: Session, types: Iterable[str], mbids: Iterable[uuid.UUID]) -> Hits:
    wanted = list(set(mbids))
    if not wanted:
        return {}
    return _collect(session, [
        _columns(t, RESOURCE_MODELS[t].mbid).where(RESOURCE_MODELS[t].mbid.in_(wanted))
        for t in types
    ])


def _external_select(rtype: str, key: Any) -> Any:
    model = RESOURCE_MODELS[rtype]
    ext: Any = EXTERNAL_ID_MODELS[rtype]
    return _columns(rtype, key(ext)).join(ext, ext.resource_juke_id == model.juke_id), ext


def find_by_external_ids(
    session: Session, types: Iterable[str], pairs: Iterable[tuple[str, str]]
) -> Hits:
    """Keyed by "source:external_id"."""
    wanted = list(set(pairs))
    if not wanted:
        return {}
    selects = []
    for t in types:
        stmt, ext = _external_select(t, lambda e: e.source + ":" + e.external_id)
        selects.append(stmt.where(tuple_(ext.source, ext.external_id).in_(wanted)))
    return _collect(session, selects)


def find_external_values(session: Session, types: Iterable[str], values: Iterable[str]) -> Hits:
    """Adapter ids whose external_id equals one of `values`, from any source."""
    wanted = list(set(values))
    if not wanted:
        return {}
    selects = []
    for t in types:
        stmt, ext = _external_select(t, lambda e: e.external_id)
        selects.append(stmt.where(ext.external_id.in_(wanted)))
    return _collect(session, selects)


def summaries_by_id(session: Session, rtype: str, ids: Iterable[uuid.UUID]) -> dict[Any, Summary]:
    return {key: hits[0] for key, hits in find_by_juke_ids(session, [rtype], ids).items()}


# --- full views ----------------------------------------------------------------------------


def _external_ids_for(session: Session, rtype: str, ids: list[uuid.UUID]) -> dict[Any, list]:
    ext: Any = EXTERNAL_ID_MODELS[rtype]
    out: dict[Any, list] = defaultdict(list)
    stmt = (
        select(ext.resource_juke_id, ext.source, ext.external_id)
        .where(ext.resource_juke_id.in_(ids))
        .order_by(ext.source, ext.external_id)
    )
    for row in session.execute(stmt):
        out[row.resource_juke_id].append((row.source, row.external_id))
    return out


def _tags_for(session: Session, ids: list[uuid.UUID]) -> dict[Any, list[TagView]]:
    out: dict[Any, list[TagView]] = defaultdict(list)
    stmt = (
        select(ResourceTag.resource_juke_id, ResourceTag.name, ResourceTag.source,
               ResourceTag.weight, ResourceTag.dataset)
        .where(ResourceTag.resource_juke_id.in_(ids))
        .order_by(ResourceTag.weight.desc(), ResourceTag.name)
    )
    for row in session.execute(stmt):
        out[row.resource_juke_id].append(TagView(row.name, row.source, row.weight, row.dataset))
    return out


def _genres_for(session: Session, ids: list[uuid.UUID]) -> dict[Any, list[Summary]]:
    genre = RESOURCE_MODELS["genre"]
    out: dict[Any, list[Summary]] = defaultdict(list)
    stmt = (
        select(ResourceGenre.resource_juke_id, genre.juke_id, genre.name, genre.mbid)
        .join(genre, genre.juke_id == ResourceGenre.genre_juke_id)
        .where(ResourceGenre.resource_juke_id.in_(ids))
        .order_by(genre.name)
    )
    for row in session.execute(stmt):
        out[row.resource_juke_id].append(_summary("genre", row))
    return out


def _artists_for(session: Session, link: Any, owner_col: Any, ids: list[uuid.UUID]) -> dict:
    artist = RESOURCE_MODELS["artist"]
    out: dict[Any, list[Summary]] = defaultdict(list)
    stmt = (
        select(owner_col.label("owner"), artist.juke_id, artist.name, artist.mbid)
        .join(artist, artist.juke_id == link.artist_juke_id)
        .where(owner_col.in_(ids))
        .order_by(owner_col, link.position)
    )
    for row in session.execute(stmt):
        out[row.owner].append(_summary("artist", row))
    return out


def _works_for(session: Session, ids: list[uuid.UUID]) -> dict[Any, list[uuid.UUID]]:
    out: dict[Any, list[uuid.UUID]] = defaultdict(list)
    stmt = select(TrackWork.track_juke_id, TrackWork.work_mbid).where(
        TrackWork.track_juke_id.in_(ids)
    ).order_by(TrackWork.work_mbid)
    for row in session.execute(stmt):
        out[row.track_juke_id].append(row.work_mbid)
    return out


def load_views(session: Session, rtype: str, rows: Sequence[Any]) -> list[ResourceView]:
    """Full views (relations, tags, adapter ids) for ORM rows of one type, in bulk."""
    ids = [r.juke_id for r in rows]
    if not ids:
        return []
    external = _external_ids_for(session, rtype, ids)
    tags = _tags_for(session, ids)
    genres = _genres_for(session, ids) if rtype != "genre" else {}
    artists: dict = {}
    works: dict = {}
    albums: dict[Any, Summary] = {}
    if rtype == "album":
        artists = _artists_for(session, AlbumArtist, AlbumArtist.album_juke_id, ids)
    if rtype == "track":
        artists = _artists_for(session, TrackArtist, TrackArtist.track_juke_id, ids)
        works = _works_for(session, ids)
        album_ids = {r.album_juke_id for r in rows if r.album_juke_id}
        albums = summaries_by_id(session, "album", album_ids)
    views = []
    for row in rows:
        views.append(
            ResourceView(
                summary=_summary(rtype, row),
                disambiguation=row.disambiguation,
                external_ids=external.get(row.juke_id, []),
                tags=tags.get(row.juke_id, []),
                artists=artists.get(row.juke_id, []),
                album=albums.get(getattr(row, "album_juke_id", None)),
                work_mbids=works.get(row.juke_id, []),
                genres=genres.get(row.juke_id, []),
                duration_ms=getattr(row, "duration_ms", 0),
                track_number=getattr(row, "track_number", 0),
                release_date=getattr(row, "release_date", ""),
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        )
    return views


def get_view(session: Session, rtype: str, juke_id: uuid.UUID) -> ResourceView | None:
    row = session.get(RESOURCE_MODELS[rtype], juke_id)
    return load_views(session, rtype, [row])[0] if row is not None else None


def list_views(
    session: Session, rtype: str, after: uuid.UUID | None, limit: int
) -> list[ResourceView]:
    """Keyset page ordered by juke_id (UUIDv7, so roughly creation order)."""
    model = RESOURCE_MODELS[rtype]
    stmt = select(model).order_by(model.juke_id).limit(limit)
    if after is not None:
        stmt = stmt.where(model.juke_id > after)
    return load_views(session, rtype, session.scalars(stmt).all())


def count(session: Session, rtype: str) -> int:
    return int(session.scalar(select(func.count()).select_from(RESOURCE_MODELS[rtype])) or 0)


def count_external_ids(session: Session) -> int:
    return sum(
        int(session.scalar(select(func.count()).select_from(m)) or 0)
        for m in EXTERNAL_ID_MODELS.values()
    )


def count_tags(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ResourceTag)) or 0)


# --- search --------------------------------------------------------------------------------


def search(session: Session, key: str, types: Sequence[str], limit: int) -> list[SearchRow]:
    """Rank: exact name, then prefix, then trigram similarity (accent/case folded)."""
    selects = []
    for rtype in types:
        model = RESOURCE_MODELS[rtype]
        sim = func.similarity(model.search_name, key)
        score = (
            sim
            + case((model.search_name == key, 1.0), else_=0.0)
            + case((model.search_name.startswith(key, autoescape=True), 0.5), else_=0.0)
        )
        selects.append(
            select(
                literal(rtype).label("rtype"), model.juke_id, model.name, model.mbid,
                score.label("score"),
            ).where(
                or_(model.search_name.op("%")(key),
                    model.search_name.contains(key, autoescape=True))
            )
        )
    if not selects:
        return []
    combined = union_all(*selects).subquery()
    stmt = select(combined).order_by(combined.c.score.desc(), combined.c.name).limit(limit)
    rows = session.execute(stmt).all()
    contexts = _artist_context(session, rows)
    return [
        SearchRow(
            _summary(r.rtype, r), float(r.score), contexts.get(r.juke_id, "")
        )
        for r in rows
    ]


def _artist_context(session: Session, rows: Sequence[Any]) -> dict[Any, str]:
    """Artist names for album/track hits, to tell same-named resources apart."""
    out: dict[Any, str] = {}
    for rtype, link, owner in (
        ("album", AlbumArtist, AlbumArtist.album_juke_id),
        ("track", TrackArtist, TrackArtist.track_juke_id),
    ):
        ids = [r.juke_id for r in rows if r.rtype == rtype]
        for owner_id, artists in _artists_for(session, link, owner, ids).items():
            out[owner_id] = ", ".join(a.name for a in artists)
    return out


# --- writes --------------------------------------------------------------------------------


def get_row(session: Session, rtype: str, juke_id: uuid.UUID) -> Any:
    return session.get(RESOURCE_MODELS[rtype], juke_id, with_for_update=True)


def create_row(session: Session, rtype: str, **values: Any) -> Any:
    row: Any = RESOURCE_MODELS[rtype](juke_id=uuid7(), **values)  # type: ignore[call-arg]
    session.add(row)
    session.flush()
    return row


def bind_external_ids(
    session: Session, rtype: str, juke_id: uuid.UUID, pairs: Iterable[tuple[str, str]]
) -> None:
    ext: Any = EXTERNAL_ID_MODELS[rtype]
    values = [
        {"id": uuid7(), "resource_juke_id": juke_id, "source": s, "external_id": e}
        for s, e in pairs
    ]
    if values:
        stmt = insert(ext).values(values).on_conflict_do_nothing(
            index_elements=["source", "external_id"]
        )
        session.execute(stmt)


def replace_artists(
    session: Session, rtype: str, owner: uuid.UUID, artist_ids: Sequence[uuid.UUID]
) -> None:
    link: Any = AlbumArtist if rtype == "album" else TrackArtist
    owner_col = link.album_juke_id if rtype == "album" else link.track_juke_id
    session.execute(delete(link).where(owner_col == owner))
    seen: set[uuid.UUID] = set()
    for position, artist_id in enumerate(artist_ids):
        if artist_id in seen:
            continue
        seen.add(artist_id)
        session.add(link(**{owner_col.key: owner, "artist_juke_id": artist_id,
                            "position": position}))
    session.flush()


def replace_works(session: Session, track: uuid.UUID, works: Sequence[uuid.UUID]) -> None:
    session.execute(delete(TrackWork).where(TrackWork.track_juke_id == track))
    for work in dict.fromkeys(works):
        session.add(TrackWork(track_juke_id=track, work_mbid=work))
    session.flush()


def replace_genres(
    session: Session, rtype: str, owner: uuid.UUID, genres: Sequence[uuid.UUID]
) -> None:
    session.execute(delete(ResourceGenre).where(ResourceGenre.resource_juke_id == owner))
    for genre in dict.fromkeys(genres):
        session.add(ResourceGenre(resource_juke_id=owner, genre_juke_id=genre,
                                  resource_type=rtype))
    session.flush()


def upsert_tags(
    session: Session, rtype: str, owner: uuid.UUID, tags: Iterable[TagView]
) -> int:
    values = {
        (t.source, t.name, t.dataset): {"resource_juke_id": owner, "resource_type": rtype,
                                        "name": t.name, "source": t.source, "weight": t.weight,
                                        "dataset": t.dataset}
        for t in tags
    }
    if not values:
        return 0
    stmt = insert(ResourceTag).values(list(values.values()))
    stmt = stmt.on_conflict_do_update(
        index_elements=["resource_juke_id", "source", "name", "dataset"],
        set_={"weight": stmt.excluded.weight, "updated_at": func.now()},
    )
    session.execute(stmt)
    return len(values)
