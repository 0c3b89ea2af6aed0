"""Playlist writes and reads. Items are resolved through identity when a playlist is
written, fail-closed: every ref that does not resolve to a track is named in one
InvalidArgument (with the first one's index) and nothing is stored. Only juke_ids are kept;
names are read from identity when a playlist is shown, so a renamed track shows its current
name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from services.common.errors import InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.ranker.personal.user_ids import check_user_id
from services.ranker.playlists import jspf
from services.ranker.playlists.names import credits_match, fold
from services.ranker.serving.ports import CatalogSummary
from services.ranker.store.playlists import PlaylistRecord, PlaylistRepository

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_REF_LENGTH = 1000
MAX_SOURCE_KEY_LENGTH = 200
TRACK = "track"


class TrackCatalog(Protocol):
    """What playlists need of identity."""

    def resolve_tracks(self, refs: Sequence[str]
                       ) -> Mapping[str, tuple[CatalogSummary | None, str]]:
        """ref -> (the track, or None and why it did not resolve as a track)."""

    def tracks_named(self, title: str) -> Sequence[tuple[str, str, str]]:
        """(juke_id, name, credited artists ", "-joined) of tracks a name search finds."""

    def track_details(self, juke_ids: Sequence[str]) -> Mapping[str, jspf.ExportTrack]:
        """Name, artists, album and MBID of each track identity still has."""


class ItemEdit(Enum):
    APPEND = "append"
    INSERT = "insert"
    REMOVE = "remove"


@dataclass(frozen=True)
class Playlist:
    id: str
    user_id: str
    name: str
    description: str
    items: tuple[CatalogSummary, ...]
    created_at: datetime
    updated_at: datetime


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidArgument("playlist name is empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"playlist name {cleaned[:40]!r}... is longer than "
                              f"{MAX_NAME_LENGTH} characters")
    return cleaned


def check_description(description: str) -> str:
    cleaned = description.strip()
    if len(cleaned) > MAX_DESCRIPTION_LENGTH:
        raise InvalidArgument(f"playlist description is longer than {MAX_DESCRIPTION_LENGTH} "
                              "characters")
    return cleaned


def check_refs(refs: Sequence[str], max_items: int) -> list[str]:
    """The item refs, stripped; at most `max_items`, none empty or over-long."""
    if len(refs) > max_items:
        raise InvalidArgument(f"{len(refs)} items exceed the limit of {max_items} per playlist")
    cleaned = []
    for index, ref in enumerate(refs):
        text = ref.strip()
        if not text or len(text) > MAX_REF_LENGTH:
            raise InvalidArgument(f"items[{index}] {ref[:40]!r} is empty or longer than "
                                  f"{MAX_REF_LENGTH} characters", index=index)
        cleaned.append(text)
    return cleaned


def resolved_items(refs: Sequence[str],
                   found: Mapping[str, tuple[CatalogSummary | None, str]]) -> list[str]:
    """Each ref's track juke_id, in order (repeats kept: a playlist may play a track
    twice); every ref that is not a catalog track is named in one error."""
    def why(ref: str) -> str:
        hit, reason = found.get(ref, (None, "not in the catalog"))
        if hit is None:
            return reason or "not in the catalog"
        return "" if hit.type == TRACK else f"is a {hit.type}, not a track"
    bad = [(i, ref, reason) for i, ref in enumerate(refs) if (reason := why(ref))]
    if bad:
        listing = "; ".join(f"items[{i}] {ref!r}: {reason}" for i, ref, reason in bad)
        raise InvalidArgument(f"unresolvable playlist items: {listing}", index=bad[0][0])
    return [summary.juke_id for ref in refs if (summary := found[ref][0]) is not None]


def playlist_key(playlist_id: str) -> str:
    if parse_uuid(playlist_id) is None:
        raise InvalidArgument(f"playlist id {playlist_id!r} is not a UUID")
    return playlist_id.strip()


def appended(current: tuple[str, ...], new: Sequence[str], max_items: int,
             position: int | None = None) -> list[str]:
    """`new` inserted before `position` (None: after the last item)."""
    at = len(current) if position is None else position
    if not 0 <= at <= len(current):
        raise InvalidArgument(f"position {position} is outside the playlist's 0..{len(current)}")
    if len(current) + len(new) > max_items:
        raise InvalidArgument(f"{len(current)} items and {len(new)} more exceed the limit of "
                              f"{max_items} per playlist")
    return [*current[:at], *new, *current[at:]]


def without_positions(current: tuple[str, ...], positions: Sequence[int]) -> list[str]:
    outside = [p for p in positions if not 0 <= p < len(current)]
    if outside:
        raise InvalidArgument(f"positions {outside} are outside the playlist's "
                              f"0..{len(current) - 1}", index=positions.index(outside[0]))
    dropped = set(positions)
    return [t for k, t in enumerate(current) if k not in dropped]


def without_tracks(current: tuple[str, ...], refs: Sequence[str],
                   juke_ids: Sequence[str]) -> list[str]:
    """Every occurrence of the tracks removed; a track the playlist lacks is an error."""
    absent = [f"items[{i}] {ref!r}" for i, (ref, t) in enumerate(zip(refs, juke_ids,
                                                                  strict=True))
              if t not in current]
    if absent:
        raise InvalidArgument(f"not in the playlist: {'; '.join(absent)}")
    dropped = set(juke_ids)
    return [t for t in current if t not in dropped]


class PlaylistService:
    def __init__(self, repository: PlaylistRepository, catalog: TrackCatalog,
                 max_items: int) -> None:
        if max_items < 1:
            raise ValueError(f"playlist item limit {max_items} must be at least 1")
        self._repo = repository
        self._catalog = catalog
        self.max_items = max_items

    def create(self, user_id: str, name: str, description: str, refs: Sequence[str],
               source_key: str = "") -> tuple[Playlist, bool]:
        """The new playlist and True; with a `source_key` the user imported before, that
        playlist and False."""
        user, title = check_user_id(user_id), check_name(name)
        about = check_description(description)
        key = source_key.strip()
        if len(key) > MAX_SOURCE_KEY_LENGTH:
            raise InvalidArgument(f"source_key {key[:40]!r}... is longer than "
                                  f"{MAX_SOURCE_KEY_LENGTH} characters")
        if key and (known := self._repo.find_by_source(user, key)) is not None:
            return self._named([known])[0], False
        tracks = self._tracks(refs)
        record, created = self._repo.create(user, title, about, tracks, key or None)
        return self._named([record])[0], created

    def get(self, playlist_id: str) -> Playlist:
        return self._named([self._record(playlist_id)])[0]

    def of_user(self, user_id: str) -> list[Playlist]:
        return self._named(self._repo.list_for_user(check_user_id(user_id)))

    def update(self, playlist_id: str, name: str | None, description: str | None,
               refs: Sequence[str] | None) -> Playlist:
        """None leaves that part as it is; `refs`, when given, replace the items."""
        key = playlist_key(playlist_id)
        title = check_name(name) if name is not None else None
        about = check_description(description) if description is not None else None
        tracks = self._tracks(refs) if refs is not None else None
        record = self._repo.update(key, title, about, tracks)
        if record is None:
            raise NotFound(f"no playlist {playlist_id!r}")
        return self._named([record])[0]

    def edit_items(self, playlist_id: str, edit: ItemEdit, refs: Sequence[str],
                   position: int = 0, positions: Sequence[int] = ()) -> Playlist:
        key = playlist_key(playlist_id)
        if edit is ItemEdit.REMOVE:
            if bool(refs) == bool(positions):
                raise InvalidArgument("remove takes either items or positions")
        elif not refs:
            raise InvalidArgument(f"{edit.value} needs at least one item")
        tracks = self._tracks(refs)
        if edit is ItemEdit.APPEND:
            record = self._repo.edit_items(
                key, lambda current: appended(current, tracks, self.max_items))
        elif edit is ItemEdit.INSERT:
            record = self._repo.edit_items(
                key, lambda current: appended(current, tracks, self.max_items, position))
        elif positions:
            record = self._repo.edit_items(
                key, lambda current: without_positions(current, positions))
        else:
            record = self._repo.edit_items(
                key, lambda current: without_tracks(current, refs, tracks))
        if record is None:
            raise NotFound(f"no playlist {playlist_id!r}")
        return self._named([record])[0]

    def delete(self, playlist_id: str) -> None:
        if not self._repo.delete(playlist_key(playlist_id)):
            raise NotFound(f"no playlist {playlist_id!r}")

    def import_jspf(self, user_id: str, text: str) -> Playlist:
        """A new playlist of `user_id` from a JSPF document. Each track resolves by its
        first identifier the catalog knows, else by its exact title and creator; every track
        that resolves by neither is named in one error, and nothing is stored."""
        user = check_user_id(user_id)
        try:
            document = json.loads(text)
        except ValueError as err:
            raise InvalidArgument(f"the JSPF document is not JSON: {err}") from None
        parsed = jspf.parse(document, self.max_items)
        name, about = check_name(parsed.title), check_description(parsed.annotation)
        tracks = self._jspf_tracks(parsed.tracks)
        record, _ = self._repo.create(user, name, about, tracks)
        return self._named([record])[0]

    def export_jspf(self, playlist_id: str) -> str:
        record = self._record(playlist_id)
        details = self._catalog.track_details(sorted(set(record.track_ids)))
        tracks = tuple(details.get(t) or jspf.ExportTrack(t, "", "", "", "")
                       for t in record.track_ids)
        return json.dumps(jspf.render(jspf.ExportPlaylist(
            record.id, record.user_id, record.name, record.description, record.created_at,
            tracks)), ensure_ascii=False)

    def _jspf_tracks(self, tracks: Sequence[jspf.JspfTrack]) -> list[str]:
        refs = jspf.track_refs(tracks)
        found = self._catalog.resolve_tracks(refs) if refs else {}
        ids = {ref: hit.juke_id if hit is not None and hit.type == TRACK else None
               for ref, (hit, _) in found.items()}
        out: list[str] = []
        bad: list[tuple[int, str]] = []
        for index, track in enumerate(tracks):
            juke_id = jspf.resolved_by_identifier(track, ids) or self._by_name(track)
            if juke_id is None:
                bad.append((index, track.label(index)))
            else:
                out.append(juke_id)
        if bad:
            raise InvalidArgument("tracks not in the catalog (by identifier or by title and "
                                  f"creator): {'; '.join(label for _, label in bad)}",
                                  index=bad[0][0])
        return out

    def _by_name(self, track: jspf.JspfTrack) -> str | None:
        """The track exactly named `title` and credited to `creator` (when given); of
        several, the first by juke_id, so an import always picks the same one."""
        if not track.title:
            return None
        title = fold(track.title)
        matches = sorted(juke_id for juke_id, name, artists in self._catalog.tracks_named(
            track.title) if fold(name) == title and (not track.creator or credits_match(
                track.creator, artists)))
        return matches[0] if matches else None

    def _record(self, playlist_id: str) -> PlaylistRecord:
        record = self._repo.get(playlist_key(playlist_id))
        if record is None:
            raise NotFound(f"no playlist {playlist_id!r}")
        return record

    def _tracks(self, refs: Sequence[str]) -> list[str]:
        cleaned = check_refs(refs, self.max_items)
        if not cleaned:
            return []
        return resolved_items(cleaned, self._catalog.resolve_tracks(sorted(set(cleaned))))

    def _named(self, records: Sequence[PlaylistRecord]) -> list[Playlist]:
        """Playlists with their tracks' current names (one identity call for all)."""
        ids = sorted({t for r in records for t in r.track_ids})
        found = self._catalog.resolve_tracks(ids) if ids else {}
        names = {juke_id: hit for juke_id, (hit, _) in found.items() if hit is not None}
        return [Playlist(r.id, r.user_id, r.name, r.description,
                         tuple(names.get(t) or CatalogSummary(TRACK, t, "")
                               for t in r.track_ids),
                         r.created_at, r.updated_at) for r in records]
