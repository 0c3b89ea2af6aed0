"""A playlist as the seeds of its continuation (pure).

Every position gets a weight that halves every HALF_LIFE positions back from the end, never
below FLOOR: the tracks just added steer most, and the start of a long playlist still
counts. A track listed more than once keeps its latest (heaviest) position. At most
MAX_SEEDS tracks seed a request, the heaviest (the latest); their weights go to the hybrid
(core/hybrid.py, weighted seeds). The artist limiter (personal/radio_page.py) counts the
playlist's own last tracks as already played, so a continuation does not open with a third
track by the artist the playlist just played twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.ranker.core.features import CatalogFeatures
from services.ranker.playlists.profile import members

HALF_LIFE = 10.0
FLOOR = 0.25
MAX_SEEDS = 50


def position_weights(n: int) -> np.ndarray:
    """Weight of each of n positions, oldest first (see the module docstring)."""
    back = np.arange(n - 1, -1, -1, dtype=np.float64)
    return np.maximum(FLOOR, 0.5 ** (back / HALF_LIFE))


def continuation_seeds(features: CatalogFeatures, track_ids: Sequence[str],
                       max_seeds: int = MAX_SEEDS, item_type: str = "track"
                       ) -> tuple[tuple[str, float], ...]:
    """(track juke_id, weight) of the seeds, in order of their latest position; items the
    catalog does not hold as `item_type` are left out."""
    weights = position_weights(len(track_ids))
    held = set(members(features, track_ids, item_type))
    latest: dict[str, tuple[int, float]] = {}
    for position, track in enumerate(track_ids):
        if track in held:
            latest.pop(track, None)
            latest[track] = (position, float(weights[position]))
    chosen = list(latest.items())[-max_seeds:]
    return tuple((track, weight) for track, (_, weight) in chosen)
