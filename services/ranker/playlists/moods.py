"""Mood buckets: the content model's mood-bearing tags grouped into eight moods (pure).

The active content model (musicnn, MSD_musicnn) predicts 50 Last.fm tags per track, and the
embedder publishes each tag whose probability reaches its threshold as an internal tag of
the track, weighted by that probability; the catalog features blend them into each track's
tag profile. A mood distribution reads those profiles on the mood-bearing tags only (genre
and decade tags such as "rock" or "00s" say little about mood and are left out, apart from
the older decades and "oldies", which form "nostalgic"):

- energetic: dance, party, electro, house, punk
- intense: metal, heavy metal, hard rock
- calm: chillout, chill, ambient, easy listening, instrumental
- tender: beautiful, mellow, acoustic
- happy: happy, catchy
- melancholic: sad
- sensual: sexy, soul, rnb
- nostalgic: oldies, 60s, 70s, 80s, classic rock

An item's strength in a bucket is the sum of its tag-profile weights on the bucket's tags;
a set's distribution is the mean over its items, divided by its total (so it sums to 1),
and empty when no item carries a mood tag. Tag names compare after `normalise_tag`.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from services.ranker.core.features import CatalogFeatures, normalise_tag

MOOD_BUCKETS: dict[str, tuple[str, ...]] = {
    "energetic": ("dance", "party", "electro", "House", "punk"),
    "intense": ("metal", "heavy metal", "hard rock"),
    "calm": ("chillout", "chill", "ambient", "easy listening", "instrumental"),
    "tender": ("beautiful", "Mellow", "acoustic"),
    "happy": ("happy", "catchy"),
    "melancholic": ("sad",),
    "sensual": ("sexy", "soul", "rnb"),
    "nostalgic": ("oldies", "60s", "70s", "80s", "classic rock"),
}
MOODS = tuple(MOOD_BUCKETS)

_MAPS: weakref.WeakKeyDictionary[CatalogFeatures, sp.csr_matrix] = weakref.WeakKeyDictionary()


def bucket_matrix(features: CatalogFeatures) -> sp.csr_matrix:
    """(tag vocabulary x moods) 0/1: which of the catalog's tags feed which mood; built
    once per catalog features."""
    cached = _MAPS.get(features)
    if cached is not None:
        return cached
    column = {normalise_tag(tag): k for k, tags in enumerate(MOOD_BUCKETS.values())
              for tag in tags}
    rows, cols = [], []
    for position, name in enumerate(features.tag_names):
        k = column.get(normalise_tag(str(name)))
        if k is not None:
            rows.append(position)
            cols.append(k)
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                           shape=(len(features.tag_names), len(MOODS)))
    _MAPS[features] = matrix
    return matrix


def item_moods(features: CatalogFeatures, index: Sequence[int] | np.ndarray) -> np.ndarray:
    """(items x moods) strength of each item (global indices) in each mood."""
    rows = features.tags[np.asarray(index, dtype=np.int64)]
    return np.asarray((rows @ bucket_matrix(features)).todense(), dtype=np.float64)


def distribution(strengths: np.ndarray) -> np.ndarray:
    """Mean over the rows, summing to 1; all zeros when no row has a mood."""
    if strengths.size == 0:
        return np.zeros(len(MOODS))
    mean = strengths.mean(axis=0)
    total = float(mean.sum())
    return mean / total if total > 0 else np.zeros(len(MOODS))
