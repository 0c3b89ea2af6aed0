"""Taste analysis of a user's listening: top genres, tags and artists, the audio centroid's
neighbourhood and a diversity score. No gRPC here.

History: as for daily mixes (user_history.py), the 500 heaviest positively weighted items,
weight w_i = the item's summed event weight; W = sum of w_i.

- Shares (top_genres, top_tags, top_artists): each item hands its weight w_i out over what
  it has in proportion to its row: equally over its genres (its own, its release's and its
  artists' genre links), equally over its credited artists, over its tags by their share
  of its (IDF-weighted) tag profile. share(x) = (what x received) / W, so the shares of
  one list sum to at most 1 (less where items have no genre, artist or tag).
- Audio centroid: c = sum_i w_i v_i / sum_i w_i over the history items with a content
  vector v_i (unit length; albums and artists: their tracks' mean) under the active
  embedding model. Its neighbourhood: the catalog tracks nearest to c/|c| (Content.neighbors),
  the history and the tracks it stands for excluded, weighted by their cosine to c.
- Diversity, 0..1: the listening-weighted mean cosine distance between two different
  history items, divided by the largest distance the basis allows. With p_i = w_i / W and
  unit vectors, sum_{i != j} p_i p_j (1 - cos_ij) = 1 - |sum_i p_i v_i|^2, so the mean over
  distinct pairs is (1 - |c|^2) / (1 - sum_i p_i^2). Basis `content` (at least two items
  with vectors): audio vectors may point anywhere, distances lie in 0..2, divide by 2.
  Otherwise basis `tags` (at least two tagged items): tag profiles are non-negative,
  distances lie in 0..1, divide by 1. Otherwise `none`, diversity 0. A history of one
  artist's one sound (identical vectors) scores 0; it grows as the sounds spread apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.common.db import Database
from services.common.errors import InvalidArgument
from services.ranker.core.features import CatalogFeatures, binary
from services.ranker.personal.user_history import (
    History,
    content_vectors,
    item_tracks,
    load_history,
)
from services.ranker.personal.user_ids import check_user_id
from services.ranker.serving.ports import ActiveEmbedding
from services.ranker.serving.service import Content, RankerService

DEFAULT_LIMIT = 10
MAX_LIMIT = 50


@dataclass(frozen=True)
class Weighted:
    type: str
    id: str
    name: str
    weight: float


@dataclass(frozen=True)
class TasteAnalysis:
    user_id: str
    qualifying: int
    top_genres: tuple[Weighted, ...]
    top_tags: tuple[tuple[str, float], ...]
    top_artists: tuple[Weighted, ...]
    neighbourhood: tuple[Weighted, ...]
    embedding_model: str
    embedded_items: int
    diversity: float
    diversity_basis: str        # content | tags | none


# --- pure steps (unit-tested) ---------------------------------------------------------------


def shares(weights: np.ndarray, membership: sp.csr_matrix) -> np.ndarray:
    """Per column, the share of the total weight its rows hand it (see the module doc)."""
    membership = sp.csr_matrix(membership, dtype=np.float64)
    sums = np.asarray(membership.sum(axis=1)).ravel()
    scale = np.divide(weights, sums, out=np.zeros_like(weights, dtype=np.float64),
                      where=sums > 0)
    received = np.asarray(sp.csr_matrix(sp.diags(scale) @ membership).sum(axis=0)).ravel()
    total = float(np.sum(weights))
    return received / total if total > 0 else received


def top_columns(values: np.ndarray, limit: int) -> list[int]:
    """The `limit` largest positive entries, ties by column."""
    order = np.lexsort((np.arange(len(values)), -values))[:limit]
    return [int(j) for j in order if values[j] > 0]


def centroid(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Listening-weighted mean of unit vectors (length <= 1)."""
    return np.asarray(np.average(vectors, axis=0, weights=weights), dtype=np.float64)


def diversity(vectors: np.ndarray, weights: np.ndarray, max_distance: float) -> float:
    """Weighted mean cosine distance over distinct pairs / max_distance, in 0..1."""
    if len(vectors) < 2:
        return 0.0
    p = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
    pair_mass = 1.0 - float(np.sum(p ** 2))
    if pair_mass <= 1e-12:  # all weight on one item
        return 0.0
    spread = 1.0 - float(np.sum(centroid(vectors, p) ** 2))
    return float(np.clip(spread / pair_mass / max_distance, 0.0, 1.0))


# --- the service ----------------------------------------------------------------------------


class TasteAnalyser:
    def __init__(self, db: Database, ranker: RankerService, content: Content) -> None:
        self._db = db
        self._ranker = ranker
        self._content = content

    def taste(self, user_id: str, limit: int = 0) -> TasteAnalysis:
        user_id = check_user_id(user_id)
        limit = limit or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit {limit} is outside 1..{MAX_LIMIT}")
        features = self._ranker.catalog()
        history = load_history(self._db, features, user_id)
        model = self._content.active()
        if not len(history):
            return TasteAnalysis(user_id, 0, (), (), (), (), model.label if model else "", 0,
                                 0.0, "none")
        seeds = features.expand_seeds(list(history.ids))
        genres = _membership(features.related(seeds, "genre"), features, "genre")
        tags = seeds.tags
        vectors = content_vectors(features, self._content, model.model_id,
                                  history.ids) if model else {}
        embedded = [k for k, i in enumerate(history.ids) if i in vectors]
        matrix = np.array([vectors[history.ids[k]] for k in embedded])
        basis, score = _diversity(matrix, history.weights[embedded], tags, history.weights)
        return TasteAnalysis(
            user_id=user_id, qualifying=history.qualifying,
            top_genres=_top_resources(features, "genre", shares(history.weights, genres),
                                      limit),
            top_tags=tuple((str(features.tag_names[j]), float(s)) for s, j in
                           _ranked(shares(history.weights, tags), limit)),
            top_artists=_top_resources(features, "artist",
                                       shares(history.weights, binary(seeds.artists)), limit),
            neighbourhood=self._neighbourhood(features, model, history, matrix,
                                              history.weights[embedded], limit),
            embedding_model=model.label if model else "", embedded_items=len(embedded),
            diversity=score, diversity_basis=basis)

    def _neighbourhood(self, features: CatalogFeatures, model: ActiveEmbedding | None,
                       history: History, vectors: np.ndarray, weights: np.ndarray,
                       limit: int) -> tuple[Weighted, ...]:
        if model is None or not len(vectors):
            return ()
        centre = centroid(vectors, weights)
        norm = float(np.linalg.norm(centre))
        if norm <= 1e-9:  # the sounds cancel out: no direction to search in
            return ()
        centre /= norm
        heard = {t for item in history.all_ids for t in (item, *_tracks_of(features, item))}
        # The embedder skips `heard` itself; twice the limit leaves room for neighbours
        # outside the ranker's catalog (ineligible data sets).
        found = self._content.neighbors(centre, 2 * limit, model.model_id, sorted(heard))
        out: list[Weighted] = []
        for item, vector in zip(found.ids, found.vectors, strict=True):
            if item in heard or item not in features.index:
                continue
            unit = np.asarray(vector, dtype=np.float64)
            cosine = float(unit @ centre / max(float(np.linalg.norm(unit)), 1e-12))
            index = features.lookup(item)
            out.append(Weighted(features.type_of(index), item, str(features.names[index]),
                                cosine))
        return tuple(sorted(out, key=lambda w: (-w.weight, w.id))[:limit])


def _tracks_of(features: CatalogFeatures, item: str) -> tuple[str, ...]:
    return item_tracks(features, item) if item in features.index else ()


def _ranked(values: np.ndarray, limit: int) -> list[tuple[float, int]]:
    return [(float(values[j]), j) for j in top_columns(values, limit)]


def _membership(related: dict[str, tuple[str, ...]], features: CatalogFeatures,
                resource_type: str) -> sp.csr_matrix:
    """items x resources-of-a-type 0/1 matrix from `CatalogFeatures.related` output."""
    start = features.offsets[resource_type][0]
    rows, cols = [], []
    for k, reached in enumerate(related.values()):
        rows += [k] * len(reached)
        cols += [features.lookup(r) - start for r in reached]
    return binary(sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                                shape=(len(related), features.count(resource_type))))


def _top_resources(features: CatalogFeatures, resource_type: str, values: np.ndarray,
                   limit: int) -> tuple[Weighted, ...]:
    start = features.offsets[resource_type][0]
    return tuple(Weighted(resource_type, str(features.ids[start + j]),
                          str(features.names[start + j]), s) for s, j in _ranked(values, limit))


def _diversity(vectors: np.ndarray, vector_weights: np.ndarray, tags: sp.csr_matrix,
               weights: np.ndarray) -> tuple[str, float]:
    if len(vectors) >= 2:
        return "content", diversity(vectors, vector_weights, 2.0)
    tagged = np.flatnonzero(np.diff(tags.indptr) > 0)
    if len(tagged) >= 2:
        rows = tags[tagged][:, np.unique(tags.indices)].toarray()  # the tags in use only
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return "tags", diversity(rows, weights[tagged], 1.0)
    return "none", 0.0
