"""JSPF, the JSON form of XSPF that ListenBrainz and troi exchange playlists in:

    {"playlist": {"title", "creator", "annotation", "identifier", "date",
                  "track": [{"identifier": [uri, ...], "title", "creator", "album",
                             "extension": {...}}]}}

Parsing checks the shape and names the offending field; rendering writes each track's
identifiers as its juke URI and, when the catalog has its MBID, its MusicBrainz recording
URL, which is what ListenBrainz reads.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.errors import InvalidArgument

MUSICBRAINZ_RECORDING = "https://musicbrainz.org/recording/"
MAX_TEXT_LENGTH = 2000
_MUSICBRAINZ_URL = re.compile(
    r"^https?://(?:beta\.)?musicbrainz\.org/recording/([0-9a-fA-F-]{36})/?$")
_SPOTIFY_URL = re.compile(r"^https?://open\.spotify\.com/track/([0-9A-Za-z]{22})")
_SPOTIFY_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")


@dataclass(frozen=True)
class JspfTrack:
    identifiers: tuple[str, ...]
    title: str
    creator: str
    album: str

    def label(self, index: int) -> str:
        """How an error names the track: its place and what it says it is."""
        what = repr(self.title) if self.title else "untitled"
        if self.creator:
            what += f" by {self.creator!r}"
        if self.identifiers:
            what += f" ({', '.join(self.identifiers)})"
        return f"track[{index}] {what}"


@dataclass(frozen=True)
class JspfPlaylist:
    title: str
    creator: str
    annotation: str
    identifier: str
    tracks: tuple[JspfTrack, ...]


@dataclass(frozen=True)
class ExportTrack:
    juke_id: str
    title: str
    artists: str      # credited artists, ", "-joined
    album: str
    mbid: str


@dataclass(frozen=True)
class ExportPlaylist:
    id: str
    user_id: str
    name: str
    description: str
    created_at: datetime
    tracks: tuple[ExportTrack, ...]


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"JSPF {where} is {type(value).__name__}, not a string")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidArgument(f"JSPF {where} is longer than {MAX_TEXT_LENGTH} characters")
    return value.strip()


def _identifiers(value: Any, where: str) -> tuple[str, ...]:
    """XSPF allows one identifier or several: a string or a list of strings."""
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list):
        raise InvalidArgument(f"JSPF {where} is {type(value).__name__}, not a string or list")
    out = tuple(_text(v, f"{where}[{i}]") for i, v in enumerate(values))
    return tuple(v for v in out if v)


def _track(value: Any, index: int) -> JspfTrack:
    where = f"playlist.track[{index}]"
    if not isinstance(value, dict):
        raise InvalidArgument(f"JSPF {where} is {type(value).__name__}, not an object",
                              index=index)
    track = JspfTrack(_identifiers(value.get("identifier"), f"{where}.identifier"),
                      _text(value.get("title"), f"{where}.title"),
                      _text(value.get("creator"), f"{where}.creator"),
                      _text(value.get("album"), f"{where}.album"))
    if not track.identifiers and not track.title:
        raise InvalidArgument(f"JSPF {where} has neither an identifier nor a title",
                              index=index)
    return track


def parse(document: Any, max_tracks: int) -> JspfPlaylist:
    """The playlist in a decoded JSPF document; InvalidArgument naming what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("playlist"), dict):
        raise InvalidArgument('a JSPF document is an object with a "playlist" object')
    playlist = document["playlist"]
    tracks = playlist.get("track", [])
    if not isinstance(tracks, list):
        raise InvalidArgument(f"JSPF playlist.track is {type(tracks).__name__}, not a list")
    if len(tracks) > max_tracks:
        raise InvalidArgument(f"JSPF playlist has {len(tracks)} tracks, over the limit of "
                              f"{max_tracks}")
    return JspfPlaylist(_text(playlist.get("title"), "playlist.title"),
                        _text(playlist.get("creator"), "playlist.creator"),
                        _text(playlist.get("annotation"), "playlist.annotation"),
                        _text(playlist.get("identifier"), "playlist.identifier"),
                        tuple(_track(t, i) for i, t in enumerate(tracks)))


def identifier_ref(identifier: str) -> str | None:
    """The identity ref a JSPF track identifier stands for: MusicBrainz recording URLs,
    Spotify track URLs and URIs, juke URIs and bare UUIDs; None for anything else."""
    text = identifier.strip()
    if (match := _MUSICBRAINZ_URL.match(text)) and _is_uuid(match.group(1)):
        return f"musicbrainz:{match.group(1).lower()}"
    if match := (_SPOTIFY_URL.match(text) or _SPOTIFY_URI.match(text)):
        return f"spotify:{match.group(1)}"
    if text.lower().startswith("juke:track:") or _is_uuid(text):
        return text
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def render(playlist: ExportPlaylist) -> dict[str, Any]:
    return {"playlist": {
        "title": playlist.name,
        "creator": playlist.user_id,
        "annotation": playlist.description,
        "identifier": f"juke:playlist:{playlist.id}",
        "date": playlist.created_at.isoformat(),
        "track": [_rendered_track(t) for t in playlist.tracks],
    }}


def _rendered_track(track: ExportTrack) -> dict[str, Any]:
    identifiers = [f"juke:track:{track.juke_id}"]
    if track.mbid:
        identifiers.append(f"{MUSICBRAINZ_RECORDING}{track.mbid}")
    out: dict[str, Any] = {"identifier": identifiers, "title": track.title}
    if track.artists:
        out["creator"] = track.artists
    if track.album:
        out["album"] = track.album
    return out


def track_refs(tracks: Sequence[JspfTrack]) -> list[str]:
    """Every distinct ref the tracks' identifiers stand for, for one batch resolution."""
    return sorted({ref for t in tracks for i in t.identifiers
                   if (ref := identifier_ref(i)) is not None})


def resolved_by_identifier(track: JspfTrack, found: Mapping[str, str | None]) -> str | None:
    """The juke_id of the track's first identifier that resolved (`found`: ref -> juke_id
    or None)."""
    for identifier in track.identifiers:
        ref = identifier_ref(identifier)
        if ref is not None and found.get(ref):
            return found[ref]
    return None
