"""Data access for the catalog. Takes a Session, returns dataclasses (never ORM objects)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Float,
    Integer,
    Text,
    any_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.orm import Session

from services.common.db import bound_array
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


UUID_TYPE = UUID(as_uuid=True)


def find_by_juke_ids(session: Session, types: Iterable[str], ids: Iterable[uuid.UUID]) -> Hits:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return _collect(session, [
        _columns(t, RESOURCE_MODELS[t].juke_id).where(
            RESOURCE_MODELS[t].juke_id == any_(bound_array(wanted, UUID_TYPE)))
        for t in types
    ])


def find_by_mbids(session: Session, types: Iterable[str], mbids: Iterable[uuid.UUID]) -> Hits:
    wanted = list(set(mbids))
    if not wanted:
        return {}
    return _collect(session, [
        _columns(t, RESOURCE_MODELS[t].mbid).where(
            RESOURCE_MODELS[t].mbid == any_(bound_array(wanted, UUID_TYPE)))
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
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    sources, values = zip(*wanted, strict=True)
    selects = []
    for t in types:
        stmt, ext = _external_select(t, lambda e: e.source + ":" + e.external_id)
        keys = func.unnest(bound_array(sources, Text), bound_array(values, Text)).table_valued(
            "source", "external_id").render_derived()
        selects.append(stmt.join(keys, (ext.source == keys.c.source)
                                 & (ext.external_id == keys.c.external_id)))
    return _collect(session, selects)


def find_external_values(session: Session, types: Iterable[str], values: Iterable[str]) -> Hits:
    """Adapter ids whose external_id equals one of `values`, from any source."""
    wanted = list(set(values))
    if not wanted:
        return {}
    selects = []
    for t in types:
        stmt, ext = _external_select(t, lambda e: e.external_id)
        selects.append(stmt.where(ext.external_id == any_(bound_array(wanted, Text))))
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


def advance_revision(session: Session) -> None:
    """Mark the catalog changed. A sequence never blocks a concurrent writer; a write that
    rolls back still advances it, which costs a reader one needless refresh, never a missed
    one."""
    session.execute(text("SELECT nextval('identity.catalog_revision')"))


def catalog_revision(session: Session) -> int:
    """The revision of the last write (0 before any)."""
    row = session.execute(text(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
        "FROM identity.catalog_revision")).one()
    return int(row[0])


def catalog_id(session: Session) -> str:
    """This catalog's id, made once when the schema was created."""
    return str(session.execute(text("SELECT id FROM identity.catalog_instance")).scalar_one())


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


# --- set-wise writes -----------------------------------------------------------------------
# A write takes the whole batch and is ONE statement per table: each column travels as one
# array and `unnest` turns the arrays back into rows inside PostgreSQL, so a batch of a
# thousand resources costs a handful of round trips, not thousands. Callers decide what to
# write (which rows are new, which adapter ids are free); these functions only store it.
# The rows are named tuples: a batch makes thousands, and they are the cheapest to build.


class ResourceRow(NamedTuple):
    """A resource to insert, or new values for a stored one. On update an empty value ('',
    0 or None) keeps what is stored: it means the caller did not give that field."""

    juke_id: uuid.UUID
    name: str
    search_name: str
    mbid: uuid.UUID | None = None
    disambiguation: str = ""
    sort_name: str = ""
    release_date: str = ""
    album_juke_id: uuid.UUID | None = None
    duration_ms: int = 0
    track_number: int = 0


class ExternalIdRow(NamedTuple):
    juke_id: uuid.UUID
    source: str
    external_id: str


class TagRow(NamedTuple):
    resource_juke_id: uuid.UUID
    resource_type: str
    tag: TagView


_COMMON_COLUMNS = ("juke_id", "name", "search_name", "mbid", "disambiguation")
_TYPE_COLUMNS = {"artist": ("sort_name",), "album": ("release_date",),
                 "track": ("album_juke_id", "duration_ms", "track_number"), "genre": ()}
# The value of each optional column that means "not given": an update keeps what is stored.
_NOT_GIVEN: dict[str, Any] = {"mbid": None, "disambiguation": "", "sort_name": "",
                              "release_date": "", "album_juke_id": None, "duration_ms": 0,
                              "track_number": 0}


def _unnest(columns: Mapping[str, tuple[Any, Sequence[Any]]]) -> Any:
    """unnest(one array per column) AS rows(column, ...): the batch as a relation."""
    arrays = [bound_array(values, column_type) for column_type, values in columns.values()]
    return func.unnest(*arrays).table_valued(*columns).render_derived()


def _given_or_stored(stored: Any, given: Any) -> Any:
    if stored.key not in _NOT_GIVEN:
        return given
    empty = _NOT_GIVEN[stored.key]
    return func.coalesce(given if empty is None else func.nullif(given, empty), stored)


def upsert_resources(session: Session, rtype: str, rows: Sequence[ResourceRow]) -> None:
    """Insert the new resources and update the stored ones (same juke_id) in one statement.
    A stored row whose values would not change is left alone, updated_at included."""
    if not rows:
        return
    model: Any = RESOURCE_MODELS[rtype]
    table = model.__table__
    names = (*_COMMON_COLUMNS, *_TYPE_COLUMNS[rtype])
    ordered = sorted(rows, key=lambda r: r.juke_id)  # one lock order for concurrent writers
    source = _unnest({n: (table.c[n].type, [getattr(r, n) for r in ordered]) for n in names})
    stmt = insert(table).from_select(names, select(*(source.c[n] for n in names)))
    new = {n: _given_or_stored(table.c[n], stmt.excluded[n]) for n in names[1:]}
    changed = or_(*(table.c[n].is_distinct_from(value) for n, value in new.items()))
    session.execute(stmt.on_conflict_do_update(
        index_elements=["juke_id"], set_={**new, "updated_at": func.now()}, where=changed))


def bind_external_ids(session: Session, rtype: str, rows: Sequence[ExternalIdRow]) -> None:
    """Bind adapter ids to resources; a pair already bound stays as it is."""
    if not rows:
        return
    table: Any = EXTERNAL_ID_MODELS[rtype].__table__
    source = _unnest({
        "id": (UUID_TYPE, [uuid7() for _ in rows]),
        f"{rtype}_juke_id": (UUID_TYPE, [r.juke_id for r in rows]),
        "source": (Text, [r.source for r in rows]),
        "external_id": (Text, [r.external_id for r in rows]),
    })
    stmt = insert(table).from_select(list(source.c.keys()), select(*source.c))
    session.execute(stmt.on_conflict_do_nothing(index_elements=["source", "external_id"]))


def _replace_links(session: Session, table: Any, owner: Any,
                   links: Mapping[str, tuple[Any, Sequence[Any]]]) -> None:
    """The link rows of every owner named in `links` become exactly `links`.

    One statement: a CTE deletes the owners' links that are not wanted, the INSERT adds the
    wanted ones and updates their other columns where those differ. The two touch disjoint
    rows, so a re-sent batch deletes and rewrites nothing.
    """
    key = [c.key for c in table.primary_key.columns]
    wanted = select(*_unnest(links).c).cte("wanted")
    owners = list(set(links[owner.key][1]))
    stale = delete(table).where(
        owner == any_(bound_array(owners, UUID_TYPE)),
        ~exists().where(*(wanted.c[k] == table.c[k] for k in key)),
    ).cte("stale")
    stmt = insert(table).from_select(list(links), select(*wanted.c)).add_cte(stale)
    others = [name for name in links if name not in key]
    if not others:
        session.execute(stmt.on_conflict_do_nothing(index_elements=key))
        return
    session.execute(stmt.on_conflict_do_update(
        index_elements=key, set_={n: stmt.excluded[n] for n in others},
        where=or_(*(table.c[n].is_distinct_from(stmt.excluded[n]) for n in others))))


def replace_artists(
    session: Session, rtype: str, credits: dict[uuid.UUID, Sequence[uuid.UUID]]
) -> None:
    """Each owner's (album or track) artists become the given ones, in order; an artist
    named twice keeps its first position."""
    if not credits:
        return
    link: Any = (AlbumArtist if rtype == "album" else TrackArtist).__table__
    owner = link.c[f"{rtype}_juke_id"]
    rows = [(o, artist, position) for o, artists in credits.items()
            for artist, position in _first_positions(artists).items()]
    _replace_links(session, link, owner, {
        owner.key: (UUID_TYPE, [r[0] for r in rows]),
        "artist_juke_id": (UUID_TYPE, [r[1] for r in rows]),
        "position": (Integer, [r[2] for r in rows]),
    })


def _first_positions(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    positions: dict[uuid.UUID, int] = {}
    for position, value in enumerate(ids):
        positions.setdefault(value, position)
    return positions


def _distinct_links(links: dict[uuid.UUID, Sequence[uuid.UUID]]
                    ) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """(owner column, linked column) of every owner's links, each link once."""
    rows = [(owner, other) for owner, others in links.items() for other in dict.fromkeys(others)]
    return [owner for owner, _ in rows], [other for _, other in rows]


def replace_works(session: Session, works: dict[uuid.UUID, Sequence[uuid.UUID]]) -> None:
    """Each track's work MBIDs become the given ones."""
    tracks, mbids = _distinct_links(works)
    link: Any = TrackWork.__table__
    if tracks:
        _replace_links(session, link, link.c.track_juke_id, {
            "track_juke_id": (UUID_TYPE, tracks), "work_mbid": (UUID_TYPE, mbids)})


def replace_genres(
    session: Session, rtype: str, genres: dict[uuid.UUID, Sequence[uuid.UUID]]
) -> None:
    """Each resource's genres become the given ones."""
    owners, genre_ids = _distinct_links(genres)
    link: Any = ResourceGenre.__table__
    if owners:
        _replace_links(session, link, link.c.resource_juke_id, {
            "resource_juke_id": (UUID_TYPE, owners), "genre_juke_id": (UUID_TYPE, genre_ids),
            "resource_type": (Text, [rtype] * len(owners))})


def upsert_tags(session: Session, rows: Iterable[TagRow]) -> None:
    """Add tags, or set the weight of those already stored (same resource, source, name
    and data set); for a tag given twice, the last one wins."""
    latest = {(r.resource_juke_id, r.tag.source, r.tag.name, r.tag.dataset): r for r in rows}
    if not latest:
        return
    tags = list(latest.values())
    source = _unnest({
        "resource_juke_id": (UUID_TYPE, [r.resource_juke_id for r in tags]),
        "resource_type": (Text, [r.resource_type for r in tags]),
        "name": (Text, [r.tag.name for r in tags]),
        "source": (Text, [r.tag.source for r in tags]),
        "weight": (Float, [float(r.tag.weight) for r in tags]),  # one element type
        "dataset": (Text, [r.tag.dataset for r in tags]),
    })
    table: Any = ResourceTag.__table__
    stmt = insert(table).from_select(list(source.c.keys()), select(*source.c))
    session.execute(stmt.on_conflict_do_update(
        index_elements=["resource_juke_id", "source", "name", "dataset"],
        set_={"weight": stmt.excluded.weight, "updated_at": func.now()},
        where=table.c.weight.is_distinct_from(stmt.excluded.weight)))
