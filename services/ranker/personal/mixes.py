"""Daily mixes: a user's listening history clustered into up to N coherent mixes, each
filled with recommendations seeded by its cluster. No gRPC here.

1. History: the user's positively weighted items (user_history.py: play/complete 1, like 2,
   skip 0, dislike -2, positive totals only), the 500 heaviest.
2. One point per item: [sqrt(w_content) * unit content vector | sqrt(w_tags) * unit tag
   profile], so a squared distance is w_content * (content distance)^2 + w_tags * (tag
   distance)^2 (defaults 0.6 / 0.4). The content part is the item's vector under the
   active embedding model (albums and artists: the mean of their tracks'); the tag part is
   the catalog's IDF-weighted tag/genre profile. An item lacking one part takes the
   history's weighted mean of that part, so it clusters by what it has; a part nobody has
   (no active model, an untagged catalog) is left out.
3. Weighted k-means (clustering.py: k-means++ with a fixed seed, deterministic for the
   same history) for every k from 2 to min(max_mixes, items // min_items_per_mix); the k
   with the best silhouette wins, and when even that is below `min_silhouette` the
   history has no structure worth splitting and stays one mix. Clusters with fewer than
   `min_items_per_mix` items seed no mix (outliers). Mixes are ordered by the listening
   weight of their cluster, heaviest first.
4. A mix: title from the cluster's leading tag ("Mix 1: shoegaze"; a tag already used as
   an earlier mix's title is skipped), its top tags (the cluster's listening-weighted tag
   shares), seeds = the cluster's items heaviest first, items = the production hybrid
   (`RankerService.recommend`) seeded by its 20 heaviest items, tracks only, excluding
   the user's whole history and every item an earlier mix already holds, so mixes never
   overlap.
Fewer than MIN_INTERACTIONS qualifying items (or no mix that found anything): one mix from
the personal recommender's fallback (popularity, else the catalog), titled as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.common.db import Database
from services.common.errors import InvalidArgument
from services.ranker.core.clustering import kmeans, silhouette
from services.ranker.core.features import CatalogFeatures
from services.ranker.personal.recommendations import MIN_INTERACTIONS, PersonalRecommender
from services.ranker.personal.user_history import (
    History,
    content_vectors,
    load_history,
    tag_profiles,
)
from services.ranker.personal.user_ids import check_user_id
from services.ranker.serving.service import Bundle, Content, Query, RankerService, Result

MAX_MIXES_CAP = 10
MIX_SIZE_CAP = 50
MIX_SEEDS = 20          # the heaviest items of a cluster that seed its recommendations
TOP_TAGS = 5
FALLBACK_TITLES = {
    "popularity": f"Popular right now (your own mixes start at {MIN_INTERACTIONS} played "
                  "items)",
    "catalog": f"From the catalog (your own mixes start at {MIN_INTERACTIONS} played items)",
}


@dataclass(frozen=True)
class MixSettings:
    max_mixes: int = 4              # JUKE_DAILY_MIXES_MAX
    mix_size: int = 10              # JUKE_DAILY_MIX_SIZE
    min_items_per_mix: int = 3
    content_weight: float = 0.6
    tag_weight: float = 0.4
    min_silhouette: float = 0.1
    seed: int = 7

    def __post_init__(self) -> None:
        check_count("max_mixes", self.max_mixes, MAX_MIXES_CAP)
        check_count("mix_size", self.mix_size, MIX_SIZE_CAP)
        if self.min_items_per_mix < 1:
            raise InvalidArgument(f"min_items_per_mix={self.min_items_per_mix} must be >= 1")
        for name in ("content_weight", "tag_weight"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise InvalidArgument(f"{name}={value!r} must be a finite number >= 0")
        if self.content_weight + self.tag_weight <= 0:
            raise InvalidArgument("content_weight and tag_weight cannot both be 0")


def check_count(name: str, value: int, cap: int) -> int:
    if not 1 <= value <= cap:
        raise InvalidArgument(f"{name} {value} is outside 1..{cap}")
    return value


@dataclass(frozen=True)
class Mix:
    index: int                                  # 1-based
    title: str
    top_tags: tuple[str, ...]
    seeds: tuple[tuple[str, str, str], ...]     # (type, juke_id, name), heaviest first
    result: Result                              # the recommended items and their bundle


@dataclass(frozen=True)
class MixesResult:
    mixes: tuple[Mix, ...]
    bundle: Bundle
    history_items: int      # distinct positively played items considered
    path: str               # clusters | popularity | catalog | cf | history (fallbacks)


# --- pure steps (unit-tested) ---------------------------------------------------------------


def _imputed_block(block: np.ndarray, present: np.ndarray, weights: np.ndarray
                   ) -> np.ndarray:
    """Rows of items without this part take the weighted mean of the rows that have it."""
    out = block.astype(np.float64, copy=True)
    if present.any() and not present.all():
        out[~present] = np.average(block[present], axis=0, weights=weights[present])
    return out


def mix_points(content: np.ndarray, tags: np.ndarray, weights: np.ndarray,
               settings: MixSettings) -> np.ndarray:
    """One clustering point per item from unit content rows and unit tag rows (zero rows:
    the item lacks that part), see the module docstring."""
    blocks = []
    for block, weight in ((content, settings.content_weight), (tags, settings.tag_weight)):
        present = np.linalg.norm(block, axis=1) > 0 if block.size else np.zeros(0, bool)
        if weight > 0 and present.any():
            blocks.append(np.sqrt(weight) * _imputed_block(block, present, weights))
    return np.hstack(blocks) if blocks else np.zeros((len(weights), 1))


def choose_clusters(points: np.ndarray, weights: np.ndarray, max_mixes: int,
                    settings: MixSettings) -> list[np.ndarray]:
    """Point indices of each kept cluster (ascending), heaviest cluster first."""
    n = len(points)
    labels = np.zeros(n, dtype=np.int64)
    best = settings.min_silhouette
    for k in range(2, min(max_mixes, n // settings.min_items_per_mix) + 1):
        run = kmeans(points, k, weights, seed=settings.seed)
        score = silhouette(points, run.labels, weights)
        if score > best + 1e-12:
            best, labels = score, run.labels
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    kept = [g for g in groups if len(g) >= settings.min_items_per_mix]
    return sorted(kept, key=lambda g: (-float(weights[g].sum()), int(g[0])))


def cluster_tags(tags: sp.csr_matrix, weights: np.ndarray, tag_names: np.ndarray,
                 limit: int = TOP_TAGS) -> list[str]:
    """The cluster's leading tags: each item's tag profile as shares (summing to 1),
    weighted by its listening; ties by tag name."""
    sums = np.asarray(tags.sum(axis=1)).ravel()
    scale = np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 0)
    mass = np.asarray(sp.csr_matrix(sp.diags(scale) @ tags).sum(axis=0)).ravel()
    order = np.lexsort((np.arange(len(mass)), -mass))[:limit]
    return [str(tag_names[j]) for j in order if mass[j] > 0]


def mix_title(index: int, tags: list[str], used: set[str], fallback: str) -> str:
    lead = next((t for t in tags if t not in used), "") or fallback
    return f"Mix {index}: {lead}" if lead else f"Mix {index}"


# --- the service ----------------------------------------------------------------------------


class DailyMixes:
    def __init__(self, db: Database, ranker: RankerService, content: Content,
                 personal: PersonalRecommender, settings: MixSettings | None = None) -> None:
        self._db = db
        self._ranker = ranker
        self._content = content
        self._personal = personal
        self._settings = settings or MixSettings()

    def mixes(self, user_id: str, max_mixes: int = 0, mix_size: int = 0) -> MixesResult:
        user_id = check_user_id(user_id)
        max_mixes = check_count("max_mixes", max_mixes or self._settings.max_mixes,
                                MAX_MIXES_CAP)
        mix_size = check_count("mix_size", mix_size or self._settings.mix_size, MIX_SIZE_CAP)
        features = self._ranker.catalog()
        history = load_history(self._db, features, user_id)
        if len(history) >= MIN_INTERACTIONS:
            bundle = self._ranker.bundle()
            mixes = self._from_clusters(features, bundle, history, max_mixes, mix_size)
            if mixes:
                return MixesResult(tuple(mixes), bundle, len(history), "clusters")
        return self._fallback(user_id, history, mix_size)

    def _points(self, features: CatalogFeatures, bundle: Bundle, history: History
                ) -> tuple[np.ndarray, sp.csr_matrix]:
        tags = tag_profiles(features, history.ids)
        columns = np.unique(tags.indices)
        dense_tags = tags[:, columns].toarray()
        content = np.zeros((len(history), 0))
        if bundle.embedding is not None:
            vectors = content_vectors(features, self._content, bundle.embedding.model_id,
                                      history.ids)
            if vectors:
                dim = len(next(iter(vectors.values())))
                content = np.array([vectors.get(i, np.zeros(dim)) for i in history.ids])
        return mix_points(content, dense_tags, history.weights, self._settings), tags

    def _from_clusters(self, features: CatalogFeatures, bundle: Bundle, history: History,
                       max_mixes: int, mix_size: int) -> list[Mix]:
        points, tags = self._points(features, bundle, history)
        groups = choose_clusters(points, history.weights, max_mixes, self._settings)
        used: list[str] = []
        titles: set[str] = set()
        mixes: list[Mix] = []
        for group in groups:
            seeds = [history.ids[i] for i in group]
            result = self._ranker.recommend(Query(
                seeds=tuple(seeds[:MIX_SEEDS]), exclude=(*history.all_ids, *used),
                limit=mix_size, resource_types=("track",)))
            items = result.recommendation.items
            if not items:
                continue
            used += [item.id for item in items]
            top = cluster_tags(tags[group], history.weights[group], features.tag_names)
            index = len(mixes) + 1
            title = mix_title(index, top, titles, _lead_artist(features, seeds[0]))
            titles.add(title.split(": ", 1)[-1])
            mixes.append(Mix(index, title, tuple(top), _named(features, seeds), result))
        return mixes

    def _fallback(self, user_id: str, history: History, mix_size: int) -> MixesResult:
        served = self._personal.recommend(user_id, mix_size)
        title = FALLBACK_TITLES.get(served.path, "Recommended for you")
        mix = Mix(1, title, (), (), served.result)
        return MixesResult((mix,), served.result.bundle, len(history), served.path)


def _named(features: CatalogFeatures, ids: list[str]) -> tuple[tuple[str, str, str], ...]:
    out = []
    for item in ids:
        index = features.lookup(item)
        out.append((features.type_of(index), item, str(features.names[index])))
    return tuple(out)


def _lead_artist(features: CatalogFeatures, item_id: str) -> str:
    """Name of the first credited artist of an item (a title when no tag is known)."""
    row = features.artists[features.lookup(item_id)]
    if not row.nnz:
        return ""
    start = features.offsets["artist"][0]
    return str(features.names[start + int(np.min(row.indices))])
