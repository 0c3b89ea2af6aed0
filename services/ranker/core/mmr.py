"""Maximal marginal relevance: diversify a ranked pool (design §7.4).

Greedy selection: at each step take the unselected item with the highest

    lambda * relevance(i) - (1 - lambda) * max over selected j of similarity(i, j)

(the first pick is the most relevant item). Ties go to the earlier pool position, so the
pool's own order (relevance, then id) decides. Relevance is expected in 0..1 (the hybrid
layer divides final scores by the pool's best) so that it trades against similarity on one
scale; lambda = 1 keeps relevance order, lambda = 0 only spreads.

Similarity between pool items (`pool_similarity`): the metadata similarity of
`signals.metadata_similarity` (the §7.1 rules between the two items, scaled to 0..1: same
artist, same release, tag cosine, shared work), and, when both items have a content vector,
the larger of that and their content cosine (clipped at 0). Taking the larger catches both
kinds of redundancy: two takes of one song with different metadata sound alike, and two
tracks of one album are redundant in a list even when they sound different.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from services.common.errors import InvalidArgument
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.signals import MetadataRules, metadata_similarity


def mmr_select(
    relevance: np.ndarray,
    similarity: np.ndarray,
    lambda_mmr: float,
    k: int,
    allowed: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the k selected items in selection order, and their MMR scores.

    `allowed`, given the positions chosen so far, masks the pool items that may come next
    (a constraint that depends on what came before, such as radio's artist limiter); when
    it allows none, selection stops early and fewer than k positions come back.
    """
    if not 0.0 <= lambda_mmr <= 1.0:
        raise InvalidArgument(f"lambda_mmr={lambda_mmr!r} is outside 0..1")
    n = len(relevance)
    if similarity.shape != (n, n):
        raise InvalidArgument(f"similarity has shape {similarity.shape}, expected ({n}, {n})")
    k = min(k, n)
    chosen = np.empty(k, dtype=np.int64)
    scores = np.empty(k)
    available = np.ones(n, dtype=bool)
    redundancy = np.zeros(n)
    for step in range(k):
        gain = lambda_mmr * relevance - (1.0 - lambda_mmr) * redundancy
        gain[~available] = -np.inf
        if allowed is not None:
            gain[~allowed(chosen[:step])] = -np.inf
        pick = int(np.argmax(gain))  # first maximum: the earlier pool position wins ties
        if gain[pick] == -np.inf:
            return chosen[:step], scores[:step]
        chosen[step], scores[step] = pick, gain[pick]
        available[pick] = False
        np.maximum(redundancy, similarity[pick], out=redundancy)
    return chosen, scores


def pool_similarity(
    features: CatalogFeatures,
    pool_index: np.ndarray,
    vectors: np.ndarray | None = None,
    has_vector: np.ndarray | None = None,
    rules: MetadataRules | None = None,
) -> np.ndarray:
    """Pairwise similarity of pool items (global indices); see the module docstring.

    `vectors` (P x d, unit rows) and `has_vector` (P,) give the content vectors, if any.
    """
    similarity = metadata_similarity(features, pool_index, rules)
    if vectors is not None and has_vector is not None and np.any(has_vector):
        cosine = np.clip(vectors @ vectors.T, 0.0, 1.0)
        both = has_vector[:, None] & has_vector[None, :]
        similarity = np.where(both, np.maximum(similarity, cosine), similarity)
    return similarity
