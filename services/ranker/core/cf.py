"""Collaborative filtering: implicit-feedback ALS (the `implicit` library) and its fold-in.

Training (`train_als`), deterministic for a given input and config (one thread, seeded):

1. Interactions made canonical as for PMI (`pmi.interactions_hash`): ids as text, repeats
   summed; positives only (skips never reach here with weight > 0).
2. Per-user cap: each user keeps their `max_items_per_user` heaviest items, so a heavy
   listener counts like any other.
3. Confidence = 1 + alpha * log1p(weight): play counts span five orders of magnitude on
   Last.fm, and the log keeps one obsessive listen from drowning a user's other items.
4. implicit's AlternatingLeastSquares fits user and item factors; only the item factors
   are kept.

Serving never needs the user factors: a user's vector is folded in from their history (one
least-squares step of ALS against the fixed item factors, Hu, Koren & Volinsky 2008), so a
listener who arrived after training is served from their events at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core.pmi import canonical_interactions, hash_canonical, per_user_cap


@dataclass(frozen=True, kw_only=True)
class CfConfig:
    factors: int = 32  # chosen on the HetRec validation split on every seed (README)
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 2.0
    max_items_per_user: int | None = 500
    seed: int = 7

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise InvalidArgument(f"factors={self.factors!r} and iterations="
                                  f"{self.iterations!r} must be >= 1")
        if self.regularization < 0 or self.alpha <= 0:
            raise InvalidArgument(f"regularization={self.regularization!r} must be >= 0 and "
                                  f"alpha={self.alpha!r} > 0")
        if self.max_items_per_user is not None and self.max_items_per_user < 1:
            raise InvalidArgument(f"max_items_per_user={self.max_items_per_user!r} must be >= 1")


@dataclass(frozen=True)
class CfFactors:
    """Item factors of a trained model, rows in `item_ids` order (sorted ids)."""

    item_ids: np.ndarray            # object array of str
    item_factors: np.ndarray        # float32 (items, factors)
    config: CfConfig
    input_hash: str = ""
    users: int = 0
    typical_weight: float = 1.0     # median training weight: the confidence of a bare seed

    def __post_init__(self) -> None:
        if self.item_factors.shape[0] != len(self.item_ids):
            raise InvalidArgument(f"{self.item_factors.shape[0]} factor rows for "
                                  f"{len(self.item_ids)} items")
        # Derived once: id -> row, and Y^T Y, which every fold-in shares.
        object.__setattr__(self, "_positions",
                           {str(i): k for k, i in enumerate(self.item_ids)})
        y = self.item_factors.astype(np.float64)
        object.__setattr__(self, "_gram", y.T @ y)

    def __len__(self) -> int:
        return len(self.item_ids)

    def positions(self, items: Sequence[str]) -> list[int]:
        positions: dict[str, int] = self._positions  # type: ignore[attr-defined]
        return [positions[i] for i in items if i in positions]

    def confidence(self, weight: float) -> float:
        return 1.0 + self.config.alpha * float(np.log1p(max(weight, 0.0)))

    def user_vector(self, history: Sequence[str],
                    weights: Sequence[float] | None = None) -> np.ndarray | None:
        """Fold-in: argmin_x sum_i c_i (p_i - x.y_i)^2 + reg |x|^2 over the fixed items."""
        positions: dict[str, int] = self._positions  # type: ignore[attr-defined]
        given = weights if weights is not None else [self.typical_weight] * len(history)
        known = [(positions[item], w) for item, w in zip(history, given, strict=True)
                 if item in positions and w > 0]
        if not known:
            return None
        rows = np.array([p for p, _ in known])
        conf = np.array([self.confidence(w) for _, w in known])
        y = self.item_factors[rows].astype(np.float64)
        gram: np.ndarray = self._gram  # type: ignore[attr-defined]
        a = gram + (y.T * (conf - 1.0)) @ y + self.config.regularization * np.eye(y.shape[1])
        b = (y.T * conf).sum(axis=1)
        return np.linalg.solve(a, b)

    def scores(self, history: Sequence[str],
               weights: Sequence[float] | None = None) -> np.ndarray:
        """Preference of the user with this history for every item (0s if none is known)."""
        x = self.user_vector(history, weights)
        if x is None:
            return np.zeros(len(self.item_ids))
        return self.item_factors.astype(np.float64) @ x


@dataclass(frozen=True)
class AlsInput:
    """Interactions prepared for ALS: both trainers (local and Spark) start from this."""

    input_hash: str
    user_codes: np.ndarray       # per kept interaction
    item_codes: np.ndarray       # per kept interaction; code = rank in item_vocab
    item_vocab: np.ndarray       # sorted item ids (str)
    log_weight: np.ndarray       # log1p(summed weight) per kept interaction
    users: int
    typical_weight: float        # median kept weight: the confidence of a bare seed

    def factors(self, item_factors: np.ndarray, config: CfConfig) -> CfFactors:
        return CfFactors(item_ids=self.item_vocab.astype(object),
                         item_factors=np.asarray(item_factors, dtype=np.float32), config=config,
                         input_hash=self.input_hash, users=self.users,
                         typical_weight=self.typical_weight)


def prepare_als(user_ids: Sequence[object] | np.ndarray, item_ids: Sequence[object] | np.ndarray,
                weights: Sequence[float] | np.ndarray, config: CfConfig) -> AlsInput:
    """Steps 1-2 of the module docstring: canonical, positives only, per-user cap."""
    users, items, summed = canonical_interactions(np.asarray(user_ids), np.asarray(item_ids),
                                                  np.asarray(weights))
    input_hash = hash_canonical(users, items, summed)
    positive = summed > 0
    users, items, summed = users[positive], items[positive], summed[positive]
    if len(users) == 0:
        raise InvalidArgument("no positive interactions to train collaborative filtering on")
    user_codes = np.unique(users, return_inverse=True)[1]
    item_vocab, item_codes = np.unique(items, return_inverse=True)
    keep = per_user_cap(user_codes, item_codes, summed, config.max_items_per_user)
    return AlsInput(input_hash, user_codes[keep], item_codes[keep], item_vocab,
                    np.log1p(summed[keep]), int(user_codes.max()) + 1,
                    float(np.median(summed[keep])))


def train_als(user_ids: Sequence[object] | np.ndarray, item_ids: Sequence[object] | np.ndarray,
              weights: Sequence[float] | np.ndarray, config: CfConfig | None = None) -> CfFactors:
    """Train item factors from interactions (see the module docstring)."""
    from implicit.cpu.als import AlternatingLeastSquares  # heavy import, training only
    from threadpoolctl import threadpool_limits

    config = config or CfConfig()
    data = prepare_als(user_ids, item_ids, weights, config)
    matrix = sp.csr_matrix(
        (1.0 + config.alpha * data.log_weight, (data.user_codes, data.item_codes)),
        shape=(data.users, len(data.item_vocab)), dtype=np.float32)
    with threadpool_limits(1, "blas"):  # implicit parallelises itself; BLAS threads fight it
        model = AlternatingLeastSquares(
            factors=config.factors, regularization=config.regularization,
            iterations=config.iterations, alpha=1.0, random_state=config.seed, num_threads=1,
            calculate_training_loss=False)
        model.fit(matrix, show_progress=False)
    return data.factors(model.item_factors, config)
