"""Identity domain logic: resolution, search and idempotent upserts. No gRPC here."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.errors import AlreadyExists, InvalidArgument, JukeError, NotFound
from services.common.ids import parse_uuid, uuid7
from services.identity import export
from services.identity import repository as repo
from services.identity.export import CatalogChunk
from services.identity.refs import RESOURCE_TYPES, ParsedRef, normalize_type, parse_ref, search_key
from services.identity.repository import ResourceView, SearchRow, Summary, TagView

MAX_BATCH = 1000
MAX_SEARCH_LIMIT = 100
MAX_PAGE_SIZE = 1000
DEFAULT_EXPORT_CHUNK = 20_000
MAX_EXPORT_CHUNK = 100_000
TAG_SOURCES = ("musicbrainz", "internal")
MAX_NAME_LENGTH = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class TagInput:
    name: str
    source: str
    weight: float = 1.0
    dataset: str = ""


@dataclass
class ResourceInput:
    """One resource to create or update; fields that do not apply to its type stay empty."""

    type: str
    name: str
    mbid: str = ""
    disambiguation: str = ""
    sort_name: str = ""
    release_date: str = ""
    album_ref: str = ""
    artist_refs: list[str] = field(default_factory=list)
    duration_ms: int = 0
    track_number: int = 0
    work_mbids: list[str] = field(default_factory=list)
    external_ids: list[tuple[str, str]] = field(default_factory=list)
    tags: list[TagInput] = field(default_factory=list)
    genre_refs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UpsertOutcome:
    summary: Summary
    created: bool


@dataclass(frozen=True)
class Resolution:
    ref: str
    summary: Summary | None = None
    matched_by: str = ""
    error: str = ""
    malformed: bool = False     # no ID form at all: a name, say, which search may find


@dataclass(frozen=True)
class CatalogStats:
    artists: int
    albums: int
    tracks: int
    genres: int
    external_ids: int
    tags: int
    # Advanced by every write transaction: a rename or a changed tag weight leaves the
    # counts as they were, not the revision.
    revision: int = 0
    catalog_id: str = ""  # this catalog's own id (another database's differs)


class IdentityService:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reads -----------------------------------------------------------------------------

    def get(self, ref: str, type_hint: str | None = None) -> ResourceView:
        parsed = parse_ref(ref, type_hint)
        with self._db.read() as session:
            summary, _, error = _resolve_all(session, [parsed])[0]
            if summary is None:
                raise NotFound(error or f"no resource matches {ref!r}")
            view = repo.get_view(session, summary.type, summary.juke_id)
        if view is None:  # deleted between the two reads
            raise NotFound(f"no resource matches {ref!r}")
        return view

    def batch_resolve(self, refs: Sequence[tuple[str, str | None]]) -> list[Resolution]:
        if len(refs) > MAX_BATCH:
            raise InvalidArgument(f"batch of {len(refs)} refs exceeds the limit of {MAX_BATCH}")
        parsed: list[ParsedRef | None] = []
        errors: dict[int, str] = {}
        for i, (ref, type_hint) in enumerate(refs):
            try:
                parsed.append(parse_ref(ref, type_hint))
            except InvalidArgument as err:
                parsed.append(None)
                errors[i] = err.message
        valid = [p for p in parsed if p is not None]
        with self._db.read() as session:
            resolved = iter(_resolve_all(session, valid))
        out = []
        for i, p in enumerate(parsed):
            if p is None:
                out.append(Resolution(ref=refs[i][0], error=errors[i], malformed=True))
                continue
            summary, matched_by, error = next(resolved)
            out.append(Resolution(ref=p.text, summary=summary, matched_by=matched_by, error=error))
        return out

    def search(self, query: str, types: Sequence[str], limit: int) -> list[SearchRow]:
        key = search_key(query or "")
        if not key:
            raise InvalidArgument(f"search query {query!r} is empty")
        wanted = [normalize_type(t) for t in types] or list(RESOURCE_TYPES)
        limit = limit or 10
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidArgument(f"limit {limit} is outside 1..{MAX_SEARCH_LIMIT}")
        with self._db.read() as session:
            return repo.search(session, key, wanted, limit)

    def list_page(
        self, rtype: str, page_token: str, page_size: int
    ) -> tuple[list[ResourceView], str]:
        rtype = normalize_type(rtype)
        size = page_size or 100
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument(f"page_size {page_size} is outside 1..{MAX_PAGE_SIZE}")
        after = None
        if page_token:
            after = parse_uuid(page_token)
            if after is None:
                raise InvalidArgument(f"malformed page_token {page_token!r}")
        with self._db.read() as session:
            views = repo.list_views(session, rtype, after, size)
        next_token = str(views[-1].summary.juke_id) if len(views) == size else ""
        return views, next_token

    def export(self, chunk_size: int) -> Iterator[CatalogChunk]:
        """Every resource, type by type, in chunks of `chunk_size` (0: the default), read in
        one REPEATABLE READ transaction so the chunks form one snapshot of the catalog."""
        size = chunk_size or DEFAULT_EXPORT_CHUNK
        if not 1 <= size <= MAX_EXPORT_CHUNK:
            raise InvalidArgument(f"chunk_size {chunk_size} is outside 1..{MAX_EXPORT_CHUNK}")
        with self._db.read() as session:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            for rtype in RESOURCE_TYPES:
                yield from export.chunks(session, rtype, size)

    def stats(self) -> CatalogStats:
        with self._db.read() as session:
            return CatalogStats(
                artists=repo.count(session, "artist"),
                albums=repo.count(session, "album"),
                tracks=repo.count(session, "track"),
                genres=repo.count(session, "genre"),
                external_ids=repo.count_external_ids(session),
                tags=repo.count_tags(session),
                revision=repo.catalog_revision(session),
                catalog_id=repo.catalog_id(session),
            )

    # --- writes ----------------------------------------------------------------------------

    def upsert(self, inputs: Sequence[ResourceInput]) -> list[UpsertOutcome]:
        """Create or update resources; all-or-nothing for the whole call."""
        if len(inputs) > MAX_BATCH:
            raise InvalidArgument(f"batch of {len(inputs)} resources exceeds {MAX_BATCH}")
        for index, item in enumerate(inputs):
            _validate(index, item)
        return self._write(lambda session: _upsert_batch(session, inputs))

    def add_tags(self, items: Sequence[tuple[str, str | None, list[TagInput]]]) -> int:
        if len(items) > MAX_BATCH:
            raise InvalidArgument(f"batch of {len(items)} items exceeds {MAX_BATCH}")
        for index, (_, _, tags) in enumerate(items):
            for tag in tags:
                _validate_tag(index, f"items[{index}]", tag)

        def write(session: Session) -> int:
            found = _resolve_refs(session, [(ref, hint) for ref, hint, _ in items])
            targets = [_required(i, f"items[{i}].ref", found[ref, hint])
                       for i, (ref, hint, _) in enumerate(items)]
            per_item = [{(v.source, v.name, v.dataset): v for v in map(_tag_view, tags)}
                        for _, _, tags in items]
            repo.upsert_tags(session, [repo.TagRow(target.juke_id, target.type, view)
                                       for target, views in zip(targets, per_item, strict=True)
                                       for view in views.values()])
            return sum(len(views) for views in per_item)

        return self._write(write)

    def _write(self, work: Callable[[Session], T]) -> T:
        # A concurrent writer may create the same MBID/adapter id between our lookup and
        # insert; the unique constraint stops it, and one retry then finds the winner's row.
        for attempt in range(2):
            try:
                with self._db.transaction() as session:
                    repo.advance_revision(session)
                    return work(session)
            except IntegrityError as err:
                if attempt == 1:
                    raise AlreadyExists(f"conflicting concurrent write: {err.orig}") from err
        raise AssertionError("unreachable")


# --- resolution --------------------------------------------------------------------------


def _types_of(p: ParsedRef) -> tuple[str, ...]:
    return (p.type,) if p.type else RESOURCE_TYPES


def _pick(ref: ParsedRef, hits: list[Summary], stage: str) -> Resolved:
    if len(hits) == 1:
        return hits[0], stage, ""
    kinds = ", ".join(sorted(h.type for h in hits))
    return None, "", f"reference {ref.text!r} is ambiguous ({kinds}); give its type"


Resolved = tuple[Summary | None, str, str]
# Precedence juke_id > mbid > adapter ids: each stage only sees refs still unresolved.
_STAGES: tuple[tuple[str, Callable[[ParsedRef], Any], Callable[..., repo.Hits]], ...] = (
    ("juke_id", lambda r: r.uuid if r.uuid and not r.mbid_only else None,
     repo.find_by_juke_ids),
    ("mbid", lambda r: r.uuid, repo.find_by_mbids),
    ("external_id", lambda r: f"{r.external[0]}:{r.external[1]}" if r.external else None,
     lambda s, types, keys: repo.find_by_external_ids(
         s, types, [tuple(k.split(":", 1)) for k in keys])),
    ("external_id", lambda r: str(r.uuid) if r.uuid and not r.mbid_only else None,
     repo.find_external_values),
)


def _resolve_all(session: Session, refs: Sequence[ParsedRef]) -> list[Resolved]:
    """Resolve in bulk, one query per stage that still has unresolved refs."""
    results: list[Resolved | None] = [None] * len(refs)
    for stage, key_of, lookup in _STAGES:
        pending = [(i, key_of(r)) for i, r in enumerate(refs) if results[i] is None]
        pending = [(i, k) for i, k in pending if k is not None]
        if not pending:
            continue
        types = sorted({t for i, _ in pending for t in _types_of(refs[i])})
        hits = lookup(session, types, [k for _, k in pending])
        for i, key in pending:
            found = [h for h in hits.get(key, []) if h.type in _types_of(refs[i])]
            if found:
                results[i] = _pick(refs[i], found, stage)
    return [
        r if r is not None else (None, "", f"no {ref.type or 'resource'} matches {ref.text!r}")
        for ref, r in zip(refs, results, strict=True)
    ]


RefKey = tuple[str, str | None]  # (ref as given, type hint)
Found = Summary | JukeError      # the resource, or why there is none (without the field)


def _resolve_refs(session: Session, refs: Iterable[RefKey]) -> dict[RefKey, Found]:
    """Each distinct (ref, type hint) resolved in bulk: its resource, or the error that
    rejects it (malformed: InvalidArgument; unknown or ambiguous: NotFound)."""
    parsed: dict[RefKey, ParsedRef] = {}
    found: dict[RefKey, Found] = {}
    for key in refs:
        if key not in parsed and key not in found:
            try:
                parsed[key] = parse_ref(*key)
            except InvalidArgument as err:
                found[key] = err
    resolved = _resolve_all(session, list(parsed.values()))
    for key, (summary, _, error) in zip(parsed, resolved, strict=True):
        found[key] = summary if summary is not None else NotFound(error)
    return found


def _required(index: int, field_name: str, found: Found) -> Summary:
    """The resource, or its error raised as the rejection of batch row `index`."""
    if isinstance(found, JukeError):
        raise type(found)(f"{field_name}: {found.message}", index=index)
    return found


# --- upsert ------------------------------------------------------------------------------


def _validate_tag(index: int, where: str, tag: TagInput) -> None:
    if not tag.name.strip():
        raise InvalidArgument(f"{where}: empty tag name", index=index)
    if tag.source not in TAG_SOURCES:
        raise InvalidArgument(
            f"{where}: tag source {tag.source!r} is not one of {', '.join(TAG_SOURCES)}",
            index=index,
        )
    if not (math.isfinite(tag.weight) and 0.0 <= tag.weight <= 1.0):
        raise InvalidArgument(f"{where}: tag weight {tag.weight!r} is outside 0..1",
                              index=index)


def _validate(index: int, item: ResourceInput) -> None:
    """Raises InvalidArgument naming the row (message and `index` field) and the value."""
    try:
        _validate_fields(f"{item.type}s[{index}]", item)
    except InvalidArgument as err:
        raise InvalidArgument(err.message, index=index) from None
    for tag in item.tags:
        _validate_tag(index, f"{item.type}s[{index}]", tag)


def _validate_fields(where: str, item: ResourceInput) -> None:
    if not item.name.strip():
        raise InvalidArgument(f"{where}: name is empty")
    if len(item.name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"{where}: name longer than {MAX_NAME_LENGTH} characters")
    if item.mbid and parse_uuid(item.mbid) is None:
        raise InvalidArgument(f"{where}: malformed mbid {item.mbid!r}")
    for work in item.work_mbids:
        if parse_uuid(work) is None:
            raise InvalidArgument(f"{where}: malformed work mbid {work!r}")
    for source, external_id in item.external_ids:
        if not source.strip() or not external_id.strip():
            raise InvalidArgument(
                f"{where}: external id needs a source and a value, got {source!r}:{external_id!r}"
            )
    if item.duration_ms < 0 or item.track_number < 0:
        raise InvalidArgument(f"{where}: negative duration_ms or track_number")


def _row_values(item: ResourceInput) -> dict[str, Any]:
    values: dict[str, Any] = {"name": item.name.strip(), "search_name": search_key(item.name)}
    if item.disambiguation:
        values["disambiguation"] = item.disambiguation
    if item.mbid:
        values["mbid"] = parse_uuid(item.mbid)
    if item.type == "artist" and item.sort_name:
        values["sort_name"] = item.sort_name
    if item.type == "album" and item.release_date:
        values["release_date"] = item.release_date[:10]
    if item.type == "track":
        if item.duration_ms:
            values["duration_ms"] = item.duration_ms
        if item.track_number:
            values["track_number"] = item.track_number
    return values


def _tag_view(tag: TagInput) -> TagView:
    return TagView(tag.name.strip(), tag.source, tag.weight, tag.dataset.strip())


def _adapter_ids(item: ResourceInput) -> list[tuple[str, str]]:
    """The item's (source, external_id) pairs as stored: source lower-case, both trimmed."""
    return list(dict.fromkeys((s.strip().lower(), e.strip()) for s, e in item.external_ids))


def _key(pair: tuple[str, str]) -> str:
    return f"{pair[0]}:{pair[1]}"


# --- set-wise upsert -----------------------------------------------------------------------
# A batch is decided in memory, row after row, against what the database held when the batch
# began plus what the rows before decided; then it is written with one statement per table.
# Deciding row after row keeps every rule of writing one row at a time: a later row naming
# a resource that an earlier row created, renamed or bound updates that same resource, and
# the first bad row (by index) rejects the whole batch with its own error.


@dataclass(slots=True)
class _Row:
    """One input row, with what the steps below need of it worked out once."""

    index: int
    item: ResourceInput
    values: dict[str, Any]              # _row_values(item)
    adapter_ids: list[tuple[str, str]]  # _adapter_ids(item)
    work_mbids: list[uuid.UUID]         # validated: all parse

    @classmethod
    def of(cls, index: int, item: ResourceInput) -> _Row:
        return cls(index, item, _row_values(item), _adapter_ids(item),
                   [uuid.UUID(w.strip()) for w in item.work_mbids])

    @property
    def where(self) -> str:
        return f"{self.item.type}s[{self.index}]"


class _Relations(NamedTuple):
    """What one row's refs resolved to; `error` rejects the row: its first ref that did
    not resolve."""

    artists: list[Summary]
    genres: list[Summary]
    album: Summary | None
    error: JukeError | None


def _refs_of(item: ResourceInput) -> list[tuple[str, str, str]]:
    """(field, ref, type) of every ref the item gives, in the order they are checked."""
    return [*(("artist_refs", ref, "artist") for ref in item.artist_refs),
            *(("genre_refs", ref, "genre") for ref in item.genre_refs),
            *([("album_ref", item.album_ref, "album")] if item.album_ref else [])]


def _relations(session: Session, rows: Sequence[_Row]) -> list[_Relations]:
    """Every row's artist, genre and album refs, resolved together."""
    refs = [_refs_of(row.item) for row in rows]
    found = _resolve_refs(session, [(ref, rtype) for row_refs in refs
                                    for _, ref, rtype in row_refs])
    out = []
    for row, row_refs in zip(rows, refs, strict=True):
        resolved: dict[str, list[Summary]] = {"artist": [], "genre": [], "album": []}
        error = None
        for field_name, ref, rtype in row_refs:
            hit = found[ref, rtype]
            if isinstance(hit, JukeError):
                error = error or type(hit)(f"{row.where}.{field_name}: {hit.message}",
                                           index=row.index)
            else:
                resolved[rtype].append(hit)
        album = resolved["album"][0] if resolved["album"] else None
        out.append(_Relations(resolved["artist"], resolved["genre"], album, error))
    return out


@dataclass(slots=True)
class _Write:
    """What the batch writes for one resource; None: that relation is left as stored."""

    row: repo.ResourceRow
    external_ids: list[tuple[str, str]] = field(default_factory=list)
    artists: list[uuid.UUID] | None = None
    genres: list[uuid.UUID] | None = None
    works: list[uuid.UUID] | None = None
    tags: list[TagView] = field(default_factory=list)


class _Batch:
    """The rows of one resource type, decided in order (see above), then stored."""

    def __init__(self, rtype: str, stored_mbids: repo.Hits, stored_adapter_ids: repo.Hits
                 ) -> None:
        self._type = rtype
        self._stored_mbids = stored_mbids
        self._stored_adapter_ids = stored_adapter_ids
        # What earlier rows of the batch decided: owners of new MBIDs and adapter ids, and
        # the latest name and MBID of every resource they touched.
        self._mbid_owners: dict[uuid.UUID, uuid.UUID] = {}
        self._adapter_id_owners: dict[str, uuid.UUID] = {}
        self._latest: dict[uuid.UUID, Summary] = {}
        self._writes: dict[uuid.UUID, _Write] = {}

    def _owner(self, decided: dict[Any, uuid.UUID], stored: repo.Hits, key: Any
               ) -> Summary | None:
        if key in decided:
            return self._latest[decided[key]]
        hits = stored.get(key)
        return self._latest.get(hits[0].juke_id, hits[0]) if hits else None

    def _target(self, row: _Row) -> Summary | None:
        """The resource this row denotes: same MBID or same adapter id; conflicts refused."""
        mbid = row.values.get("mbid")
        target = self._owner(self._mbid_owners, self._stored_mbids, mbid) if mbid else None
        matched = f"MBID {mbid}"
        for key in sorted(_key(pair) for pair in row.adapter_ids):
            owner = self._owner(self._adapter_id_owners, self._stored_adapter_ids, key)
            if owner is None:
                continue
            if target is not None and owner.juke_id != target.juke_id:
                raise AlreadyExists(
                    f"{row.where}: external id {key} is already bound to "
                    f"{owner.uri} ({owner.name!r}), not {target.uri}", index=row.index)
            target, matched = owner, f"external id {key}"
        if target is not None and mbid is not None and target.mbid not in (None, mbid):
            raise AlreadyExists(
                f"{row.where}: {matched} is already bound to {target.uri} ({target.name!r}) "
                f"whose MBID is {target.mbid}, not {mbid}", index=row.index)
        return target

    def add(self, row: _Row, relations: _Relations) -> UpsertOutcome:
        """Decide one row: raises its error, or records its writes."""
        target = self._target(row)
        if relations.error is not None:
            raise relations.error
        values = row.values
        if relations.album is not None:  # a copy: the row keeps the values it was given
            values = {**values, "album_juke_id": relations.album.juke_id}
        earlier = self._writes.get(target.juke_id) if target is not None else None
        if earlier is not None:
            earlier.row = earlier.row._replace(**values)
        juke_id = target.juke_id if target is not None else uuid7()
        write = earlier or self._writes.setdefault(
            juke_id, _Write(repo.ResourceRow(juke_id=juke_id, **values)))
        mbid = write.row.mbid or (target.mbid if target is not None else None)
        summary = Summary(type=self._type, juke_id=juke_id, name=write.row.name, mbid=mbid)
        self._latest[juke_id] = summary
        self._record(write, row, relations)
        return UpsertOutcome(summary=summary, created=target is None)

    def _record(self, write: _Write, row: _Row, relations: _Relations) -> None:
        juke_id = write.row.juke_id
        if write.row.mbid is not None:
            self._mbid_owners[write.row.mbid] = juke_id
        for pair in row.adapter_ids:
            key = _key(pair)
            if self._owner(self._adapter_id_owners, self._stored_adapter_ids, key) is None:
                self._adapter_id_owners[key] = juke_id
                write.external_ids.append(pair)
        if relations.artists:
            write.artists = [a.juke_id for a in relations.artists]
        if relations.genres:
            write.genres = [g.juke_id for g in relations.genres]
        if row.work_mbids:
            write.works = row.work_mbids
        write.tags += map(_tag_view, row.item.tags)

    def store(self, session: Session) -> None:
        rtype, writes = self._type, list(self._writes.values())
        repo.upsert_resources(session, rtype, [w.row for w in writes])
        repo.bind_external_ids(session, rtype, [
            repo.ExternalIdRow(w.row.juke_id, source, external_id)
            for w in writes for source, external_id in w.external_ids])
        if rtype in ("album", "track"):
            repo.replace_artists(session, rtype, {
                w.row.juke_id: w.artists for w in writes if w.artists is not None})
        if rtype == "track":
            repo.replace_works(session, {
                w.row.juke_id: w.works for w in writes if w.works is not None})
        repo.replace_genres(session, rtype, {
            w.row.juke_id: w.genres for w in writes if w.genres is not None})
        repo.upsert_tags(session, [repo.TagRow(w.row.juke_id, rtype, tag)
                                   for w in writes for tag in w.tags])


def _upsert_batch(session: Session, inputs: Sequence[ResourceInput]) -> list[UpsertOutcome]:
    """Each run of same-type rows is decided and stored before the next run is decided, so
    a row may name a resource of another type that an earlier row of the call wrote."""
    outcomes: list[UpsertOutcome] = []
    for rtype, run in groupby(enumerate(inputs), key=lambda pair: pair[1].type):
        rows = [_Row.of(index, item) for index, item in run]
        outcomes += _upsert_run(session, rtype, rows)
    return outcomes


def _upsert_run(session: Session, rtype: str, rows: list[_Row]) -> list[UpsertOutcome]:
    mbids = {row.values["mbid"] for row in rows if "mbid" in row.values}
    pairs = {pair for row in rows for pair in row.adapter_ids}
    batch = _Batch(rtype, repo.find_by_mbids(session, [rtype], mbids),
                   repo.find_by_external_ids(session, [rtype], pairs))
    outcomes = [batch.add(row, relations)
                for row, relations in zip(rows, _relations(session, rows), strict=True)]
    batch.store(session)
    return outcomes
