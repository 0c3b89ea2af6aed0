"""Catalog features for the ranker: index maps and sparse relation matrices, built once.

`CatalogFeatures.build(rows)` takes plain `ResourceRow`s (artists, albums, tracks, genres, as
the identity service lists them) and precomputes everything a request needs, so scoring is
a handful of sparse products.

Index. Every resource gets a global row: artists first, then albums, tracks, genres, each
block sorted by id. A type is therefore a contiguous slice, the local index of an item is
its global index minus the slice start, and ties broken by index are broken by id.

Profiles (one CSR matrix per relation, one row per resource, any type). The metadata rules
compare a seed's row with a candidate's row, whatever their types:

- `artists` (N x artists): an artist is itself; a track its credited artists; an album its
  credited artists plus those of its tracks.
- `albums` (N x albums): a track its release; an album itself; an artist every release it
  is credited on or has a track on.
- `works` (N x works): a track its work MBIDs; albums and artists the works of their tracks.
- `tags` (N x tags): the blended tag profile described below (rows L2-normalised).
- `tracks` (N x tracks): the tracks a resource stands for (itself; an album's tracks; an
  artist's credited tracks; a genre's tracks, directly linked or through a linked album or
  artist). Seeds use it to fetch content vectors; content scores use it to reach other types.
Genres have no artist, album or work relations: they take part through tags only.

Tags. A tag is identified by its normalised name (case-folded, `-`/`_` as spaces, runs of
whitespace collapsed), so MusicBrainz tags, internal-taxonomy tags and genre links meet in
one vocabulary. Blending: every assertion of tag t on item i (a MusicBrainz tag, an
internal tag, a link to the genre named t, or, for a genre, its own name) is a confidence
w in 0..1, combined as a probabilistic OR, 1 - prod(1 - w): two sources agreeing raise the
weight, neither can push it past 1, and one source alone keeps its own weight. Own
profiles are IDF-weighted (idf = 1 + log((1 + tagged items) / (1 + items with the tag)))
and L2-normalised. Then each resource borrows from its neighbours (track <-> release,
track <-> artist, release <-> artist, resource <-> genre): profile = L2norm(own +
`propagation` * mean of the tagged neighbours' own profiles). A track without tags thus
inherits its release's and artists' tags, an artist gets its tracks' tags, and a genre gets
the tags of the things filed under it (so related genres meet).

Bad input (unknown type, duplicate id, a reference to a missing or wrongly typed resource,
a tag weight outside 0..1, an unknown tag source) raises InvalidArgument naming the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.common.errors import InvalidArgument, NotFound
from services.common.resource_types import RESOURCE_TYPES

TAG_SOURCES = ("musicbrainz", "internal")
# The weight, 0..1, of "this resource is filed under genre g" as an assertion of tag g.
GENRE_LINK_WEIGHT = 1.0
# A confidence of exactly 1 would make log(1 - w) infinite in the OR blend.
_MAX_CONFIDENCE = 1.0 - 1e-12


@dataclass(frozen=True)
class TagRow:
    name: str
    source: str  # musicbrainz | internal
    weight: float  # 0..1


@dataclass(frozen=True)
class ResourceRow:
    """One catalog resource with its relations, as loaded from the identity service."""

    id: str
    type: str  # artist | album | track | genre
    name: str = ""
    artist_ids: tuple[str, ...] = ()  # album, track: credited artists
    album_id: str | None = None  # track: its release
    work_ids: tuple[str, ...] = ()  # track: MusicBrainz work MBIDs
    genre_ids: tuple[str, ...] = ()  # artist, album, track: genres it is filed under
    tags: tuple[TagRow, ...] = ()
    duration_ms: int = 0  # track
    release_date: str = ""  # album: ISO 8601, possibly partial (YYYY, YYYY-MM)


@dataclass(frozen=True)
class ItemDetails:
    """What an app shows beside a recommended item, from the catalog snapshot."""

    artist_names: tuple[str, ...] = ()
    album_name: str = ""
    duration_ms: int = 0
    release_year: int = 0  # 0: unknown


@dataclass(frozen=True)
class FeatureSettings:
    # Weight of the neighbours' mean tag profile against a resource's own (see module doc).
    propagation: float = 0.5
    # Per tag and output type, the items (strongest first) through which a seed's tag
    # can reach candidates, and how many candidates one request's tags reach in all; see
    # `CatalogFeatures.tag_postings`.
    tag_candidates: int = 2000
    tag_budget: int = 4000

    def __post_init__(self) -> None:
        if not (np.isfinite(self.propagation) and self.propagation >= 0):
            raise InvalidArgument(f"propagation={self.propagation!r} must be finite and >= 0")
        if self.tag_candidates < 1:
            raise InvalidArgument(f"tag_candidates={self.tag_candidates!r} must be >= 1")
        if self.tag_budget < 1:
            raise InvalidArgument(f"tag_budget={self.tag_budget!r} must be >= 1")


_TAG_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise_tag(name: str) -> str:
    """The vocabulary key of a tag or genre name: 'Hip-Hop' and 'hip hop' are one tag."""
    return _TAG_SEPARATORS.sub(" ", name.casefold()).strip()


def l2_normalise_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ matrix)


def row_mean_operator(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to sum 1 (a mean over each row's nonzeros); all-zero rows stay zero."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_matrix(sp.diags(scale) @ matrix)


def binary(matrix: sp.spmatrix) -> sp.csr_matrix:
    """1 where the (nonnegative) matrix is nonzero."""
    out = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out


def _incidence(rows: Sequence[int], cols: Sequence[int], shape: tuple[int, int]) -> sp.csr_matrix:
    data = np.ones(len(rows), dtype=np.float64)
    return binary(sp.csr_matrix((data, (np.asarray(rows), np.asarray(cols))), shape=shape))


@dataclass(frozen=True)
class SeedSet:
    """Seeds resolved against the catalog, in request order, with their profile rows.

    Each matrix has one row per seed; see the module docstring for what a row holds for
    each seed type. `CatalogFeatures.related(seeds, out_type)` lists, per seed, the
    resources of an output type it reaches directly.
    """

    ids: tuple[str, ...]
    types: tuple[str, ...]
    index: np.ndarray  # global indices, shape (S,)
    artists: sp.csr_matrix
    albums: sp.csr_matrix
    works: sp.csr_matrix
    tags: sp.csr_matrix
    tracks: sp.csr_matrix

    def __len__(self) -> int:
        return len(self.ids)


class CatalogFeatures:
    """Immutable catalog index and relation matrices; build with `CatalogFeatures.build`."""

    def __init__(
        self,
        ids: np.ndarray,
        names: np.ndarray,
        offsets: dict[str, tuple[int, int]],
        artists: sp.csr_matrix,
        albums: sp.csr_matrix,
        works: sp.csr_matrix,
        tags: sp.csr_matrix,
        tracks: sp.csr_matrix,
        genres: sp.csr_matrix,
        neighbours: sp.csr_matrix,
        tag_names: np.ndarray,
        work_ids: np.ndarray,
        durations: np.ndarray | None = None,
        years: np.ndarray | None = None,
        album_of: np.ndarray | None = None,
        tag_candidates: int = FeatureSettings.tag_candidates,
        tag_budget: int = FeatureSettings.tag_budget,
    ) -> None:
        self.ids = ids
        self.names = names
        self.offsets = offsets
        self.index: dict[str, int] = {str(item): i for i, item in enumerate(ids)}
        self.artists = artists
        self.albums = albums
        self.works = works
        self.tags = tags
        self.tracks = tracks
        self.genres = genres
        # Symmetric 0/1 adjacency: track-release, track-artist, release-artist, item-genre.
        self.neighbours = neighbours
        self.tag_names = tag_names
        self.work_ids = work_ids
        self.durations = np.zeros(len(ids), np.int64) if durations is None else durations
        self.years = np.zeros(len(ids), np.int32) if years is None else years
        # A track's release as a global index, -1 for everything else.
        self.album_of = np.full(len(ids), -1, np.int64) if album_of is None else album_of
        # Candidate-side transposes (relation x items of one type), so that scoring a few
        # seeds costs the size of the seeds' columns, not of the catalog.
        self.candidate_profiles: dict[str, dict[str, sp.csr_matrix]] = {
            out_type: {
                name: sp.csr_matrix(matrix[start:stop].T)
                for name, matrix in self.profiles().items()
            }
            for out_type, (start, stop) in offsets.items()
        }
        # Tag candidates. A popular tag is shared by a large part of the catalog, so scoring
        # every item that shares any tag with the seeds is a pass over the catalog (and, for
        # a listener's twenty favourites, many). Instead each tag lists the items of each
        # type holding it most strongly, at most `tag_candidates` of them, and a request
        # takes from its tags' lists `tag_budget` candidates in all, shared among the tags
        # by the seeds' weight on each; those candidates are then scored exactly. The work
        # per request is bounded however large the catalog or the seed list grows; an item
        # that shares only weak tags with the seeds is the one left out.
        self._tag_candidate_count = tag_candidates
        self.tag_budget = tag_budget
        self.tag_postings = {
            out_type: _ranked_postings(profiles["tags"], tag_candidates)
            for out_type, profiles in self.candidate_profiles.items()
        }
        self.tag_rows = {
            out_type: sp.csr_matrix(tags[start:stop])
            for out_type, (start, stop) in offsets.items()
        }

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def build(
        cls, rows: Iterable[ResourceRow], settings: FeatureSettings | None = None
    ) -> CatalogFeatures:
        settings = settings or FeatureSettings()
        ordered = _validated_order(list(rows))
        ids = np.array([row.id for row in ordered], dtype=object)
        names = np.array([row.name for row in ordered], dtype=object)
        offsets = _type_offsets(ordered)
        index = {row.id: i for i, row in enumerate(ordered)}
        relations = _Relations.collect(ordered, index, offsets)
        own_tags, tag_names = _own_tag_profiles(ordered, index, relations)
        neighbours = relations.neighbours()
        tags = _propagated_tags(own_tags, neighbours, settings.propagation)
        return cls(
            ids=ids,
            names=names,
            offsets=offsets,
            artists=relations.artist_profile(),
            albums=relations.album_profile(),
            works=relations.work_profile(),
            tags=tags,
            tracks=relations.track_profile(),
            genres=relations.genre_links,
            neighbours=neighbours,
            tag_names=tag_names,
            work_ids=relations.work_ids,
            tag_candidates=settings.tag_candidates,
            tag_budget=settings.tag_budget,
            **_detail_arrays(ordered, index),
        )

    # ---- as plain arrays (a snapshot other processes map) ---------------------------------

    _MATRICES = ("artists", "albums", "works", "tags", "tracks", "genres", "neighbours")
    _TEXTS = ("ids", "names", "tag_names", "work_ids")

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything the features are made of as numeric arrays (texts as UTF-8 bytes and
        offsets), for `from_arrays`; the derived candidate structures are rebuilt there."""
        out: dict[str, np.ndarray] = {}
        for name in self._MATRICES:
            matrix: sp.csr_matrix = getattr(self, name)
            out[f"{name}.data"], out[f"{name}.indices"] = matrix.data, matrix.indices
            out[f"{name}.indptr"] = matrix.indptr
            out[f"{name}.shape"] = np.array(matrix.shape, dtype=np.int64)
        for name in self._TEXTS:
            out[f"{name}.bytes"], out[f"{name}.offsets"] = _encode_texts(getattr(self, name))
        out["offsets"] = np.array([self.offsets[t] for t in RESOURCE_TYPES], dtype=np.int64)
        out["durations"], out["years"], out["album_of"] = (self.durations, self.years,
                                                            self.album_of)
        out["tag_candidates"] = np.array([self._tag_candidate_count, self.tag_budget],
                                         dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CatalogFeatures:
        """The features `to_arrays` described; arrays may be memory-mapped (not copied)."""
        matrices = {
            name: sp.csr_matrix((arrays[f"{name}.data"], arrays[f"{name}.indices"],
                                 arrays[f"{name}.indptr"]),
                                shape=tuple(int(v) for v in arrays[f"{name}.shape"]),
                                copy=False)
            for name in cls._MATRICES
        }
        texts = {name: _decode_texts(arrays[f"{name}.bytes"], arrays[f"{name}.offsets"])
                 for name in cls._TEXTS}
        spans = arrays["offsets"]
        return cls(
            offsets={t: (int(spans[k][0]), int(spans[k][1]))
                     for k, t in enumerate(RESOURCE_TYPES)},
            durations=arrays["durations"], years=arrays["years"], album_of=arrays["album_of"],
            tag_candidates=int(arrays["tag_candidates"][0]),
            tag_budget=int(arrays["tag_candidates"][1]),
            **matrices, **texts,
        )

    # ---- lookups --------------------------------------------------------------------------

    def details(self, item_id: str) -> ItemDetails:
        """Credited artists, release, duration and year of one resource (a track's year is
        its release's)."""
        row = self.index.get(item_id)
        if row is None:
            return ItemDetails()
        start = self.offsets["artist"][0]
        artist_rows = self.artists.indices[self.artists.indptr[row]:self.artists.indptr[row + 1]]
        credited = () if self.type_of(row) == "artist" else tuple(
            str(self.names[start + a]) for a in artist_rows)
        album = int(self.album_of[row])
        return ItemDetails(credited, str(self.names[album]) if album >= 0 else "",
                           int(self.durations[row]), int(self.years[row]))

    @property
    def size(self) -> int:
        return len(self.ids)

    def profiles(self) -> dict[str, sp.csr_matrix]:
        return {
            "artists": self.artists,
            "albums": self.albums,
            "works": self.works,
            "tags": self.tags,
        }

    def type_slice(self, resource_type: str) -> slice:
        start, stop = self.offsets[check_type(resource_type)]
        return slice(start, stop)

    def count(self, resource_type: str) -> int:
        start, stop = self.offsets[check_type(resource_type)]
        return stop - start

    def type_of(self, global_index: int) -> str:
        for resource_type, (start, stop) in self.offsets.items():
            if start <= global_index < stop:
                return resource_type
        raise IndexError(global_index)

    def types_of(self, global_index: np.ndarray) -> np.ndarray:
        """Type names for an array of global indices."""
        starts = np.array([self.offsets[t][0] for t in RESOURCE_TYPES])
        position = np.searchsorted(starts, global_index, side="right") - 1
        return np.array(RESOURCE_TYPES, dtype=object)[position]

    def lookup(self, item_id: str) -> int:
        try:
            return self.index[item_id]
        except KeyError:
            raise NotFound(f"resource {item_id!r} is not in the ranker's catalog") from None

    def track_ids_of(self, item_id: str) -> tuple[str, ...]:
        """The tracks whose content vectors stand for a resource (see `tracks`)."""
        row = self.tracks[self.lookup(item_id)]
        start = self.offsets["track"][0]
        return tuple(str(self.ids[start + j]) for j in np.sort(row.indices))

    def genres_of(self, item_id: str) -> set[str]:
        """juke_ids of the item's genres and of its artists' genres."""
        index = self.lookup(item_id)
        genre_start, artist_start = self.offsets["genre"][0], self.offsets["artist"][0]
        columns = set(self.genres[index].indices.tolist())
        for artist in self.artists[index].indices.tolist():
            columns |= set(self.genres[artist_start + artist].indices.tolist())
        return {str(self.ids[genre_start + c]) for c in columns}

    def top_tags(self, first: int, second: int, limit: int = 3) -> list[str]:
        """The tags that contribute most to the tag similarity of two resources."""
        tags = self.tags
        a = slice(tags.indptr[first], tags.indptr[first + 1])
        b = slice(tags.indptr[second], tags.indptr[second + 1])
        common, in_a, in_b = np.intersect1d(
            tags.indices[a], tags.indices[b], assume_unique=True, return_indices=True
        )
        weight = tags.data[a][in_a] * tags.data[b][in_b]
        order = np.lexsort((common, -weight))[:limit]
        return [str(self.tag_names[common[k]]) for k in order if weight[k] > 0]

    # ---- seeds -----------------------------------------------------------------------------

    def expand_seeds(self, seed_ids: Sequence[str]) -> SeedSet:
        """Resolve seeds (any mix of types; duplicates collapse, order kept)."""
        if isinstance(seed_ids, str):
            raise InvalidArgument(
                f"seed_ids must be a sequence of ids, got the string {seed_ids!r}"
            )
        unique = list(dict.fromkeys(seed_ids))
        if not unique:
            raise InvalidArgument("at least one seed id is required")
        index = np.array([self.lookup(seed) for seed in unique], dtype=np.int64)
        return SeedSet(
            ids=tuple(unique),
            types=tuple(self.types_of(index)),
            index=index,
            artists=self.artists[index],
            albums=self.albums[index],
            works=self.works[index],
            tags=self.tags[index],
            tracks=self.tracks[index],
        )

    def related(self, seeds: SeedSet, out_type: str) -> dict[str, tuple[str, ...]]:
        """Per seed, the resources of `out_type` it reaches through a relation.

        track: the tracks it stands for; artist: its credited artists (an artist itself);
        album: its releases; genre: the genres it, its release or its artists are filed
        under (a genre itself). The tag and co-occurrence signals reach further.
        """
        start = self.offsets[check_type(out_type)][0]
        reach = {
            "track": seeds.tracks,
            "artist": seeds.artists,
            "album": seeds.albums,
            "genre": self._genres_reached(seeds),
        }[out_type]
        reach = binary(reach)
        return {
            seed: tuple(str(self.ids[start + j]) for j in np.sort(reach[k].indices))
            for k, seed in enumerate(seeds.ids)
        }

    def _genres_reached(self, seeds: SeedSet) -> sp.csr_matrix:
        """Own genre links, those of the seed's artists and releases, and a genre itself."""
        genre_start = self.offsets["genre"][0]
        own = self.genres[seeds.index]
        via_artists = seeds.artists @ self.genres[self.type_slice("artist")]
        via_albums = seeds.albums @ self.genres[self.type_slice("album")]
        is_genre = np.flatnonzero(seeds.index >= genre_start)
        itself = sp.csr_matrix(
            (np.ones(len(is_genre)), (is_genre, seeds.index[is_genre] - genre_start)),
            shape=own.shape,
        )
        return sp.csr_matrix(own + via_artists + via_albums + itself)


def check_type(resource_type: str) -> str:
    if resource_type not in RESOURCE_TYPES:
        raise InvalidArgument(
            f"resource type {resource_type!r} is not one of {', '.join(RESOURCE_TYPES)}"
        )
    return resource_type


# ---- build helpers -------------------------------------------------------------------------


def _encode_texts(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte array and the end offset of each."""
    encoded = [str(t).encode() for t in texts]
    ends = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), ends


def _decode_texts(data: np.ndarray, ends: np.ndarray) -> np.ndarray:
    blob = np.asarray(data, dtype=np.uint8).tobytes()
    starts = np.concatenate(([0], ends))[:-1].tolist()
    return np.array([blob[a:b].decode() for a, b in zip(starts, ends.tolist(), strict=True)],
                    dtype=object)


@dataclass(frozen=True)
class TagPostings:
    """Per tag (row), items of one type ordered by how strongly they hold it."""

    indptr: np.ndarray  # (tags + 1,): tag t's items are items[indptr[t]:indptr[t + 1]]
    items: np.ndarray  # local item indices, strongest first (ties: lower index first)

    def lengths(self, tags: np.ndarray) -> np.ndarray:
        return self.indptr[tags + 1] - self.indptr[tags]


def _ranked_postings(matrix: sp.csr_matrix, keep: int) -> TagPostings:
    """Each row's entries strongest first (ties: lower column first), at most `keep`."""
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.arange(len(order)) - np.repeat(matrix.indptr[:-1], counts)
    kept = order[rank < keep]
    indptr = np.concatenate(([0], np.cumsum(np.minimum(counts, keep)))).astype(np.int64)
    return TagPostings(indptr, matrix.indices[kept].astype(np.int64))


def _validated_order(rows: list[ResourceRow]) -> list[ResourceRow]:
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row.id, str) or not row.id:
            raise InvalidArgument(f"resource id {row.id!r} must be a non-empty string")
        check_type(row.type)
        if row.id in seen:
            raise InvalidArgument(f"resource id {row.id!r} appears more than once")
        seen.add(row.id)
        _check_fields(row)
    rank = {t: k for k, t in enumerate(RESOURCE_TYPES)}
    return sorted(rows, key=lambda row: (rank[row.type], row.id))


def _check_fields(row: ResourceRow) -> None:
    if row.artist_ids and row.type not in ("album", "track"):
        raise InvalidArgument(f"{row.type} {row.id!r} cannot have artist_ids")
    if row.album_id is not None and row.type != "track":
        raise InvalidArgument(f"{row.type} {row.id!r} cannot have an album_id")
    if row.work_ids and row.type != "track":
        raise InvalidArgument(f"{row.type} {row.id!r} cannot have work_ids")
    if row.genre_ids and row.type == "genre":
        raise InvalidArgument(f"genre {row.id!r} cannot have genre_ids")
    for tag in row.tags:
        if tag.source not in TAG_SOURCES:
            raise InvalidArgument(
                f"tag {tag.name!r} of {row.id!r} has source {tag.source!r}, "
                f"not one of {', '.join(TAG_SOURCES)}"
            )
        if not 0.0 <= tag.weight <= 1.0:
            raise InvalidArgument(
                f"tag {tag.name!r} of {row.id!r} has weight {tag.weight!r}, outside 0..1"
            )


def _type_offsets(ordered: list[ResourceRow]) -> dict[str, tuple[int, int]]:
    offsets: dict[str, tuple[int, int]] = {}
    start = 0
    for resource_type in RESOURCE_TYPES:
        stop = start + sum(1 for row in ordered if row.type == resource_type)
        offsets[resource_type] = (start, stop)
        start = stop
    return offsets


def _reference(
    index: dict[str, int], offsets: dict[str, tuple[int, int]], owner: str, ref: str, expected: str
) -> int:
    """Local index (within `expected`'s block) of a referenced resource."""
    start, stop = offsets[expected]
    position = index.get(ref)
    if position is None or not start <= position < stop:
        raise InvalidArgument(
            f"{owner!r} refers to {expected} {ref!r}, which is not in the catalog"
        )
    return position - start


@dataclass
class _Relations:
    """Raw incidence matrices between the catalog's blocks (global rows, local columns)."""

    size: int
    offsets: dict[str, tuple[int, int]]
    track_artist: sp.csr_matrix  # tracks x artists
    album_artist: sp.csr_matrix  # albums x artists
    track_album: sp.csr_matrix  # tracks x albums
    track_work: sp.csr_matrix  # tracks x works
    genre_links: sp.csr_matrix  # N x genres
    work_ids: np.ndarray

    @classmethod
    def collect(
        cls,
        ordered: list[ResourceRow],
        index: dict[str, int],
        offsets: dict[str, tuple[int, int]],
    ) -> _Relations:
        counts = {t: stop - start for t, (start, stop) in offsets.items()}
        track_start = offsets["track"][0]
        album_start = offsets["album"][0]
        work_ids = np.array(sorted({w for row in ordered for w in row.work_ids}), dtype=object)
        work_index = {w: k for k, w in enumerate(work_ids)}
        ta: tuple[list[int], list[int]] = ([], [])
        aa: tuple[list[int], list[int]] = ([], [])
        tal: tuple[list[int], list[int]] = ([], [])
        tw: tuple[list[int], list[int]] = ([], [])
        gl: tuple[list[int], list[int]] = ([], [])
        for position, row in enumerate(ordered):
            for artist in row.artist_ids:
                col = _reference(index, offsets, row.id, artist, "artist")
                target = ta if row.type == "track" else aa
                target[0].append(position - (track_start if row.type == "track" else album_start))
                target[1].append(col)
            if row.album_id is not None:
                tal[0].append(position - track_start)
                tal[1].append(_reference(index, offsets, row.id, row.album_id, "album"))
            for work in row.work_ids:
                tw[0].append(position - track_start)
                tw[1].append(work_index[work])
            for genre in row.genre_ids:
                gl[0].append(position)
                gl[1].append(_reference(index, offsets, row.id, genre, "genre"))
        return cls(
            size=len(ordered),
            offsets=offsets,
            track_artist=_incidence(*ta, (counts["track"], counts["artist"])),
            album_artist=_incidence(*aa, (counts["album"], counts["artist"])),
            track_album=_incidence(*tal, (counts["track"], counts["album"])),
            track_work=_incidence(*tw, (counts["track"], len(work_ids))),
            genre_links=_incidence(*gl, (len(ordered), counts["genre"])),
            work_ids=work_ids,
        )

    def _count(self, resource_type: str) -> int:
        start, stop = self.offsets[resource_type]
        return stop - start

    def _stack(self, blocks: dict[str, sp.spmatrix], width: int) -> sp.csr_matrix:
        """Global-row matrix from per-type blocks (missing types are empty)."""
        parts = [
            sp.csr_matrix(blocks[t]) if t in blocks else sp.csr_matrix((self._count(t), width))
            for t in RESOURCE_TYPES
        ]
        return binary(sp.vstack(parts, format="csr"))

    def artist_profile(self) -> sp.csr_matrix:
        n = self._count("artist")
        album_credits = self.album_artist + self.track_album.T @ self.track_artist
        return self._stack(
            {"artist": sp.identity(n), "album": album_credits, "track": self.track_artist}, n
        )

    def album_profile(self) -> sp.csr_matrix:
        n = self._count("album")
        artist_albums = self.album_artist.T + self.track_artist.T @ self.track_album
        return self._stack(
            {"artist": artist_albums, "album": sp.identity(n), "track": self.track_album}, n
        )

    def work_profile(self) -> sp.csr_matrix:
        n = len(self.work_ids)
        return self._stack(
            {
                "artist": self.track_artist.T @ self.track_work,
                "album": self.track_album.T @ self.track_work,
                "track": self.track_work,
            },
            n,
        )

    def track_profile(self) -> sp.csr_matrix:
        n = self._count("track")
        by_type = {
            "artist": sp.csr_matrix(self.track_artist.T),
            "album": sp.csr_matrix(self.track_album.T),
            "track": sp.identity(n, format="csr"),
        }
        base = self._stack(by_type, n)
        # A genre stands for its tracks, its releases' tracks and its artists' tracks.
        by_type["genre"] = sp.csr_matrix(self.genre_links.T) @ base
        return self._stack(by_type, n)

    def neighbours(self) -> sp.csr_matrix:
        """Symmetric 0/1 adjacency over global rows (see CatalogFeatures.neighbours)."""
        n = self.size
        artist0, album0, track0, genre0 = (self.offsets[t][0] for t in RESOURCE_TYPES)
        edges: list[sp.coo_matrix] = []
        for block, row0, col0 in (
            (self.track_artist, track0, artist0),
            (self.album_artist, album0, artist0),
            (self.track_album.T @ self.track_artist, album0, artist0),
            (self.track_album, track0, album0),
            (self.genre_links, 0, genre0),
        ):
            coo = sp.coo_matrix(block)
            edges.append(sp.coo_matrix((coo.data, (coo.row + row0, coo.col + col0)), shape=(n, n)))
        upper = sp.csr_matrix((n, n))
        for edge in edges:
            upper = upper + edge.tocsr()
        return binary(upper + upper.T)


def _own_tag_profiles(
    ordered: list[ResourceRow], index: dict[str, int], relations: _Relations
) -> tuple[sp.csr_matrix, np.ndarray]:
    """IDF-weighted, L2-normalised own tag profiles (N x tags) and the tag vocabulary."""
    genre_start = relations.offsets["genre"][0]
    genre_tags = [normalise_tag(row.name) for row in ordered[genre_start:]]
    rows: list[int] = []
    keys: list[str] = []
    weights: list[float] = []
    for position, row in enumerate(ordered):
        for tag in row.tags:
            rows.append(position)
            keys.append(normalise_tag(tag.name))
            weights.append(tag.weight)
        if row.type == "genre":
            rows.append(position)
            keys.append(genre_tags[position - genre_start])
            weights.append(1.0)
    links = relations.genre_links.tocoo()
    rows.extend(links.row.tolist())
    keys.extend(genre_tags[g] for g in links.col)
    weights.extend([GENRE_LINK_WEIGHT] * links.nnz)

    key_array = np.array(keys, dtype=object)
    keep = (key_array != "") & (np.asarray(weights) > 0)
    vocabulary, columns = np.unique(key_array[keep].astype(str), return_inverse=True)
    # Probabilistic OR: 1 - prod(1 - w) = 1 - exp(sum(log(1 - w))), summed by the sparse
    # constructor over duplicate (item, tag) entries.
    log_miss = np.log1p(-np.minimum(np.asarray(weights, dtype=np.float64)[keep], _MAX_CONFIDENCE))
    shape = (len(ordered), len(vocabulary))
    summed = sp.csr_matrix((log_miss, (np.asarray(rows)[keep], columns)), shape=shape)
    summed.sum_duplicates()
    blended = summed.copy()
    blended.data = -np.expm1(summed.data)
    blended.eliminate_zeros()

    tagged_items = int(np.count_nonzero(np.diff(blended.indptr)))
    document_frequency = np.bincount(blended.indices, minlength=len(vocabulary))
    idf = 1.0 + np.log((1.0 + tagged_items) / (1.0 + document_frequency))
    weighted = sp.csr_matrix(blended @ sp.diags(idf))
    return l2_normalise_rows(weighted), vocabulary.astype(object)


def _propagated_tags(
    own: sp.csr_matrix, neighbours: sp.csr_matrix, propagation: float
) -> sp.csr_matrix:
    if propagation == 0:
        return own
    tagged = (np.diff(own.indptr) > 0).astype(np.float64)
    mean_of_tagged = row_mean_operator(sp.csr_matrix(neighbours @ sp.diags(tagged)))
    return l2_normalise_rows(sp.csr_matrix(own + propagation * (mean_of_tagged @ own)))


def _year(release_date: str) -> int:
    head = release_date[:4]
    return int(head) if len(head) == 4 and head.isdigit() else 0


def _detail_arrays(ordered: Sequence[ResourceRow], index: dict[str, int]
                   ) -> dict[str, np.ndarray]:
    durations = np.array([row.duration_ms for row in ordered], dtype=np.int64)
    years = np.array([_year(row.release_date) for row in ordered], dtype=np.int32)
    album_of = np.array([index.get(row.album_id, -1) if row.album_id else -1
                         for row in ordered], dtype=np.int64)
    tracks_with_album = album_of >= 0
    years[tracks_with_album] = np.where(years[tracks_with_album] > 0, years[tracks_with_album],
                                        years[album_of[tracks_with_album]])
    return {"durations": durations, "years": years, "album_of": album_of}
