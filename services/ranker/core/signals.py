"""The three relevance signals, each a score over the resources of one output type.

Every signal returns a `SignalScores`: the items it scores (`support`, local indices) with
their raw values (all > 0; every other item scores 0), and `parts`, per-seed detail as
sparse (seeds x items) matrices that explanations read (which seed, which rule). For
metadata and co-occurrence the parts add up exactly to the scores; for content they are
each seed's own cosine, used only to name the seed an item sounds most like. Nothing a
request computes is as long as the catalog: relations reach the items they name, tags
reach a bounded set of candidates (features.py, `tag_postings`), content the ANN pool.

Aggregation over seeds is a sum for metadata and co-occurrence, so an item related to
several seeds outranks one related to a single seed; the hybrid layer rescales each
signal per request (see hybrid.py), so the number of seeds does not change the scale.

metadata (design §7.1), for seed s and candidate c with the profiles of features.py:
    1.0 * [s and c share an artist] + 0.8 * [share a release]
  + 0.5 * cosine(tag profile s, tag profile c) + 0.4 * [share a work]
The tag term is the graded form of "shared genre/tag +0.5": 0.5 when the blended
(MusicBrainz + internal + genre links) profiles coincide, less as they diverge, nothing
without a common tag. Because profiles exist for every type the same rules serve every
seed/output pair: an artist seed reaches its own tracks by "same artist", tracks on its
releases by "same release", other artists by shared releases (collaborations, splits),
shared works (covers) and tags; a genre seed reaches items through tags.

co-occurrence (design §7.2): sum over seeds of positive PMI. `CooccurrenceIndex` aligns a
table with the catalog once. A seed in the table uses its own row; a seed that is not
(a track when the table is artist-level, an album, a genre) uses the mean of the rows of
its neighbours that are (its artists, its tracks, its release, its members). Candidates
are read the same way: one in the table takes its own column, one that is not takes the
mean over its neighbours in the table (tracks inherit their artists' scores from an
artist-level table).

content (design §7.3): each seed's vector is the mean of its tracks' L2-normalised vectors
(tracks: `CatalogFeatures.track_ids_of`), renormalised; the query is the mean of the seed
vectors, renormalised, so every seed weighs the same however many tracks it stands for.
The score is max(0, cosine(candidate, query)); the candidates (tracks, e.g. from a
pgvector ANN search with `content_query`) come with their vectors. Other output types take
the best score among their tracks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core.features import (
    CatalogFeatures,
    SeedSet,
    TagPostings,
    binary,
    check_type,
    row_mean_operator,
)
from services.ranker.core.pmi import CooccurrenceTable
from services.ranker.core.sparse_ops import (
    column_sums,
    gathered_product,
    pairwise_products,
    rows_of,
    slice_positions,
    sorted_unique,
)

METADATA = "metadata"
COOCCURRENCE = "cooccurrence"
CONTENT = "content"
SIGNALS = (CONTENT, METADATA, COOCCURRENCE)
# Folded-in CF item factors (collaborative.py): weighed only by configs that give it a
# weight, so requests and reports without a CF model look as they did before it.
COLLABORATIVE = "collaborative"
ALL_SIGNALS = (*SIGNALS, COLLABORATIVE)


@dataclass(frozen=True)
class MetadataRules:
    """Points per rule (design §7.1); `shared_tag` is reached when tag profiles coincide."""

    same_artist: float = 1.0
    same_album: float = 0.8
    shared_tag: float = 0.5
    shared_work: float = 0.4

    def __post_init__(self) -> None:
        for name, value in self.points().items():
            if not (np.isfinite(value) and value >= 0):
                raise InvalidArgument(f"metadata rule {name}={value!r} must be finite and >= 0")

    def points(self) -> dict[str, float]:
        return {
            "same_artist": self.same_artist,
            "same_album": self.same_album,
            "shared_tag": self.shared_tag,
            "shared_work": self.shared_work,
        }

    @property
    def total(self) -> float:
        return sum(self.points().values())


# The profile each rule compares, and whether it counts as a 0/1 match or graded.
_RULE_PROFILE = {
    "same_artist": ("artists", True),
    "same_album": ("albums", True),
    "shared_tag": ("tags", False),
    "shared_work": ("works", True),
}


_NO_INDEX = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class SignalScores:
    """One signal's raw scores over one output type, held sparsely: `support` (ascending
    local indices with a positive score) and `values` (those scores), `width` items in all.
    Built from a dense vector (`scores`, tests and hand-made signals) or with `sparse`, so
    that a request never materialises a vector the size of the catalog."""

    signal: str
    out_type: str
    scores: np.ndarray | None  # dense (items of out_type,), raw, >= 0; None: see support
    parts: Mapping[str, sp.csr_matrix]  # rule -> (seeds x items of out_type)
    additive: bool  # the parts sum to scores (one contribution per rule in explanations)
    # Content only: local indices and unit vectors of the candidates that have one (MMR).
    vector_index: np.ndarray = field(default_factory=lambda: _NO_INDEX)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    support: np.ndarray = field(default_factory=lambda: _NO_INDEX)
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    width: int = -1

    def __post_init__(self) -> None:
        if self.scores is None:
            return
        dense = np.asarray(self.scores, dtype=np.float64)
        support = np.flatnonzero(dense > 0)
        object.__setattr__(self, "support", support)
        object.__setattr__(self, "values", dense[support])
        object.__setattr__(self, "width", len(dense))

    @classmethod
    def sparse(cls, signal: str, out_type: str, width: int, support: np.ndarray,
               values: np.ndarray, parts: Mapping[str, sp.csr_matrix], additive: bool,
               **content: np.ndarray) -> SignalScores:
        positive = values > 0
        return cls(signal, out_type, None, parts, additive, support=support[positive],
                   values=values[positive], width=width, **content)

    def dense(self) -> np.ndarray:
        out = np.zeros(self.width)
        out[self.support] = self.values
        return out


def metadata(
    seeds: SeedSet,
    features: CatalogFeatures,
    out_type: str,
    rules: MetadataRules | None = None,
) -> SignalScores:
    """Rule-based metadata score of every `out_type` resource against the seeds."""
    rules = rules or MetadataRules()
    candidates = features.candidate_profiles[check_type(out_type)]
    seed_rows = {
        "artists": seeds.artists,
        "albums": seeds.albums,
        "works": seeds.works,
        "tags": seeds.tags,
    }
    parts: dict[str, sp.csr_matrix] = {}
    for rule, points in rules.points().items():
        profile, is_match = _RULE_PROFILE[rule]
        if is_match:
            overlap = binary(gathered_product(seed_rows[profile], candidates[profile]))
        else:
            overlap = _tag_overlap(seeds, features, out_type)
        parts[rule] = sp.csr_matrix(overlap * points)
    return SignalScores.sparse(METADATA, out_type, features.count(out_type),
                               *column_sums(parts.values()), parts, additive=True)


def _tag_overlap(seeds: SeedSet, features: CatalogFeatures, out_type: str) -> sp.csr_matrix:
    """(seeds x items of out_type) tag cosine, exact for the request's tag candidates
    (`tag_candidates`) and 0 beyond them."""
    width = features.count(out_type)
    candidates = tag_candidates(seeds.tags, features.tag_postings[out_type],
                                features.tag_budget)
    if not len(candidates):
        return sp.csr_matrix((len(seeds), width))
    cosine = sp.csr_matrix(seeds.tags @ features.tag_rows[out_type][candidates].T)
    cosine.sort_indices()
    return sp.csr_matrix((cosine.data, candidates[cosine.indices], cosine.indptr),
                         shape=(len(seeds), width))


def tag_candidates(seed_tags: sp.csr_matrix, postings: TagPostings, budget: int) -> np.ndarray:
    """The items (ascending local indices) the seeds' tags reach: from each tag's postings,
    strongest first, a share of `budget` in proportion to the seeds' summed weight on the
    tag (at least one each; a tag with fewer items gives all it has)."""
    tags, weight = column_sums([sp.csr_matrix(seed_tags)])
    if not len(tags):
        return np.zeros(0, dtype=np.int64)
    quota = np.maximum(1, np.floor(budget * weight / weight.sum())).astype(np.int64)
    take = np.minimum(quota, postings.lengths(tags))
    return sorted_unique(postings.items[slice_positions(postings.indptr[tags], take)])


def metadata_similarity(
    features: CatalogFeatures, index: np.ndarray, rules: MetadataRules | None = None
) -> np.ndarray:
    """Pairwise metadata score between resources (global indices), scaled to 0..1.

    The same rules as `metadata`, divided by their total (2.7 by default): two tracks by
    the same artist on the same release with the same tags and work score 1.
    """
    rules = rules or MetadataRules()
    total = np.zeros((len(index), len(index)))
    if rules.total == 0:
        return total
    profiles = features.profiles()
    for rule, points in rules.points().items():
        profile, is_match = _RULE_PROFILE[rule]
        overlap = pairwise_products(profiles[profile], index)
        total += points * ((overlap > 0) if is_match else np.clip(overlap, 0.0, 1.0))
    return total / rules.total


# ---- co-occurrence ------------------------------------------------------------------------


class CooccurrenceIndex:
    """A co-occurrence table aligned with a catalog; build once per (features, table)."""

    def __init__(self, features: CatalogFeatures, table: CooccurrenceTable) -> None:
        index = features.index
        a = np.array([index.get(str(item), -1) for item in table.item_a], dtype=np.int64)
        b = np.array([index.get(str(item), -1) for item in table.item_b], dtype=np.int64)
        self._align(features, a, b, np.asarray(table.co_count, dtype=np.float64),
                    np.asarray(table.pmi_score, dtype=np.float64))

    @classmethod
    def from_positions(cls, features: CatalogFeatures, a: np.ndarray, b: np.ndarray,
                       co_count: np.ndarray, pmi: np.ndarray) -> CooccurrenceIndex:
        """The same index from rows already mapped to catalog positions (-1: not held), as
        a bulk loader produces them without a Python object per row."""
        for name, values in (("item_b", b), ("co_count", co_count), ("pmi_score", pmi)):
            if len(values) != len(a):
                raise InvalidArgument(f"{name} has {len(values)} rows, item_a {len(a)}")
        if len(pmi) and not np.all(np.isfinite(pmi)):
            raise InvalidArgument("a co-occurrence pmi_score is not finite")
        index = cls.__new__(cls)
        index._align(features, np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64),
                     np.asarray(co_count, dtype=np.float64), np.asarray(pmi, dtype=np.float64))
        return index

    def _align(self, features: CatalogFeatures, a: np.ndarray, b: np.ndarray,
               co_count: np.ndarray, pmi_all: np.ndarray) -> None:
        n = features.size
        known = (a >= 0) & (b >= 0) & (a != b)
        # Pairs naming a resource the catalog does not have cannot be recommended or
        # reached from a seed; they are counted, not used.
        self.unmatched_rows = int(len(a) - known.sum())
        pmi = pmi_all[known]
        positive = pmi > 0
        rows, cols = a[known][positive], b[known][positive]
        self.ppmi = sp.csr_matrix((pmi[positive], (rows, cols)), shape=(n, n))
        self.ppmi.sum_duplicates()
        self.co_count = sp.csr_matrix((co_count[known][positive], (rows, cols)), shape=(n, n))
        in_table = np.diff(self.ppmi.indptr) > 0
        self.in_table = in_table
        # Row i: onehot(i) if i has partners, else the mean over its neighbours that do.
        via_neighbours = row_mean_operator(
            sp.csr_matrix(features.neighbours @ sp.diags(in_table.astype(np.float64)))
        )
        self.expansion = sp.csr_matrix(
            sp.diags(in_table.astype(np.float64))
            + sp.diags((~in_table).astype(np.float64)) @ via_neighbours
        )
        self.candidate_expansion = {
            out_type: sp.csr_matrix(self.expansion[start:stop].T)
            for out_type, (start, stop) in features.offsets.items()
        }
        self.features = features

    def seed_rows(self, seeds: SeedSet) -> sp.csr_matrix:
        """(seeds x N) positive PMI reached from each seed."""
        return gathered_product(rows_of(self.expansion, seeds.index), self.ppmi)


def cooccurrence(seeds: SeedSet, index: CooccurrenceIndex, out_type: str) -> SignalScores:
    """Sum over seeds of positive PMI with every `out_type` resource."""
    per_seed = gathered_product(index.seed_rows(seeds),
                                index.candidate_expansion[check_type(out_type)])
    per_seed.eliminate_zeros()
    parts = {"pmi": per_seed}
    return SignalScores.sparse(COOCCURRENCE, out_type, index.features.count(out_type),
                               *column_sums(parts.values()), parts, additive=True)


# ---- content --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentQuery:
    seed_vectors: np.ndarray  # (seeds x d), unit rows; zero rows for seeds without vectors
    vector: np.ndarray  # (d,), unit; the ANN query

    @property
    def dim(self) -> int:
        return int(self.vector.shape[0])


def content_query(seeds: SeedSet, seed_vectors: Mapping[str, np.ndarray],
                  weights: np.ndarray | None = None) -> ContentQuery | None:
    """Combine each seed's track vectors into one query (None when no seed has any).

    `seed_vectors[seed_id]` holds the vectors (k x d, or one d-vector) of the tracks the
    seed stands for; seeds missing from the mapping have no content signal. `weights`
    (one per seed, > 0; default all 1) weigh the seeds in the mean.
    """
    unknown = sorted(set(seed_vectors) - set(seeds.ids))
    if unknown:
        raise InvalidArgument(f"seed_vectors given for {unknown[0]!r}, which is not a seed")
    dims = {np.atleast_2d(np.asarray(v)).shape[1] for v in seed_vectors.values() if np.size(v)}
    if len(dims) > 1:
        raise InvalidArgument(f"seed vectors have different dimensions: {sorted(dims)}")
    if not dims:
        return None
    dim = dims.pop()
    matrix = np.zeros((len(seeds), dim))
    for k, seed in enumerate(seeds.ids):
        vectors = np.atleast_2d(np.asarray(seed_vectors.get(seed, np.zeros((0, dim))), float))
        if vectors.size:
            matrix[k] = _unit(_unit_rows(vectors).mean(axis=0))
    combined = _unit(matrix.mean(axis=0) if weights is None else weights @ matrix)
    if not np.any(combined):
        return None
    return ContentQuery(seed_vectors=matrix, vector=combined)


def content(
    seeds: SeedSet,
    features: CatalogFeatures,
    query: ContentQuery,
    candidate_ids: Sequence[str],
    candidate_vectors: np.ndarray,
    out_type: str = "track",
) -> SignalScores:
    """max(0, cosine to the query) of candidate tracks, carried to `out_type` by max.

    Candidates the catalog does not know (embedded since the features were built) are
    skipped, repeats count once; a candidate that is not a track is an error (embeddings
    are per track).
    """
    check_type(out_type)
    vectors = np.atleast_2d(np.asarray(candidate_vectors, dtype=np.float64))
    if len(candidate_ids) == 0:
        vectors = np.zeros((0, query.dim))
    if vectors.shape != (len(candidate_ids), query.dim):
        raise InvalidArgument(
            f"candidate_vectors has shape {vectors.shape}, expected "
            f"({len(candidate_ids)}, {query.dim})"
        )
    track_start, track_stop = features.offsets["track"]
    positions = np.array([features.index.get(c, -1) for c in candidate_ids], dtype=np.int64)
    for candidate, position in zip(candidate_ids, positions, strict=True):
        if position >= 0 and not track_start <= position < track_stop:
            raise InvalidArgument(f"content candidate {candidate!r} is not a track")
    # Unknown candidates are skipped; a candidate listed twice counts once (its first row).
    _, first = np.unique(positions, return_index=True)
    keep = np.sort(first[positions[first] >= 0])
    local = positions[keep] - track_start
    units = _unit_rows(vectors[keep])
    per_seed_tracks = np.clip(query.seed_vectors @ units.T, 0.0, None)  # seeds x known
    overall = np.clip(units @ query.vector, 0.0, None)
    n_tracks = track_stop - track_start

    if out_type == "track":
        by_position = np.argsort(local)
        per_seed = sp.csr_matrix(
            (
                per_seed_tracks.ravel(),
                (np.repeat(np.arange(len(seeds)), len(local)), np.tile(local, len(seeds))),
            ),
            shape=(len(seeds), n_tracks),
        )
        per_seed.eliminate_zeros()
        return SignalScores.sparse(CONTENT, out_type, n_tracks, local[by_position],
                                   overall[by_position], {"cosine": per_seed}, additive=False,
                                   vector_index=local, vectors=units)

    # An artist does not "sound like" a seed because it recorded that seed: the tracks the
    # seeds stand for are left out of the projection.
    seed_tracks = np.zeros(n_tracks, dtype=bool)
    seed_tracks[seeds.tracks.indices] = True
    usable = ~seed_tracks[local]
    local, per_seed_tracks, overall = local[usable], per_seed_tracks[:, usable], overall[usable]
    start, stop = features.offsets[out_type]
    members = sp.csr_matrix(features.tracks[start:stop][:, local])  # items x known tracks
    scores = _row_max(members.multiply(overall[None, :]))
    per_seed = (
        sp.vstack(
            [sp.csr_matrix(_row_max(members.multiply(row[None, :]))) for row in per_seed_tracks],
            format="csr",
        )
        if len(seeds)
        else sp.csr_matrix((0, stop - start))
    )
    per_seed.eliminate_zeros()
    return SignalScores(CONTENT, out_type, scores, {"cosine": per_seed}, additive=False)


def empty_signal(signal: str, features: CatalogFeatures, out_type: str) -> SignalScores:
    """A signal that has nothing to say (no table loaded, no vectors for any seed)."""
    if signal not in SIGNALS:
        raise InvalidArgument(f"signal {signal!r} is not one of {', '.join(SIGNALS)}")
    return SignalScores(signal, out_type, np.zeros(features.count(out_type)), {}, additive=True)


# ---- helpers ---------------------------------------------------------------------------------


def _row_max(matrix: sp.spmatrix) -> np.ndarray:
    matrix = sp.csr_matrix(matrix)
    if matrix.shape[1] == 0:
        return np.zeros(matrix.shape[0])
    return np.asarray(matrix.max(axis=1).toarray()).ravel()


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else np.zeros_like(vector)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(matrix)):
        raise InvalidArgument("a content vector holds a NaN or infinite value")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
