"""The MPD-style JSON slice format of playlist collections (the Million Playlist Dataset's
files, or any collection written the same way):

    {"playlists": [{"name", "pid", "description"?, "tracks": [
        {"track_uri": "spotify:track:<id>", "track_name", "artist_name",
         "artist_uri"?: "spotify:artist:<id>", "duration_ms"?}]}]}

Parsing checks every field it uses and names the offending one (playlist index and pid,
track index); it keeps no Spotify data beyond the ids, names and durations the catalog needs.
Each track and artist gets the adapter id it is upserted under, so a re-run finds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from services.common.errors import InvalidArgument
from services.ranker.playlists.names import fold

SPOTIFY = "spotify"
# Artists without a Spotify URI are keyed by their folded name under this source.
ARTIST_NAME_SOURCE = "mpd-artist"
_TRACK_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
_ARTIST_URI = re.compile(r"^spotify:artist:([0-9A-Za-z]{22})$")
MAX_NAME_LENGTH = 1000


@dataclass(frozen=True)
class MpdTrack:
    spotify_id: str
    name: str
    artist_name: str
    artist_key: tuple[str, str]   # the artist's adapter id: (source, external id)
    duration_ms: int

    @property
    def ref(self) -> str:
        """The track's identity ref (with the track type) once upserted."""
        return f"{SPOTIFY}:{self.spotify_id}"


@dataclass(frozen=True)
class MpdPlaylist:
    pid: str
    name: str
    description: str
    tracks: tuple[MpdTrack, ...]

    @property
    def source_key(self) -> str:
        """Its key in the collection: a re-import finds the playlist by it."""
        return f"mpd:{self.pid}"


def _name(value: Any, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidArgument(f"{where} is missing or not a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"{where} is longer than {MAX_NAME_LENGTH} characters")
    return value.strip()


def artist_key(name: str, artist_uri: str) -> tuple[str, str]:
    if match := _ARTIST_URI.match(artist_uri):
        return SPOTIFY, match.group(1)
    return ARTIST_NAME_SOURCE, fold(name)


def _track(value: Any, where: str) -> MpdTrack:
    if not isinstance(value, dict):
        raise InvalidArgument(f"{where} is not an object")
    uri = value.get("track_uri")
    match = _TRACK_URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        raise InvalidArgument(f"{where}.track_uri {uri!r} is not spotify:track:<22 characters>")
    artist = _name(value.get("artist_name"), f"{where}.artist_name")
    artist_uri = value.get("artist_uri")
    duration = value.get("duration_ms", 0)
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
        raise InvalidArgument(f"{where}.duration_ms {duration!r} is not a whole number >= 0")
    return MpdTrack(match.group(1), _name(value.get("track_name"), f"{where}.track_name"),
                    artist, artist_key(artist, artist_uri if isinstance(artist_uri, str) else ""),
                    duration)


def _playlist(value: Any, index: int, max_tracks: int) -> MpdPlaylist:
    where = f"playlists[{index}]"
    if not isinstance(value, dict):
        raise InvalidArgument(f"{where} is not an object")
    pid = value.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int | str) or not str(pid).strip():
        raise InvalidArgument(f"{where}.pid {pid!r} is not a number or a non-empty string")
    where = f"{where} (pid {pid})"
    tracks = value.get("tracks")
    if not isinstance(tracks, list):
        raise InvalidArgument(f"{where}.tracks is not a list")
    if len(tracks) > max_tracks:
        raise InvalidArgument(f"{where} has {len(tracks)} tracks, over the limit of "
                              f"{max_tracks}")
    return MpdPlaylist(str(pid).strip(), _name(value.get("name"), f"{where}.name"),
                       _name(value.get("description"), f"{where}.description", required=False),
                       tuple(_track(t, f"{where}.tracks[{k}]") for k, t in enumerate(tracks)))


def parse(document: Any, max_tracks: int) -> list[MpdPlaylist]:
    """Every playlist of a decoded slice, checked whole before anything is imported."""
    if not isinstance(document, dict) or not isinstance(document.get("playlists"), list):
        raise InvalidArgument('an MPD slice is an object with a "playlists" list')
    playlists = [_playlist(p, i, max_tracks) for i, p in enumerate(document["playlists"])]
    seen: dict[str, int] = {}
    for index, playlist in enumerate(playlists):
        if playlist.pid in seen:
            raise InvalidArgument(f"playlists[{index}] repeats pid {playlist.pid} of "
                                  f"playlists[{seen[playlist.pid]}]")
        seen[playlist.pid] = index
    return playlists
