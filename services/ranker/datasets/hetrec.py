"""Last.fm HetRec 2011: artists, tags, tag assignments and listening counts, read and checked.

The data set (`readme.txt` beside the files) is tab separated with a header row. Line ends
are CRLF except in `artists.dat` (LF); `tags.dat` is ISO-8859-1, `artists.dat` UTF-8, the
rest ASCII. `user_taggedartists.dat` may be split into `user_taggedartists_<n>.dat` parts,
each with its own header; the parts are read in order as one table.

Every row is checked (field count, ids and counts non-negative integers, the encoding, ids
unique where the readme says so); a row that fails raises `HetrecFormatError` naming the
file and line, so a damaged copy is never read as a smaller data set.

Tag choice (`tag_weights`), shared by the importer and the evaluation so that both see the
same tags. A tag's strength on an artist is the number of distinct users who applied it
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
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HETREC_NAME = "lastfm-hetrec-2011"  # the data set's name, as registered with governance
ADAPTER_SOURCE = "lastfm"  # the catalog knows its artists by adapter id "lastfm:<artist id>"
TOP_TAGS = 20
MIN_TAG_USERS = 1

ARTISTS_HEADER = ("id", "name", "url", "pictureURL")
TAGS_HEADER = ("tagID", "tagValue")
USER_ARTISTS_HEADER = ("userID", "artistID", "weight")
USER_TAGS_HEADER = ("userID", "artistID", "tagID", "day", "month", "year")
_USER_TAG_PART = re.compile(r"user_taggedartists_(\d+)\.dat")
_COUNT = re.compile(r"[0-9]+")


class HetrecFormatError(ValueError):
    """A file of the data set does not have the documented format; names file and line."""


@dataclass(frozen=True)
class LastfmArtist:
    id: int
    name: str
    url: str


@dataclass(frozen=True)
class _UserArtistRows:
    """A table's rows as parallel arrays, one element per row, led by (user, artist) ids."""

    users: np.ndarray  # int64
    artists: np.ndarray  # int64: Last.fm artist ids

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True)
class ListeningCounts(_UserArtistRows):
    """user_artists.dat: (user id, Last.fm artist id, listening count)."""

    weights: np.ndarray  # float64


@dataclass(frozen=True)
class TagAssignments(_UserArtistRows):
    """user_taggedartists*.dat: (user id, Last.fm artist id, tag id)."""

    tags: np.ndarray  # int64


# --- rows ------------------------------------------------------------------------------


def _decoded(path: Path, encoding: str) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the Last.fm HetRec data set")
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise HetrecFormatError(f"{path}:{line}: not valid {encoding} "
                                f"(byte {data[err.start]:#04x})") from None


def _table(path: Path, encoding: str, header: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each data row; the header is checked, empty lines skipped."""
    # Split on \n only: str.splitlines() would also break on U+0085 and U+2028, which an
    # ISO-8859-1 or UTF-8 name may legitimately contain.
    lines = _decoded(path, encoding).split("\n")
    found = tuple(lines[0].removesuffix("\r").removeprefix("\ufeff").split("\t"))
    if found != header:
        raise HetrecFormatError(f"{path}:1: expected the header {chr(9).join(header)!r}, "
                                f"found {chr(9).join(found)!r}")
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.removesuffix("\r")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise HetrecFormatError(f"{path}:{number}: expected {len(header)} tab-separated "
                                    f"fields ({', '.join(header)}), found {len(fields)}: "
                                    f"{line[:80]!r}")
        yield number, fields


def _count(path: Path, number: int, column: str, value: str) -> int:
    if not _COUNT.fullmatch(value):
        raise HetrecFormatError(f"{path}:{number}: {column} {value!r} is not a "
                                "non-negative integer")
    return int(value)


# --- files -----------------------------------------------------------------------------


def read_artists(root: Path) -> list[LastfmArtist]:
    """artists.dat (UTF-8), in file order; ids must be unique and names non-empty."""
    path = root / "artists.dat"
    artists: list[LastfmArtist] = []
    seen: dict[int, int] = {}
    for number, (raw_id, name, url, _picture) in _table(path, "utf-8", ARTISTS_HEADER):
        artist_id = _count(path, number, "id", raw_id)
        if artist_id in seen:
            raise HetrecFormatError(f"{path}:{number}: artist id {artist_id} already "
                                    f"appears on line {seen[artist_id]}")
        if not name.strip():
            raise HetrecFormatError(f"{path}:{number}: artist {artist_id} has an empty name")
        seen[artist_id] = number
        artists.append(LastfmArtist(id=artist_id, name=name.strip(), url=url.strip()))
    return artists


def normalise_tag(value: str) -> str:
    """Tag names as stored: whitespace runs collapsed, stripped, lower-cased."""
    return " ".join(value.split()).lower()


def read_tag_names(root: Path) -> dict[int, str]:
    """tags.dat (ISO-8859-1): tag id -> normalised name."""
    path = root / "tags.dat"
    names: dict[int, str] = {}
    for number, (raw_id, value) in _table(path, "iso-8859-1", TAGS_HEADER):
        tag_id = _count(path, number, "tagID", raw_id)
        if tag_id in names:
            raise HetrecFormatError(f"{path}:{number}: tag id {tag_id} appears twice")
        name = normalise_tag(value)
        if not name:
            raise HetrecFormatError(f"{path}:{number}: tag {tag_id} has an empty name")
        names[tag_id] = name
    return names


def tag_assignment_files(root: Path) -> list[Path]:
    """user_taggedartists.dat, then its `_<n>` continuation parts in numeric order."""
    parts = sorted(
        (int(m.group(1)), p) for p in root.glob("user_taggedartists_*.dat")
        if (m := _USER_TAG_PART.fullmatch(p.name))
    )
    return [root / "user_taggedartists.dat", *(p for _, p in parts)]


def read_tag_assignments(root: Path, tag_names: Mapping[int, str]) -> TagAssignments:
    """Every row of user_taggedartists*.dat; each tag id must be one of `tag_names`."""
    users: list[int] = []
    artists: list[int] = []
    tags: list[int] = []
    for path in tag_assignment_files(root):
        for number, (user, artist, tag, *_date) in _table(path, "ascii", USER_TAGS_HEADER):
            users.append(_count(path, number, "userID", user))
            artists.append(_count(path, number, "artistID", artist))
            tags.append(_count(path, number, "tagID", tag))
            if tags[-1] not in tag_names:
                raise HetrecFormatError(f"{path}:{number}: tagID {tags[-1]} is not in tags.dat")
    return TagAssignments(users=np.asarray(users, dtype=np.int64),
                          artists=np.asarray(artists, dtype=np.int64),
                          tags=np.asarray(tags, dtype=np.int64))


def read_artist_tags(root: Path) -> dict[int, list[tuple[str, int]]]:
    """Artist id -> [(tag name, distinct users who applied it)], strongest first.

    Ties are in name order. Tag ids that normalise to the same name count as one tag (a
    user who applied both counts once). Artist ids absent from artists.dat are kept: the
    caller decides what to do with them (the real data has 390 such artists).
    """
    names = read_tag_names(root)
    assignments = read_tag_assignments(root, names)
    users: dict[tuple[int, str], set[int]] = defaultdict(set)
    for user, artist, tag in zip(assignments.users.tolist(), assignments.artists.tolist(),
                                 assignments.tags.tolist(), strict=True):
        users[(artist, names[tag])].add(user)
    by_artist: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for (artist_id, name), who in users.items():
        by_artist[artist_id].append((name, len(who)))
    return {a: sorted(tags, key=lambda t: (-t[1], t[0])) for a, tags in sorted(by_artist.items())}


def read_listening_counts(root: Path) -> ListeningCounts:
    """user_artists.dat: one row per (user, artist) with its listening count."""
    path = root / "user_artists.dat"
    users: list[int] = []
    artists: list[int] = []
    weights: list[int] = []
    for number, (user, artist, weight) in _table(path, "ascii", USER_ARTISTS_HEADER):
        users.append(_count(path, number, "userID", user))
        artists.append(_count(path, number, "artistID", artist))
        weights.append(_count(path, number, "weight", weight))
    return ListeningCounts(users=np.asarray(users, dtype=np.int64),
                           artists=np.asarray(artists, dtype=np.int64),
                           weights=np.asarray(weights, dtype=np.float64))


# --- tag choice ------------------------------------------------------------------------


def tag_weights(counts: Sequence[tuple[str, int]], limit: int = TOP_TAGS,
                min_users: int = MIN_TAG_USERS) -> list[tuple[str, float]]:
    """The strongest `limit` tags with at least `min_users` users, weight = count / max."""
    kept = sorted((t for t in counts if t[1] >= min_users), key=lambda t: (-t[1], t[0]))[:limit]
    if not kept:
        return []
    top = kept[0][1]
    return [(name, count / top) for name, count in kept]
