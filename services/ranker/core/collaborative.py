"""The collaborative signal: the seeds folded into a trained CF model's item factors.

A CF model (cf.py: implicit ALS, trained by the CF trainer, activated and gated like the
other models) holds one factor vector y_i per item it was trained on. For a request, the
seeds stand for a listener whose vector x is folded in as for a listener with that history
(`cf.CfFactors.user_vector`, every item at the model's typical weight), and

    raw_collaborative(c) = y_c . x        (positive values only)

A seed the model holds stands for itself; one it does not (a track when the model is
artist-level, an album, a genre) stands for the mean of its catalog neighbours that the
model holds, and a candidate the model does not hold takes the mean score of its neighbours
that it holds, as for co-occurrence (signals.py). Only the `budget` best candidates per
output type are kept (ties: smaller index), so nothing a request returns is as long as the
catalog; the fold-in itself is one (factors x factors) solve and one product with the
item factors the model holds.

Per seed. x = A^-1 b with b = sum over history items i of c_i y_i, so y_c . x splits
exactly into per-item shares y_c . A^-1 c_i y_i; a seed's part is the sum of the shares of
the items it reached (an item reached by several seeds is split between them in proportion
to how much each reached it). Shares can be negative; the parts kept are their positive
side, which explanations use only to name the seeds an item owes most to (not additive,
like content's per-seed cosine).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services.ranker.core.cf import CfFactors
from services.ranker.core.features import CatalogFeatures, SeedSet, check_type, row_mean_operator
from services.ranker.core.signals import COLLABORATIVE, SignalScores
from services.ranker.core.sparse_ops import rows_of

DEFAULT_BUDGET = 1000  # candidates per output type


class CollaborativeIndex:
    """A CF model's item factors aligned with a catalog; build once per (features, model)."""

    def __init__(self, features: CatalogFeatures, factors: CfFactors,
                 budget: int = DEFAULT_BUDGET) -> None:
        index = features.index
        positions = np.array([index.get(str(i), -1) for i in factors.item_ids], dtype=np.int64)
        held = positions >= 0
        self.unmatched_items = int((~held).sum())
        self.features = features
        self.factors = factors
        self.budget = budget
        # Catalog position -> row of the model's factors (only for items both hold).
        self.global_index = positions[held]
        self.vectors = np.ascontiguousarray(factors.item_factors[held], dtype=np.float64)
        in_model = np.zeros(features.size, dtype=bool)
        in_model[self.global_index] = True
        self.in_model = in_model
        via_neighbours = row_mean_operator(
            sp.csr_matrix(features.neighbours @ sp.diags(in_model.astype(np.float64))))
        self.expansion = sp.csr_matrix(
            sp.diags(in_model.astype(np.float64))
            + sp.diags((~in_model).astype(np.float64)) @ via_neighbours)
        # Per output type, its rows of the expansion: a candidate's own score or its
        # neighbours' mean (sliced once here; a slice per request costs more than the rest).
        self.blocks = {out_type: sp.csr_matrix(self.expansion[start:stop])
                       for out_type, (start, stop) in features.offsets.items()}
        # Catalog position -> column in `vectors`, for the columns of the expansion.
        self.column = np.full(features.size, -1, dtype=np.int64)
        self.column[self.global_index] = np.arange(len(self.global_index))
        y = self.vectors
        self.gram = y.T @ y

    def fold_in(self, seeds: SeedSet) -> tuple[np.ndarray, np.ndarray] | None:
        """(x, per-seed parts of x as rows (seeds x factors)), None when no seed reaches
        an item of the model."""
        reach = sp.csr_matrix(rows_of(self.expansion, seeds.index))  # seeds x N
        reach.eliminate_zeros()
        items, inverse = np.unique(reach.indices, return_inverse=True)
        if not len(items):
            return None
        conf = self.factors.confidence(self.factors.typical_weight)
        y = self.vectors[self.column[items]]
        reg = self.factors.config.regularization
        a = self.gram + (conf - 1.0) * (y.T @ y) + reg * np.eye(y.shape[1])
        # Each reached item's confidence, split between the seeds in proportion to reach.
        share = sp.csr_matrix((reach.data, inverse, reach.indptr),
                              shape=(len(seeds), len(items)))
        totals = np.asarray(share.sum(axis=0)).ravel()
        share = sp.csr_matrix(share @ sp.diags(conf / totals))
        per_seed = np.linalg.solve(a, np.asarray((share @ y).T)).T  # seeds x factors
        return per_seed.sum(axis=0), per_seed


def collaborative(seeds: SeedSet, index: CollaborativeIndex, out_type: str) -> SignalScores:
    """y_c . x for the `budget` best `out_type` candidates (see the module docstring)."""
    features = index.features
    start, stop = features.offsets[check_type(out_type)]
    width = stop - start
    folded = index.fold_in(seeds)
    if folded is None:
        return SignalScores.sparse(COLLABORATIVE, out_type, width, np.zeros(0, np.int64),
                                   np.zeros(0), {"als": sp.csr_matrix((len(seeds), width))},
                                   additive=False)
    x, per_seed = folded
    held_scores = np.zeros(features.size)
    held_scores[index.global_index] = index.vectors @ x
    block = index.blocks[out_type]
    scores = block @ held_scores
    support = _best(scores, index.budget)
    # Per seed, only for the kept candidates: the mean over each candidate's row (itself,
    # or its neighbours in the model) of item factor . each seed's part of x.
    rows = block[support]
    shares = np.zeros((len(seeds), len(support)))
    if rows.nnz:
        per_entry = (index.vectors[index.column[rows.indices]] @ per_seed.T) \
            * rows.data[:, None]  # nnz x seeds
        owner = np.repeat(np.arange(len(support)), np.diff(rows.indptr))
        np.add.at(shares.T, owner, per_entry)
    shares = np.clip(shares, 0.0, None)
    parts = sp.csr_matrix((shares.ravel(),
                           (np.repeat(np.arange(len(seeds)), len(support)),
                            np.tile(support, len(seeds)))), shape=(len(seeds), width))
    parts.eliminate_zeros()
    return SignalScores.sparse(COLLABORATIVE, out_type, width, support, scores[support],
                               {"als": parts}, additive=False)


def _best(scores: np.ndarray, budget: int) -> np.ndarray:
    """Ascending local indices of the `budget` highest positive scores (ties: smaller)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > budget:
        values = scores[positive]
        cut = np.partition(values, len(values) - budget)[len(values) - budget]
        near = positive[values >= cut]  # the budget best and any ties at the cut
        order = np.lexsort((near, -scores[near]))[:budget]
        positive = near[order]
    return np.sort(positive)
