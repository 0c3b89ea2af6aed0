"""Catalog positions of items named by 16-byte UUIDs, as bulk database reads return them.

A table read with binary COPY (co-occurrence rows) names items by their raw UUID bytes;
mapping millions of them through `str(uuid)` and a dict costs seconds, a sorted key array
and one `searchsorted` costs milliseconds.
"""

from __future__ import annotations

import uuid

import numpy as np

from services.ranker.core.features import CatalogFeatures


class UuidPositions:
    """Built once per catalog snapshot; ids that are not UUIDs are simply not found."""

    def __init__(self, features: CatalogFeatures) -> None:
        keys: list[bytes] = []
        positions: list[int] = []
        for position, item in enumerate(features.ids.tolist()):
            try:
                keys.append(uuid.UUID(str(item)).bytes)
            except ValueError:
                continue
            positions.append(position)
        key_array = np.array(keys, dtype="S16")
        order = np.argsort(key_array, kind="stable")
        self._keys = key_array[order]
        self._positions = np.array(positions, dtype=np.int64)[order]

    def of(self, keys: np.ndarray) -> np.ndarray:
        """Positions of `keys` (dtype S16), -1 where the catalog holds no such item."""
        if not len(self._keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.clip(np.searchsorted(self._keys, keys), 0, len(self._keys) - 1)
        return np.where(self._keys[at] == keys, self._positions[at], -1)
