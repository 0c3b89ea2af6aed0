"""A user's positive listening history as catalog items, with the per-item features that
daily mixes (mixes.py) and taste analysis (taste.py) share. No gRPC here.

- History: `repository.user_positive_items` (event weights summed in SQL, skips worth 0,
  dislikes cancelling likes, positive totals only), restricted to items the ranker's
  catalog knows, heaviest first, capped at the `cap` heaviest items so one request costs a
  bounded amount whatever the user's history.
- Content vectors: an item's unit vector under an embedding model is its own track vector,
  or for an album, artist or genre the normalised mean of its tracks' unit vectors (at
  most ITEM_TRACKS_CAP tracks), as the content signal treats seeds.
- Tag profiles: the catalog's blended, IDF-weighted, L2-normalised tag rows (genre names
  are tags in that vocabulary, see features.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.common.db import Database
from services.ranker.core.features import CatalogFeatures
from services.ranker.serving.service import Content
from services.ranker.store import repository as repo

MAX_HISTORY_ITEMS = 500     # the heaviest items a mix or taste request looks at
ITEM_TRACKS_CAP = 10        # tracks whose vectors stand for one album/artist/genre item
VECTOR_BATCH = 500          # ids per vector request (keeps gRPC messages small)


@dataclass(frozen=True)
class History:
    ids: tuple[str, ...]        # catalog juke_ids, heaviest first
    types: tuple[str, ...]
    weights: np.ndarray         # summed event weights, all > 0
    all_ids: tuple[str, ...]    # every positively played catalog item (before the cap)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def qualifying(self) -> int:
        """Distinct catalog items with a positive total, as personal.py counts them."""
        return len(self.all_ids)


def load_history(db: Database, features: CatalogFeatures, user_id: str,
                 cap: int = MAX_HISTORY_ITEMS) -> History:
    with db.read() as session:
        rows = [r for r in repo.user_positive_items(session, user_id) if r[0] in features.index]
    kept = rows[:cap]
    return History(ids=tuple(i for i, _, _ in kept), types=tuple(t for _, t, _ in kept),
                   weights=np.array([w for _, _, w in kept], dtype=np.float64),
                   all_ids=tuple(i for i, _, _ in rows))


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix, dtype=np.float64),
                     where=norms > 0)


def item_tracks(features: CatalogFeatures, item_id: str) -> tuple[str, ...]:
    return features.track_ids_of(item_id)[:ITEM_TRACKS_CAP]


def content_vectors(features: CatalogFeatures, content: Content, model_id: str,
                    ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Unit content vector of every item that has one (see the module docstring)."""
    tracks = {item: item_tracks(features, item) for item in ids}
    wanted = sorted({t for ts in tracks.values() for t in ts})
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(wanted), VECTOR_BATCH):
        found.update(content.vectors(wanted[start:start + VECTOR_BATCH], model_id))
    out: dict[str, np.ndarray] = {}
    for item, ts in tracks.items():
        have = [found[t] for t in ts if t in found]
        if have:
            mean = unit_rows(np.asarray(have, dtype=np.float64)).mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                out[item] = mean / norm
    return out


def tag_profiles(features: CatalogFeatures, ids: Sequence[str]) -> sp.csr_matrix:
    """The items' tag rows (len(ids) x catalog tag vocabulary), unit length or empty."""
    index = np.array([features.lookup(i) for i in ids], dtype=np.int64)
    return sp.csr_matrix(features.tags[index]) if len(index) else \
        sp.csr_matrix((0, features.tags.shape[1]))
