"""Scan a directory of licensed audio and register it: catalog via identity, rows via governance.

Every music file becomes (or re-links to) a catalog track and a manifest row carrying its
license evidence; files whose evidence is missing or disagrees are recorded too, with the
reasons governance excludes them. Re-running is idempotent: adapter ids and the manifest's
(source, track_path, checksum) key map the same file to the same rows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.governance.scan import ScannedFile, ScanResult, scan_tree

BATCH = 100
Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    source: str
    tracks: int = 0
    created_rows: int = 0
    skipped_audio: int = 0
    production: int = 0
    research_only: int = 0
    excluded: int = 0
    issues: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Names:
    """Catalog names for one file, from its tags, credits and license evidence."""

    title: str
    artist: str | None
    album: str
    track_number: int
    genre: str | None


def _first_int(text: str | None) -> int:
    digits = (text or "").split("/")[0].strip()
    return int(digits) if digits.isdigit() else 0


def _person(holder: str) -> str:
    """'Name <mail@host>' -> 'Name': catalog names carry no contact details."""
    return holder.split("<", 1)[0].strip() or holder.strip()


def names_for(f: ScannedFile, label: str) -> Names:
    holders = [_person(h) for e in f.evidence for h in e.holders if h.strip()]
    return Names(
        title=f.title or Path(f.path).stem.replace("_", " "),
        artist=f.tag("artist") or (holders[0] if len(set(holders)) == 1 else None),
        album=f.tag("album") or f"{label} soundtrack",
        track_number=_first_int(f.tag("tracknumber")),
        genre=f.tag("genre"),
    )


class ProgressBar:
    """A one-line bar on a terminal; silent when output is not a terminal."""

    def __init__(self, label: str, out: TextIO | None = None) -> None:
        # Resolved now, not at import: tests swap sys.stderr between runs.
        self.label = label
        self.out: TextIO = out if out is not None else sys.stderr
        self.enabled = self.out.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        width = 30
        filled = width * done // total
        self.out.write(f"\r{self.label:20} [{'#' * filled}{'.' * (width - filled)}] "
                       f"{done}/{total}")
        if done == total:
            self.out.write("\n")
        self.out.flush()


class CorpusIngester:
    def __init__(self, identity: IdentityServiceStub, governance: GovernanceServiceStub) -> None:
        self._identity = identity
        self._governance = governance

    def ingest(self, root: Path, progress: Progress | None = None,
               source: str | None = None) -> IngestReport:
        scan = scan_tree(root)
        label = scan.packages[0] if len(scan.packages) == 1 else root.name
        # A package is found again under the corpus cache; a plain directory by its path.
        default_source = scan.source if scan.packages else f"dir:{root.resolve()}"
        report = IngestReport(source=source or default_source, skipped_audio=len(scan.skipped),
                              issues=list(scan.issues))
        files = list(scan.tracks)
        for start in range(0, len(files), BATCH):
            self._ingest_batch(scan, label, files[start:start + BATCH], report)
            if progress:
                progress(min(start + BATCH, len(files)), len(files))
        if progress and not files:
            progress(0, 0)
        return report

    def _ingest_batch(self, scan: ScanResult, label: str, files: Sequence[ScannedFile],
                      report: IngestReport) -> None:
        names = [names_for(f, label) for f in files]
        adapter = "debian" if scan.packages else "local"
        track_ids = self._upsert_catalog(adapter, label, files, names)
        entries = [self._entry(report.source, f, track_id) for f, track_id in
                   zip(files, track_ids, strict=True)]
        results = self._governance.UpsertManifestEntries(
            gpb.UpsertManifestEntriesRequest(entries=entries)).results
        for result in results:
            report.tracks += 1
            report.created_rows += int(result.created)
            if result.decision.production:
                report.production += 1
            elif result.decision.research:
                report.research_only += 1
            else:
                report.excluded += 1

    def _upsert_catalog(self, adapter: str, label: str, files: Sequence[ScannedFile],
                        names: Sequence[Names]) -> list[str]:
        def key(kind: str, name: str) -> str:
            return f"{label}:{kind}:{name}"

        artists = sorted({n.artist for n in names if n.artist})
        self._identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
            ipb.ArtistInput(name=a, external_ids=[common_pb2.ExternalId(
                source=adapter, external_id=key("artist", a))]) for a in artists]))
        albums: dict[str, set[str]] = {}
        for n in names:
            albums.setdefault(n.album, set()).update([n.artist] if n.artist else [])
        self._identity.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
            ipb.AlbumInput(name=album, artist_refs=[f"{adapter}:{key('artist', a)}"
                                                    for a in sorted(members)],
                           external_ids=[common_pb2.ExternalId(
                               source=adapter, external_id=key("album", album))])
            for album, members in sorted(albums.items())]))
        tracks = self._identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
            ipb.TrackInput(
                name=n.title, album_ref=f"{adapter}:{key('album', n.album)}",
                artist_refs=[f"{adapter}:{key('artist', n.artist)}"] if n.artist else [],
                duration_ms=f.duration_ms or 0, track_number=n.track_number,
                external_ids=[
                    common_pb2.ExternalId(source=adapter, external_id=f"{label}:{f.path}"),
                    common_pb2.ExternalId(source="sha256", external_id=f.sha256)],
                tags=[ipb.TagInput(name=n.genre.lower(), source=common_pb2.TAG_SOURCE_INTERNAL,
                                   weight=1.0)] if n.genre else [],
            )
            for f, n in zip(files, names, strict=True)]))
        return [r.juke_id for r in tracks.results]

    @staticmethod
    def _entry(source: str, f: ScannedFile, track_id: str) -> gpb.ManifestEntryInput:
        candidate = f.to_candidate(source)
        return gpb.ManifestEntryInput(
            source=source, track_path=f.path, license=candidate.license or "",
            checksum=f.sha256, duration_ms=f.duration_ms or 0, track_juke_id=track_id,
            evidence=[gpb.Evidence(
                kind=e.kind, source_file=e.source_file, locator=e.locator,
                license_raw=e.license_raw, expression=e.expression or "",
                license_spdx=e.license_spdx or "", holders=list(e.holders), note=e.note)
                for e in f.evidence],
        )
