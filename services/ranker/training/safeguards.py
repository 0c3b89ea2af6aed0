"""What a training set must be before a model is trained on it, and what it is recorded as.

A training run refuses a set below the configured minimums (distinct users, distinct items,
interactions): a model fitted to a handful of listeners would only recite them. It warns when
the items span fewer distinct genres or tags than a floor (a model of one niche serves everyone
that niche), and records on the model the corpus size, the diversity and the training time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from services.common.errors import FailedPrecondition

# Labels (genre and tag names) of each item of a type; empty when the catalog has none.
ItemLabels = Callable[[str, Collection[str]], Mapping[str, Collection[str]]]


@dataclass(frozen=True)
class Minimums:
    users: int = 5
    items: int = 5
    interactions: int = 20
    diversity_floor: int = 3    # distinct genres or tags among the items; below: a warning


@dataclass(frozen=True)
class CorpusProfile:
    users: int
    items: int
    interactions: int
    diversity: int | None       # None: not measured (no catalog labels to read)
    diversity_floor: int
    warnings: tuple[str, ...] = ()

    def record(self, seconds: float) -> dict[str, object]:
        """What the model stores about its training set."""
        return {"corpus": {**asdict(self), "warnings": list(self.warnings)},
                "training_seconds": seconds}


class Safeguards:
    def __init__(self, minimums: Minimums | None = None,
                 labels: ItemLabels | None = None) -> None:
        self.minimums = minimums or Minimums()
        self._labels = labels

    def check(self, dataset: str, item_type: str, users: np.ndarray, items: np.ndarray
              ) -> CorpusProfile:
        """The set's profile; FailedPrecondition naming each minimum it misses."""
        m = self.minimums
        distinct_items = {str(i) for i in items}
        counts = {"users": len(np.unique(users)), "items": len(distinct_items),
                  "interactions": len(items)}
        short = [f"{counts[k]} {k} < {getattr(m, k)}" for k in ("users", "items", "interactions")
                 if counts[k] < getattr(m, k)]
        if short:
            raise FailedPrecondition(
                f"training set {dataset!r} is below the minimums ({'; '.join(short)}): nothing "
                "trained (JUKE_TRAINING_MIN_USERS, _ITEMS, _INTERACTIONS)")
        diversity = self._diversity(item_type, distinct_items)
        warnings = () if diversity is None or diversity >= m.diversity_floor else (
            f"low diversity: the items span {diversity} distinct genres or tags "
            f"(floor {m.diversity_floor}, JUKE_TRAINING_DIVERSITY_FLOOR)",)
        return CorpusProfile(counts["users"], counts["items"], counts["interactions"],
                             diversity, m.diversity_floor, warnings)

    def _diversity(self, item_type: str, items: set[str]) -> int | None:
        if self._labels is None:
            return None
        labels = self._labels(item_type, items)
        return len({label for item in items for label in labels.get(item, ())})
