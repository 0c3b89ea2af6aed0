"""Identity domain logic: resolution, search and idempotent upserts. No gRPC here."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.identity import repository as repo
from services.identity.refs import RESOURCE_TYPES, ParsedRef, normalize_type, parse_ref, search_key
from services.identity.repository import ResourceView, SearchRow, Summary, TagView

MAX_BATCH = 1000
MAX_SEARCH_LIMIT = 100
MAX_PAGE_SIZE = 1000
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


@dataclass(frozen=True)
class CatalogStats:
    artists: int
    albums: int
    tracks: int
    genres: int
    external_ids: int
    tags: int


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
                out.append(Resolution(ref=refs[i][0], error=errors[i]))
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

    def stats(self) -> CatalogStats:
        with self._db.read() as session:
            return CatalogStats(
                artists=repo.count(session, "artist"),
                albums=repo.count(session, "album"),
                tracks=repo.count(session, "track"),
                genres=repo.count(session, "genre"),
                external_ids=repo.count_external_ids(session),
                tags=repo.count_tags(session),
            )

    # --- writes ----------------------------------------------------------------------------

    def upsert(self, inputs: Sequence[ResourceInput]) -> list[UpsertOutcome]:
        """Create or update resources; all-or-nothing for the whole call."""
        if len(inputs) > MAX_BATCH:
            raise InvalidArgument(f"batch of {len(inputs)} resources exceeds {MAX_BATCH}")
        for index, item in enumerate(inputs):
            _validate(index, item)
        return self._write(lambda s: [_upsert_one(s, i, item) for i, item in enumerate(inputs)])

    def add_tags(self, items: Sequence[tuple[str, str | None, list[TagInput]]]) -> int:
        if len(items) > MAX_BATCH:
            raise InvalidArgument(f"batch of {len(items)} items exceeds {MAX_BATCH}")
        for index, (_, _, tags) in enumerate(items):
            for tag in tags:
                _validate_tag(f"items[{index}]", tag)

        def write(session: Session) -> int:
            written = 0
            for index, (ref, type_hint, tags) in enumerate(items):
                target = _require(session, f"items[{index}].ref", ref, type_hint)
                tag_views = [TagView(t.name.strip(), t.source, t.weight, t.dataset.strip())
                             for t in tags]
                written += repo.upsert_tags(session, target.type, target.juke_id, tag_views)
            return written

        return self._write(write)

    def _write(self, work: Callable[[Session], T]) -> T:
        # A concurrent writer may create the same MBID/adapter id between our lookup and
        # insert; the unique constraint stops it, and one retry then finds the winner's row.
        for attempt in range(2):
            try:
                with self._db.transaction() as session:
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


def _require(session: Session, field_name: str, ref: str, type_hint: str | None) -> Summary:
    try:
        parsed = parse_ref(ref, type_hint)
    except InvalidArgument as err:
        raise InvalidArgument(f"{field_name}: {err.message}") from None
    summary, _, error = _resolve_all(session, [parsed])[0]
    if summary is None:
        raise NotFound(f"{field_name}: {error}")
    return summary


# --- upsert ------------------------------------------------------------------------------


def _validate_tag(where: str, tag: TagInput) -> None:
    if not tag.name.strip():
        raise InvalidArgument(f"{where}: empty tag name")
    if tag.source not in TAG_SOURCES:
        raise InvalidArgument(
            f"{where}: tag source {tag.source!r} is not one of {', '.join(TAG_SOURCES)}"
        )
    if not (math.isfinite(tag.weight) and 0.0 <= tag.weight <= 1.0):
        raise InvalidArgument(f"{where}: tag weight {tag.weight!r} is outside 0..1")


def _validate(index: int, item: ResourceInput) -> None:
    where = f"{item.type}s[{index}]"
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
    for tag in item.tags:
        _validate_tag(where, tag)


def _existing_target(session: Session, where: str, item: ResourceInput) -> Summary | None:
    """The resource this input denotes: same MBID or same adapter id; conflicts refused."""
    mbid = parse_uuid(item.mbid) if item.mbid else None
    by_mbid = repo.find_by_mbids(session, [item.type], [mbid]).get(mbid) if mbid else None
    target, matched = (by_mbid[0] if by_mbid else None), f"MBID {mbid}"
    pairs = [(s.strip().lower(), e.strip()) for s, e in item.external_ids]
    for key, owners in sorted(repo.find_by_external_ids(session, [item.type], pairs).items()):
        owner = owners[0]
        if target is not None and owner.juke_id != target.juke_id:
            raise AlreadyExists(
                f"{where}: external id {key} is already bound to "
                f"{owner.uri} ({owner.name!r}), not {target.uri}"
            )
        target, matched = owner, f"external id {key}"
    if target is not None and mbid is not None and target.mbid not in (None, mbid):
        raise AlreadyExists(
            f"{where}: {matched} is already bound to {target.uri} ({target.name!r}) "
            f"whose MBID is {target.mbid}, not {mbid}"
        )
    return target


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


def _upsert_one(session: Session, index: int, item: ResourceInput) -> UpsertOutcome:
    where = f"{item.type}s[{index}]"
    target = _existing_target(session, where, item)
    artists = [_require(session, f"{where}.artist_refs", r, "artist") for r in item.artist_refs]
    genres = [_require(session, f"{where}.genre_refs", r, "genre") for r in item.genre_refs]
    album = _require(session, f"{where}.album_ref", item.album_ref, "album") \
        if item.album_ref else None
    values = _row_values(item)
    if album is not None:
        values["album_juke_id"] = album.juke_id
    if target is None:
        row = repo.create_row(session, item.type, **values)
        created = True
    else:
        row = repo.get_row(session, item.type, target.juke_id)
        for key, value in values.items():
            setattr(row, key, value)
        created = False
    pairs = [(s.strip().lower(), e.strip()) for s, e in item.external_ids]
    repo.bind_external_ids(session, item.type, row.juke_id, pairs)
    if artists:
        repo.replace_artists(session, item.type, row.juke_id, [a.juke_id for a in artists])
    if genres:
        repo.replace_genres(session, item.type, row.juke_id, [g.juke_id for g in genres])
    if item.work_mbids:
        works = [w for w in (parse_uuid(m) for m in item.work_mbids) if w is not None]
        repo.replace_works(session, row.juke_id, works)
    repo.upsert_tags(
        session, item.type, row.juke_id,
        [TagView(t.name.strip(), t.source, t.weight, t.dataset.strip()) for t in item.tags],
    )
    summary = Summary(type=item.type, juke_id=row.juke_id, name=row.name, mbid=row.mbid)
    return UpsertOutcome(summary=summary, created=created)
