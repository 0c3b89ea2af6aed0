"""Taste profiles: a user's named set of resolved favourites (artists, albums, tracks,
genres). No gRPC here.

Favourites are resolved through identity when a profile is written, fail-closed: one ref
that does not resolve rejects the write, naming the ref and its index, and nothing is
stored. Only (juke_id, type) is kept; names are read from identity when a profile is shown,
so a renamed resource shows its current name. `profiles` in a recommendation request expand
to these favourites (RankerService.expand_profiles).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.common.db import Database
from services.common.errors import InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.ranker.personal.user_ids import check_user_id
from services.ranker.serving.ports import CatalogSummary
from services.ranker.store import repository as repo
from services.ranker.store.repository import TasteProfileRecord

MAX_FAVOURITES = 100
MAX_NAME_LENGTH = 200
MAX_REF_LENGTH = 1000

# refs -> {ref: (the resource, or None and why it did not resolve)}: IdentityClient.summaries
Resolver = Callable[[Sequence[str]], Mapping[str, tuple[CatalogSummary | None, str]]]


@dataclass(frozen=True)
class Profile:
    id: str
    user_id: str
    name: str
    favourites: tuple[CatalogSummary, ...]
    created_at: datetime
    updated_at: datetime


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidArgument("profile name is empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"profile name {cleaned[:40]!r}... is longer than "
                              f"{MAX_NAME_LENGTH} characters")
    return cleaned


def check_refs(refs: Sequence[str]) -> list[str]:
    """The favourite refs, stripped; at least one, at most MAX_FAVOURITES, none empty."""
    if not refs:
        raise InvalidArgument("a taste profile needs at least one favourite")
    if len(refs) > MAX_FAVOURITES:
        raise InvalidArgument(f"{len(refs)} favourites exceed the limit of {MAX_FAVOURITES}")
    cleaned = []
    for index, ref in enumerate(refs):
        text = ref.strip()
        if not text or len(text) > MAX_REF_LENGTH:
            raise InvalidArgument(f"favourites[{index}] {ref[:40]!r} is empty or longer than "
                                  f"{MAX_REF_LENGTH} characters", index=index)
        cleaned.append(text)
    return cleaned


def resolved_favourites(refs: Sequence[str],
                        found: Mapping[str, tuple[CatalogSummary | None, str]]
                        ) -> list[CatalogSummary]:
    """Each ref's resource, in order, repeats dropped; every ref that did not resolve is
    named in one error carrying the first one's index."""
    bad = [(i, ref, found.get(ref, (None, "not in the catalog"))[1])
           for i, ref in enumerate(refs) if found.get(ref, (None, ""))[0] is None]
    if bad:
        listing = "; ".join(f"favourites[{i}] {ref!r}: {why}" for i, ref, why in bad)
        raise InvalidArgument(f"unresolvable favourites: {listing}", index=bad[0][0])
    unique: dict[str, CatalogSummary] = {}
    for ref in refs:
        summary = found[ref][0]
        assert summary is not None
        unique.setdefault(summary.juke_id, summary)
    return list(unique.values())


def profile_key(profile_id: str) -> uuid.UUID:
    key = parse_uuid(profile_id.strip())
    if key is None:
        raise InvalidArgument(f"taste profile id {profile_id!r} is not a UUID")
    return key


class ProfileService:
    def __init__(self, db: Database, resolve: Resolver) -> None:
        self._db = db
        self._resolve = resolve

    def create(self, user_id: str, name: str, refs: Sequence[str]) -> Profile:
        user, title = check_user_id(user_id), check_name(name)
        favourites = self._favourites(refs)
        with self._db.transaction() as session:
            record = repo.create_taste_profile(session, user, title, _pairs(favourites))
        return _profile(record, {f.juke_id: f for f in favourites})

    def get(self, profile_id: str) -> Profile:
        key = profile_key(profile_id)
        with self._db.read() as session:
            record = repo.taste_profile(session, key)
        if record is None:
            raise NotFound(f"no taste profile {profile_id!r}")
        return self._named([record])[0]

    def of_user(self, user_id: str) -> list[Profile]:
        user = check_user_id(user_id)
        with self._db.read() as session:
            records = repo.taste_profiles_of(session, user)
        return self._named(records)

    def update(self, profile_id: str, name: str, refs: Sequence[str]) -> Profile:
        """An empty name keeps the name; favourites, when given, replace the old ones (a
        profile always has at least one, so none given keeps them)."""
        key = profile_key(profile_id)
        if not name.strip() and not refs:
            raise InvalidArgument("nothing to update: give a name, favourites or both")
        title = check_name(name) if name.strip() else None
        favourites = self._favourites(refs) if refs else None
        with self._db.transaction() as session:
            record = repo.update_taste_profile(
                session, key, title, _pairs(favourites) if favourites is not None else None)
        if record is None:
            raise NotFound(f"no taste profile {profile_id!r}")
        if favourites is None:
            return self._named([record])[0]
        return _profile(record, {f.juke_id: f for f in favourites})

    def delete(self, profile_id: str) -> None:
        key = profile_key(profile_id)
        with self._db.transaction() as session:
            if not repo.delete_taste_profile(session, key):
                raise NotFound(f"no taste profile {profile_id!r}")

    def _favourites(self, refs: Sequence[str]) -> list[CatalogSummary]:
        cleaned = check_refs(refs)
        return resolved_favourites(cleaned, self._resolve(sorted(set(cleaned))))

    def _named(self, records: Sequence[TasteProfileRecord]) -> list[Profile]:
        """Profiles with their favourites' current names (one identity call for all)."""
        ids = sorted({juke_id for r in records for juke_id, _ in r.favourites})
        found = self._resolve(ids) if ids else {}
        names = {juke_id: hit for juke_id, (hit, _) in found.items() if hit is not None}
        return [_profile(r, names) for r in records]


def _pairs(favourites: Sequence[CatalogSummary]) -> list[tuple[str, str]]:
    return [(f.juke_id, f.type) for f in favourites]


def _profile(record: TasteProfileRecord, known: Mapping[str, CatalogSummary]) -> Profile:
    # A favourite identity no longer has keeps its id and type, with no name.
    favourites = tuple(known.get(juke_id) or CatalogSummary(rtype, juke_id, "")
                       for juke_id, rtype in record.favourites)
    return Profile(str(record.id), record.user_id, record.name, favourites,
                   record.created_at, record.updated_at)
