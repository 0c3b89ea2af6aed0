"""Last.fm HetRec 2011 -> catalog artists with internal-taxonomy tags, and interactions.

The data set (`readme.txt` beside the files) is tab separated with a header row. Line
ends are CRLF except in `artists.dat` (LF); `tags.dat` is ISO-8859-1, `artists.dat` UTF-8,
the rest ASCII. `user_taggedartists.dat` may be split into `user_taggedartists_<n>.dat`
parts, each with its own header; the parts are read in order as one table.

Parsing is pure (no I/O beyond the files). The import goes through the project's own
paths: the data set is registered with governance (research-only: its readme says
"non-commercial use"), then every artist is upserted into identity keyed by its adapter id
`lastfm:<artist id>`, then each artist's top tags are attached as internal-taxonomy tags.
Everything is keyed (adapter ids, (resource, source, tag name), data set name), so a re-run
creates nothing new.

Tag choice. A tag's strength on an artist is the number of distinct users who applied it
there; the weight is that count over the artist's largest count (the artist's strongest tag
weighs 1.0). Each artist keeps its `TOP_TAGS` = 20 strongest tags (ties: name order) that at
least `MIN_TAG_USERS` = 1 user applied. Why 1 and not 2: half of the 12,133 tagged artists
(6,034) have no tag that two users agree on, so a 2-user floor would leave them untagged,
while the per-artist weight already ranks single-user tags low beside agreed ones. Why 20:
an artist has 8.9 distinct tags on average, so the cap only trims the few heavily tagged
artists (up to 329 tags) to their strongest 20, which keep 79% of the (artist, tag) pairs.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.cli.corpus.datasets import HETREC_NAME, hetrec_dataset

SOURCE = "lastfm"  # adapter id source: "lastfm:<artist id>"
BATCH = 1000  # identity's per-call limit for upserts, AddTags items and BatchResolve refs
TOP_TAGS = 20
MIN_TAG_USERS = 1

ARTISTS_HEADER = ("id", "name", "url", "pictureURL")
TAGS_HEADER = ("tagID", "tagValue")
USER_ARTISTS_HEADER = ("userID", "artistID", "weight")
USER_TAGS_HEADER = ("userID", "artistID", "tagID", "day", "month", "year")
_USER_TAG_PART = re.compile(r"^user_taggedartists_(\d+)\.dat$")
_COUNT = re.compile(r"^[0-9]+$")

Progress = Callable[[int, int], None]
T = TypeVar("T")


class LastfmFormatError(ValueError):
    """A file of the data set does not have the documented format; names file and line."""


class LastfmImportRefused(RuntimeError):
    """Governance allows the data set in no environment, so nothing is imported."""


@dataclass(frozen=True)
class LastfmArtist:
    id: int
    name: str
    url: str


@dataclass(frozen=True)
class Interactions:
    """Listening counts as parallel arrays: (user id, Last.fm artist id, count)."""

    users: np.ndarray  # int64
    artists: np.ndarray  # int64
    weights: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.users)


# --- parsing ---------------------------------------------------------------------------


def _table(path: Path, encoding: str, header: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each data row; the header is checked, empty lines skipped."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the Last.fm HetRec data set")
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        where = data[: err.start].count(b"\n") + 1
        raise LastfmFormatError(f"{path}:{where}: not valid {encoding} "
                                f"(byte {data[err.start]:#04x})") from None
    # Split on \n only: str.splitlines() would also break on U+0085 and U+2028, which an
    # ISO-8859-1 or UTF-8 name may legitimately contain.
    lines = text.split("\n")
    found = tuple(lines[0].removesuffix("\r").removeprefix("\ufeff").split("\t"))
    if found != header:
        raise LastfmFormatError(f"{path}:1: expected the header {chr(9).join(header)!r}, "
                                f"found {chr(9).join(found)!r}")
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.removesuffix("\r")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise LastfmFormatError(f"{path}:{number}: expected {len(header)} tab-separated "
                                    f"fields ({', '.join(header)}), found {len(fields)}: "
                                    f"{line[:80]!r}")
        yield number, fields


def _count(path: Path, number: int, column: str, value: str) -> int:
    if not _COUNT.match(value):
        raise LastfmFormatError(f"{path}:{number}: {column} {value!r} is not a "
                                "non-negative integer")
    return int(value)


def load_artists(root: Path) -> list[LastfmArtist]:
    """artists.dat (UTF-8), in file order; ids must be unique and names non-empty."""
    path = root / "artists.dat"
    artists: list[LastfmArtist] = []
    seen: dict[int, int] = {}
    for number, (raw_id, name, url, _picture) in _table(path, "utf-8", ARTISTS_HEADER):
        artist_id = _count(path, number, "id", raw_id)
        if artist_id in seen:
            raise LastfmFormatError(f"{path}:{number}: artist id {artist_id} already "
                                    f"appears on line {seen[artist_id]}")
        if not name.strip():
            raise LastfmFormatError(f"{path}:{number}: artist {artist_id} has an empty name")
        seen[artist_id] = number
        artists.append(LastfmArtist(id=artist_id, name=name.strip(), url=url.strip()))
    return artists


def normalise_tag(value: str) -> str:
    """Tag names as stored: whitespace runs collapsed, stripped, lower-cased."""
    return " ".join(value.split()).lower()


def load_tag_names(root: Path) -> dict[int, str]:
    """tags.dat (ISO-8859-1): tag id -> normalised name."""
    path = root / "tags.dat"
    names: dict[int, str] = {}
    for number, (raw_id, value) in _table(path, "iso-8859-1", TAGS_HEADER):
        tag_id = _count(path, number, "tagID", raw_id)
        if tag_id in names:
            raise LastfmFormatError(f"{path}:{number}: tag id {tag_id} appears twice")
        name = normalise_tag(value)
        if not name:
            raise LastfmFormatError(f"{path}:{number}: tag {tag_id} has an empty name")
        names[tag_id] = name
    return names


def tag_assignment_files(root: Path) -> list[Path]:
    """user_taggedartists.dat, then its `_<n>` continuation parts in numeric order."""
    parts = sorted(
        (int(m.group(1)), p) for p in root.glob("user_taggedartists_*.dat")
        if (m := _USER_TAG_PART.match(p.name))
    )
    return [root / "user_taggedartists.dat", *(p for _, p in parts)]


def load_artist_tags(root: Path) -> dict[int, list[tuple[str, int]]]:
    """Artist id -> [(tag name, distinct users who applied it)], strongest first.

    Ties are in name order. Tag ids that normalise to the same name count as one tag (a
    user who applied both counts once). Artist ids absent from artists.dat are kept: the
    caller decides what to do with them (the real data has 390 such artists).
    """
    names = load_tag_names(root)
    users: dict[tuple[int, str], set[int]] = defaultdict(set)
    for path in tag_assignment_files(root):
        for number, (user, artist, tag, *_date) in _table(path, "ascii", USER_TAGS_HEADER):
            tag_id = _count(path, number, "tagID", tag)
            if tag_id not in names:
                raise LastfmFormatError(f"{path}:{number}: tagID {tag_id} is not in tags.dat")
            key = (_count(path, number, "artistID", artist), names[tag_id])
            users[key].add(_count(path, number, "userID", user))
    by_artist: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for (artist_id, name), who in users.items():
        by_artist[artist_id].append((name, len(who)))
    return {a: sorted(tags, key=lambda t: (-t[1], t[0])) for a, tags in sorted(by_artist.items())}


def tag_weights(counts: Sequence[tuple[str, int]], limit: int = TOP_TAGS,
                min_users: int = MIN_TAG_USERS) -> list[tuple[str, float]]:
    """The strongest `limit` tags with at least `min_users` users, weight = count / max."""
    kept = sorted((t for t in counts if t[1] >= min_users), key=lambda t: (-t[1], t[0]))[:limit]
    if not kept:
        return []
    top = kept[0][1]
    return [(name, count / top) for name, count in kept]


def load_interactions(root: Path) -> Interactions:
    """user_artists.dat: one row per (user, artist) with its listening count."""
    path = root / "user_artists.dat"
    users: list[int] = []
    artists: list[int] = []
    weights: list[int] = []
    for number, (user, artist, weight) in _table(path, "ascii", USER_ARTISTS_HEADER):
        users.append(_count(path, number, "userID", user))
        artists.append(_count(path, number, "artistID", artist))
        weights.append(_count(path, number, "weight", weight))
    return Interactions(users=np.asarray(users, dtype=np.int64),
                        artists=np.asarray(artists, dtype=np.int64),
                        weights=np.asarray(weights, dtype=np.float64))


# --- import ----------------------------------------------------------------------------


@dataclass
class LastfmImportReport:
    dataset: str = ""
    dataset_created: bool = False
    dataset_envs: str = ""
    artists_created: int = 0
    artists_known: int = 0
    tagged_artists: int = 0
    tag_assignments: int = 0  # (artist, tag) rows written
    unknown_tagged_artists: int = 0  # tagged ids absent from artists.dat: nothing to tag
    interactions: int = 0
    interaction_users: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per phase

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def lines(self) -> list[str]:
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return [
            f"data set {self.dataset} ({'registered' if self.dataset_created else 'known'}): "
            f"allowed in {self.dataset_envs}",
            f"artists  {self.artists_created + self.artists_known:6d}  "
            f"({self.artists_created} new, {self.artists_known} already known)",
            f"tags     {self.tag_assignments:6d}  internal-taxonomy tags on "
            f"{self.tagged_artists} artists ({self.unknown_tagged_artists} tagged artist "
            "ids absent from artists.dat skipped)",
            f"listens  {self.interactions:6d}  user-artist listening counts of "
            f"{self.interaction_users} users, available to training and evaluation",
            f"took {self.total_seconds:.1f} s ({phases})",
        ]


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def artist_input(artist: LastfmArtist) -> ipb.ArtistInput:
    return ipb.ArtistInput(name=artist.name, external_ids=[
        common_pb2.ExternalId(source=SOURCE, external_id=str(artist.id))])


def artist_tags_item(juke_id: str, tags: Sequence[tuple[str, float]]) -> ipb.ResourceTags:
    return ipb.ResourceTags(ref=juke_id, type=common_pb2.RESOURCE_TYPE_ARTIST, tags=[
        # Provenance: consumers use these tags only where governance allows HetRec.
        ipb.TagInput(name=name, source=common_pb2.TAG_SOURCE_INTERNAL, weight=weight,
                     dataset=HETREC_NAME)
        for name, weight in tags])


def register_dataset(governance: GovernanceServiceStub, dataset: gpb.DatasetInput,
                     report: LastfmImportReport) -> None:
    """Record the data set and its license first; refuse when no environment allows it."""
    reply = governance.RegisterDataset(gpb.RegisterDatasetRequest(dataset=dataset))
    decision = reply.dataset.decision
    report.dataset, report.dataset_created = reply.dataset.name, reply.created
    report.dataset_envs = gpb.AllowedEnvs.Name(decision.allowed_envs) \
        .removeprefix("ALLOWED_ENVS_").lower()
    if not (decision.research or decision.production):
        reasons = ", ".join(dict.fromkeys(r.code for r in decision.reasons)) or "none given"
        raise LastfmImportRefused(f"governance allows data set {reply.dataset.name!r} in no "
                                  f"environment ({reasons}); nothing imported")


def import_hetrec(
    identity: IdentityServiceStub,
    governance: GovernanceServiceStub,
    root: Path,
    progress: Progress | None = None,
    *,
    with_tags: bool = True,
    top_tags: int = TOP_TAGS,
    min_tag_users: int = MIN_TAG_USERS,
) -> LastfmImportReport:
    """Register the data set, upsert its artists, attach their top tags; idempotent."""
    report = LastfmImportReport()
    started = time.perf_counter()
    # Everything is read and checked (files present, license stated, rows well formed)
    # before anything is written anywhere.
    dataset = hetrec_dataset(root)
    artists = load_artists(root)
    artist_tags = load_artist_tags(root) if with_tags else {}
    interactions = load_interactions(root)
    report.interactions = len(interactions)
    report.interaction_users = len(np.unique(interactions.users))
    report.seconds["parse"] = time.perf_counter() - started

    started = time.perf_counter()
    register_dataset(governance, dataset, report)
    report.seconds["register"] = time.perf_counter() - started

    tag_items = [(a.id, tags) for a in artists
                 if (tags := tag_weights(artist_tags.get(a.id, ()), top_tags, min_tag_users))]
    report.unknown_tagged_artists = len(artist_tags.keys() - {a.id for a in artists})
    total = len(artists) + len(tag_items)
    started = time.perf_counter()
    juke_ids = _upsert_artists(identity, artists, report, progress, total)
    report.seconds["artists"] = time.perf_counter() - started

    started = time.perf_counter()
    _add_tags(identity, tag_items, juke_ids, report, progress, total)
    report.seconds["tags"] = time.perf_counter() - started
    return report


def _upsert_artists(identity: IdentityServiceStub, artists: Sequence[LastfmArtist],
                    report: LastfmImportReport, progress: Progress | None,
                    total: int) -> dict[int, str]:
    juke_ids: dict[int, str] = {}
    done = 0
    for batch in _batches(artists):
        results = identity.UpsertArtists(
            ipb.UpsertArtistsRequest(artists=[artist_input(a) for a in batch])).results
        for artist, result in zip(batch, results, strict=True):
            juke_ids[artist.id] = result.juke_id
            if result.created:
                report.artists_created += 1
            else:
                report.artists_known += 1
        done += len(batch)
        if progress:
            progress(done, total)
    return juke_ids


def lastfm_juke_ids(identity: IdentityServiceStub, lastfm_ids: Iterable[int]) -> dict[int, str]:
    """Last.fm artist id -> catalog juke_id, for the ids the catalog knows (others absent)."""
    ids = sorted({int(i) for i in lastfm_ids})
    found: dict[int, str] = {}
    for batch in _batches(ids):
        results = identity.BatchResolve(ipb.BatchResolveRequest(refs=[
            ipb.ResolveRef(ref=f"{SOURCE}:{i}", type=common_pb2.RESOURCE_TYPE_ARTIST)
            for i in batch])).results
        for lastfm_id, result in zip(batch, results, strict=True):
            if result.found:
                found[lastfm_id] = result.resource.juke_id
    return found


def _add_tags(identity: IdentityServiceStub, items: Sequence[tuple[int, list[tuple[str, float]]]],
              juke_ids: dict[int, str], report: LastfmImportReport, progress: Progress | None,
              total: int) -> None:
    done = total - len(items)
    for batch in _batches(items):
        written = identity.AddTags(ipb.AddTagsRequest(items=[
            artist_tags_item(juke_ids[artist_id], tags) for artist_id, tags in batch]))
        report.tag_assignments += written.tags_written
        report.tagged_artists += len(batch)
        done += len(batch)
        if progress:
            progress(done, total)
