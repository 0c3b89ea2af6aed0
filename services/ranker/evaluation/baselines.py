"""The baselines every evaluation table carries, and collaborative filtering (no I/O).

Each learns from training triples only and ranks the training items:

- popularity: the items with the most distinct listeners (ties: more summed weight, then id);
- item-kNN cosine: cosine between items' binary listener vectors; each item keeps its
  `neighbours` most similar items (None: all of them); score = sum over seeds of the seed's
  similarity to the candidate (the textbook binary, unweighted form);
- EASE: the closed-form linear item-item model B = I - P / diag(P), P = (X'X + lambda I)^-1
  on the binary user x item matrix X, diagonal zero; score = sum over seeds of their rows of B.
  Items with fewer than `min_listeners` training listeners are left out of X's columns: the
  dense inverse grows with the cube of the item count, and an item with one listener has no
  co-listening to learn from beyond that listener's own list;
- implicit ALS: `cf.train_als` (the `implicit` library, confidence 1 + alpha log1p(count)),
  each user folded in from their seeds (`CfFactors.scores`), as personal recommendations do.

EASE's lambda and ALS's factors are tuned on a validation split carved from the training
data (`tune`), never on the test users' held-out items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig, train_als
from services.ranker.evaluation.protocol import (
    EvalSplit,
    ListMeasures,
    Model,
    Triples,
    evaluate_models,
    ndcg_name,
)

DEFAULT_NEIGHBOURS = None  # every co-listened item: pruning only cost accuracy on HetRec
EASE_LAMBDAS = (50.0, 150.0, 500.0, 1500.0)  # log-spaced, about 3x apart
EASE_MIN_LISTENERS = 2
ALS_FACTORS = (32, 64, 128)


def top_scores(scores: np.ndarray, ids: np.ndarray, excluded: np.ndarray, k: int) -> list[str]:
    """The k best positive scores (ties: smaller index, i.e. smaller id), excluded skipped."""
    scores = np.where(excluded, 0.0, scores)
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        cut = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= cut]
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
    return [str(ids[i]) for i in order]


class ItemIndex:
    """Training items in id order, and their binary user x item matrix."""

    def __init__(self, train: Triples) -> None:
        self.ids, items = np.unique(train.items.astype(str), return_inverse=True)
        users = np.unique(train.users.astype(str), return_inverse=True)[1]
        n_users = int(users.max()) + 1 if len(users) else 0
        self.matrix = sp.csr_matrix((np.ones(len(items)), (users, items)),
                                    shape=(n_users, len(self.ids)))
        self.matrix.sum_duplicates()
        self.matrix.data[:] = 1.0
        self.position = {str(item): k for k, item in enumerate(self.ids)}

    def mask(self, items: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(self.ids), dtype=bool)
        out[self.positions(items)] = True
        return out

    def positions(self, items: Sequence[str]) -> list[int]:
        return [self.position[i] for i in items if i in self.position]


class Popularity:
    """Most distinct training listeners first (ties: more summed weight, then id)."""

    def __init__(self, train: Triples) -> None:
        index = ItemIndex(train)
        listeners = np.asarray(index.matrix.sum(axis=0)).ravel()
        weight = np.bincount([index.position[str(i)] for i in train.items],
                             weights=train.weights, minlength=len(index.ids))
        self._ranked = [str(index.ids[i]) for i in
                        np.lexsort((np.arange(len(index.ids)), -weight, -listeners))]

    def __call__(self, seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
        skip = set(seeds) | set(exclude)
        out: list[str] = []
        for item in self._ranked:
            if item not in skip:
                out.append(item)
                if len(out) == k:
                    break
        return out


def cosine_neighbours(matrix: sp.csr_matrix, neighbours: int | None) -> sp.csr_matrix:
    """Item x item cosine of binary columns, each row keeping its `neighbours` best."""
    counts = sp.csr_matrix(matrix.T @ matrix).tocoo()
    norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel())
    off = counts.row != counts.col
    a, b = counts.row[off], counts.col[off]
    cosine = counts.data[off] / (norms[a] * norms[b])
    if neighbours is not None and len(a):
        order = np.lexsort((b, -cosine, a))
        a, b, cosine = a[order], b[order], cosine[order]
        first = np.concatenate(([True], a[1:] != a[:-1]))
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(a)), 0))
        keep = (np.arange(len(a)) - group_start) < neighbours
        a, b, cosine = a[keep], b[keep], cosine[keep]
    n = matrix.shape[1]
    return sp.csr_matrix((cosine, (a, b)), shape=(n, n))


class ItemKnn:
    """Sum over seeds of each seed's cosine to the candidate, among its nearest items."""

    def __init__(self, train: Triples, neighbours: int | None = DEFAULT_NEIGHBOURS) -> None:
        if neighbours is not None and neighbours < 1:
            raise InvalidArgument(f"neighbours={neighbours!r} must be >= 1")
        self._index = ItemIndex(train)
        self._similarity = cosine_neighbours(self._index.matrix, neighbours)

    def __call__(self, seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
        rows = self._index.positions(list(seeds))
        scores = np.asarray(self._similarity[rows].sum(axis=0)).ravel()
        excluded = self._index.mask([*seeds, *exclude])
        return top_scores(scores, self._index.ids, excluded, k)


def ease_weights(matrix: sp.csr_matrix, lam: float) -> np.ndarray:
    """B = I - P / diag(P) with P = (X'X + lam I)^-1, diagonal set to zero."""
    if not lam > 0:
        raise InvalidArgument(f"lambda={lam!r} must be > 0")
    gram = np.asarray((matrix.T @ matrix).todense(), dtype=np.float64)
    gram[np.diag_indices_from(gram)] += lam
    # X'X + lam I is symmetric positive definite: Cholesky, then its inverse (upper half).
    factor, info = lapack.dpotrf(gram, lower=False)
    if info != 0:
        raise InvalidArgument(f"X'X + {lam} I is not positive definite (lapack info {info})")
    upper, info = lapack.dpotri(factor, lower=False)
    if info != 0:
        raise InvalidArgument(f"could not invert X'X + {lam} I (lapack info {info})")
    inverse = np.triu(upper) + np.triu(upper, 1).T
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


class Ease:
    """EASE on the items with at least `min_listeners` training listeners."""

    def __init__(self, train: Triples, lam: float,
                 min_listeners: int = EASE_MIN_LISTENERS) -> None:
        index = ItemIndex(train)
        kept = np.flatnonzero(np.asarray(index.matrix.sum(axis=0)).ravel() >= min_listeners)
        self.lam = lam
        self.ids = index.ids[kept]
        self.position = {str(item): k for k, item in enumerate(self.ids)}
        self.weights = ease_weights(sp.csr_matrix(index.matrix[:, kept]), lam)

    def __call__(self, seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
        rows = [self.position[s] for s in seeds if s in self.position]
        scores = self.weights[rows].sum(axis=0)
        excluded = np.zeros(len(self.ids), dtype=bool)
        excluded[[self.position[i] for i in [*seeds, *exclude] if i in self.position]] = True
        return top_scores(scores, self.ids, excluded, k)


class CollaborativeFiltering:
    """Implicit ALS on the training split; each user folded in from their seeds."""

    def __init__(self, train: Triples, config: CfConfig | None = None) -> None:
        self.config = config or CfConfig()
        self.factors = train_als(train.users, train.items, train.weights, self.config)

    def __call__(self, seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
        scores = self.factors.scores(list(seeds))
        excluded = np.zeros(len(self.factors), dtype=bool)
        excluded[self.factors.positions([*seeds, *exclude])] = True
        return top_scores(scores, self.factors.item_ids, excluded, k)


# ---- tuning on validation --------------------------------------------------------------------


@dataclass(frozen=True)
class Tuned:
    """The chosen setting and every candidate's validation nDCG@k, in candidate order."""

    chosen: str
    scores: dict[str, float]
    users: int


def tune(candidates: dict[str, Callable[[Triples], Model]], validation: EvalSplit,
         measures: ListMeasures | None = None) -> Tuned:
    """Train each candidate on the validation split's training part, keep the best
    validation nDCG@k (ties: the earlier candidate)."""
    if not candidates:
        raise InvalidArgument("nothing to tune: no candidate settings")
    models = {name: build(validation.train) for name, build in candidates.items()}
    train_items = validation.train.item_set()
    results = evaluate_models(models, validation, train_items, train_items, measures)
    metric = ndcg_name(validation.protocol.k)
    scores = {name: results[name].metrics[metric] for name in candidates}
    names = list(candidates)
    chosen = max(names, key=lambda n: (scores[n], -names.index(n)))
    return Tuned(chosen, scores, results[chosen].users)
