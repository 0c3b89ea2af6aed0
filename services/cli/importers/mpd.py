"""Playlist collections in the MPD-style JSON slice format (parsed and checked by
`services.ranker.playlists.mpd`) -> catalog artists and tracks, and playlists.

Everything a slice names goes through the project's own paths: artists are upserted into
identity under their adapter id (`spotify:<id>` from an artist URI, else `mpd-artist:<folded
name>`), tracks under `spotify:<id>` from their track URI, credited to those artists; then
each playlist is created by the ranker under the key `mpd:<pid>` for the user. Everything is
keyed, so an import stopped anywhere and run again ends with the same rows, none twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.ranker.v1 import playlists_pb2 as ppb
from services.ranker.playlists.mpd import SPOTIFY, MpdPlaylist, MpdTrack

BATCH = 1000  # identity's per-call limit for upserts

Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass
class MpdImportReport:
    artists_created: int = 0
    artists_known: int = 0
    tracks_created: int = 0
    tracks_known: int = 0
    playlists_created: int = 0
    playlists_known: int = 0   # imported for this user before: left as they are
    items: int = 0             # tracks in the created playlists
    seconds: dict[str, float] = field(default_factory=dict)  # per phase

    def lines(self) -> list[str]:
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return [
            f"artists    {self.artists_created + self.artists_known:6d}  "
            f"({self.artists_created} new, {self.artists_known} already known)",
            f"tracks     {self.tracks_created + self.tracks_known:6d}  "
            f"({self.tracks_created} new, {self.tracks_known} already known)",
            f"playlists  {self.playlists_created + self.playlists_known:6d}  "
            f"({self.playlists_created} new with {self.items} items, "
            f"{self.playlists_known} imported before)",
            f"took {sum(self.seconds.values()):.1f} s ({phases})",
        ]


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_playlists(identity: Any, playlists_stub: Any, user_id: str,
                     playlists: Sequence[MpdPlaylist], progress: Progress | None = None,
                     batch_size: int = BATCH) -> MpdImportReport:
    """Upsert the slice's artists and tracks, then create its playlists for `user_id`."""
    report = MpdImportReport()
    tracks = list({t.spotify_id: t for p in playlists for t in p.tracks}.values())
    artists = list({t.artist_key: t.artist_name for t in tracks}.items())
    total = len(artists) + len(tracks) + len(playlists)
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, total)

    started = time.perf_counter()
    artist_ids: dict[tuple[str, str], str] = {}
    for batch in _batches(artists, batch_size):
        results = identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
            ipb.ArtistInput(name=name, external_ids=[
                common_pb2.ExternalId(source=key[0], external_id=key[1])])
            for key, name in batch])).results
        for (key, _), result in zip(batch, results, strict=True):
            artist_ids[key] = result.juke_id
            report.artists_created += result.created
            report.artists_known += not result.created
        step(len(batch))
    report.seconds["artists"] = time.perf_counter() - started

    started = time.perf_counter()
    track_ids: dict[str, str] = {}
    for chunk in _batches(tracks, batch_size):
        results = identity.UpsertTracks(ipb.UpsertTracksRequest(
            tracks=[_track_input(t, artist_ids[t.artist_key]) for t in chunk])).results
        for track, result in zip(chunk, results, strict=True):
            track_ids[track.spotify_id] = result.juke_id
            report.tracks_created += result.created
            report.tracks_known += not result.created
        step(len(chunk))
    report.seconds["tracks"] = time.perf_counter() - started

    started = time.perf_counter()
    for playlist in playlists:
        reply = playlists_stub.CreatePlaylist(ppb.CreatePlaylistRequest(
            user_id=user_id, name=playlist.name, description=playlist.description,
            items=[track_ids[t.spotify_id] for t in playlist.tracks],
            source_key=playlist.source_key))
        if reply.created:
            report.playlists_created += 1
            report.items += len(reply.playlist.items)
        else:
            report.playlists_known += 1
        step(1)
    report.seconds["playlists"] = time.perf_counter() - started
    return report


def _track_input(track: MpdTrack, artist_id: str) -> ipb.TrackInput:
    return ipb.TrackInput(name=track.name, artist_refs=[artist_id],
                          duration_ms=track.duration_ms,
                          external_ids=[common_pb2.ExternalId(source=SPOTIFY,
                                                              external_id=track.spotify_id)])
