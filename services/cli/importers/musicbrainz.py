"""Real MusicBrainz rows (CC0 core data) -> identity upserts.

Sources: the sample data shipped in the PyPI package `mbdata` (artists, releases,
recordings, works and their relationships, with real MBIDs) and the MusicBrainz genre list
(`genre.csv`, path configurable). Everything is sent through the identity gRPC API, the
same path any other ingester uses.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub

BATCH = 1000  # identity's per-call limit: one set-wise write per table per batch
T = TypeVar("T")
Progress = Callable[[int, int], None]  # (rows written, rows in all), after each batch


@dataclass
class MusicBrainzSample:
    artists: list[pb.ArtistInput] = field(default_factory=list)
    albums: list[pb.AlbumInput] = field(default_factory=list)
    tracks: list[pb.TrackInput] = field(default_factory=list)


@dataclass
class ImportReport:
    created: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for kind in ("genre", "artist", "album", "track"):
            total = self.created[kind] + self.existing[kind]
            out.append(f"{kind + 's':8} {total:6d}  ({self.created[kind]} new, "
                       f"{self.existing[kind]} already known)")
        return out + self.notes


class _CollectingSession:
    """mbdata's create_sample_data() only needs add/flush/commit: collect the objects."""

    def __init__(self) -> None:
        self.objects: list[Any] = []

    def add(self, obj: Any) -> None:
        self.objects.append(obj)

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        pass


def _mb(gid: object) -> str:
    return f"musicbrainz:{gid}"


def _credited_artists(artist_credit: Any) -> list[str]:
    names = sorted(artist_credit.artists, key=lambda n: n.position) if artist_credit else []
    return [_mb(n.artist.gid) for n in names]


def _release_date(release: Any, objects: Iterable[Any]) -> str:
    """Earliest country release date as YYYY[-MM[-DD]]."""
    dates = []
    for obj in objects:
        if type(obj).__name__ == "ReleaseCountry" and obj.release is release and obj.date_year:
            parts = [f"{obj.date_year:04d}"]
            if obj.date_month:
                parts.append(f"{obj.date_month:02d}")
                if obj.date_day:
                    parts.append(f"{obj.date_day:02d}")
            dates.append("-".join(parts))
    return min(dates) if dates else ""


def _artist_input(artist: Any) -> pb.ArtistInput:
    # ISNIs are not bound as adapter ids: MusicBrainz shares one ISNI between artists.
    return pb.ArtistInput(mbid=str(artist.gid), name=artist.name, sort_name=artist.sort_name,
                          disambiguation=artist.comment or "")


def load_sample() -> MusicBrainzSample:
    """The mbdata sample graph as identity inputs, in dependency order."""
    from mbdata import sample_data

    session = _CollectingSession()
    sample_data.create_sample_data(session)
    objects = session.objects
    by_type: dict[str, list[Any]] = {}
    for obj in objects:
        by_type.setdefault(type(obj).__name__, []).append(obj)
    works: dict[Any, list[str]] = {}
    for link in by_type.get("LinkRecordingWork", []):
        works.setdefault(link.entity0.gid, []).append(str(link.entity1.gid))
    sample = MusicBrainzSample(
        artists=[_artist_input(a) for a in by_type.get("Artist", [])]
    )
    for release in by_type.get("Release", []):
        sample.albums.append(pb.AlbumInput(
            mbid=str(release.gid), name=release.name, disambiguation=release.comment or "",
            artist_refs=_credited_artists(release.artist_credit),
            release_date=_release_date(release, objects),
        ))
        for medium in sorted(release.mediums, key=lambda m: m.position):
            for track in sorted(medium.tracks, key=lambda t: t.position):
                rec = track.recording
                sample.tracks.append(pb.TrackInput(
                    mbid=str(rec.gid), name=rec.name, album_ref=_mb(release.gid),
                    artist_refs=_credited_artists(rec.artist_credit),
                    duration_ms=int(rec.length or 0), track_number=int(track.position),
                    work_mbids=works.get(rec.gid, []), disambiguation=rec.comment or "",
                ))
    return sample


def load_genres(path: Path) -> tuple[list[pb.GenreInput], list[str]]:
    """Genres from MusicBrainz's genre.csv; Wikidata ids kept only when unambiguous."""
    if not path.is_file():
        raise FileNotFoundError(
            f"MusicBrainz genre list not found at {path} (set JUKE_MUSICBRAINZ_GENRES_CSV)"
        )
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    qids = Counter(_wikidata_id(r.get("relations_wiki", "")) for r in rows)
    notes = []
    genres = []
    for row in rows:
        mbid = row["genre_id"].rstrip("/").rsplit("/", 1)[-1]
        qid = _wikidata_id(row.get("relations_wiki", ""))
        external = []
        if qid and qids[qid] == 1:
            external.append(common_pb2.ExternalId(source="wikidata", external_id=qid))
        elif qid:
            notes.append(f"genre {row['name']!r}: Wikidata {qid} is shared by "
                         f"{qids[qid]} genres, not bound")
        genres.append(pb.GenreInput(mbid=mbid, name=row["name"],
                                    disambiguation=row.get("disambiguation", ""),
                                    external_ids=external))
    return genres, notes


def _wikidata_id(url: str) -> str:
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail if tail.startswith("Q") else ""


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _count(report: ImportReport, kind: str, results: Iterable[pb.UpsertResult]) -> None:
    for result in results:
        (report.created if result.created else report.existing)[kind] += 1


def import_musicbrainz(
    stub: IdentityServiceStub, sample: MusicBrainzSample, genres: Sequence[pb.GenreInput],
    progress: Progress | None = None, *, batch_size: int = BATCH,
) -> ImportReport:
    """Genres, artists, albums, then tracks, batch by batch. Each batch is written whole or
    not at all and every row is keyed by its MBID, so an import stopped anywhere (killed,
    or `progress` raising) and run again ends with the same rows, none twice."""
    report = ImportReport()
    steps: list[tuple[str, Sequence[Any], Callable[[Sequence[Any]], Any]]] = [
        ("genre", genres, lambda b: stub.UpsertGenres(pb.UpsertGenresRequest(genres=b))),
        ("artist", sample.artists,
         lambda b: stub.UpsertArtists(pb.UpsertArtistsRequest(artists=b))),
        ("album", sample.albums, lambda b: stub.UpsertAlbums(pb.UpsertAlbumsRequest(albums=b))),
        ("track", sample.tracks, lambda b: stub.UpsertTracks(pb.UpsertTracksRequest(tracks=b))),
    ]
    total, done = sum(len(items) for _, items, _ in steps), 0
    for kind, items, upsert in steps:
        for batch in _batches(items, batch_size):
            _count(report, kind, upsert(batch).results)
            done += len(batch)
            if progress:
                progress(done, total)
    return report
