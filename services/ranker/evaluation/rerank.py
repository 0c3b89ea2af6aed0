"""Training and evaluating the learned second stage (core/rerank.py) offline (no I/O).

Training data come from a validation split carved from the training interactions only
(`protocol.validation_split`); the test users' held-out items play no part. On it the
first stage is rebuilt from the validation split's own training part (co-occurrence table,
CF model, popularity), exactly as the harness's hybrid, and for each validation user the
hybrid's best `candidates` items (MMR lambda 1) become one query: their features, label 1
for the user's validation held-out items, 0 otherwise. Queries without a relevant
candidate teach a ranking nothing and are left out. More queries come from further
validation splits carved alike with other seeds (`validation_splits`): other seeded samples
of users with other items held out, each split with its own first stage; a ranker learnt from a few
thousand queries is noisy, and these add queries without touching the test users' held-out
items. With `TrainingParams.early_stopping` > 0 a seeded fifth of the queries stops
training early (LambdaMART's nDCG@k on them) and each member keeps its best round; the
default trains every member for its fixed rounds on all queries.

At test time the reranker sees the first stage built from the full training data, with
popularity from it too: the features have the same meaning, their sources one step larger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig, train_als
from services.ranker.core.collaborative import CollaborativeIndex
from services.ranker.core.features import CatalogFeatures, SeedSet
from services.ranker.core.hybrid import Recommendation, WeightConfig, combine
from services.ranker.core.pmi import PmiConfig, train_pmi
from services.ranker.core.rerank import (
    DEFAULT_CANDIDATES,
    RankingSet,
    Reranker,
    TrainingParams,
    candidate_features,
)
from services.ranker.core.rerank_recipe import DEFAULT_SPLITS
from services.ranker.core.signals import CooccurrenceIndex, SignalScores
from services.ranker.evaluation.protocol import (
    EvalSplit,
    Model,
    Triples,
    derived_seed,
    split,
    validation_split,
)
from services.ranker.evaluation.protocol import Protocol as EvalProtocol

EARLY_STOPPING_SHARE = 0.2
# Validation splits the second stage learns from (the first is `validation_split`'s);
# chosen on validation: three gave better cross-validated nDCG@10 than one.
RERANK_SPLITS = DEFAULT_SPLITS


def validation_splits(train: Triples, protocol: EvalProtocol, users: int | None = None,
                      count: int = RERANK_SPLITS) -> tuple[EvalSplit, ...]:
    """`count` splits carved from `train` alone: `validation_split`'s first, then the
    splits (users sampled and items held out) under the seeds derived for "validation-2",
    "validation-3", ..."""
    if count < 1:
        raise InvalidArgument(f"count={count!r} must be >= 1")
    first = validation_split(train, protocol, users)
    more = (split(train, replace(protocol, seed=derived_seed(protocol.seed, f"validation-{n}")),
                  users) for n in range(2, count + 1))
    return (first, *more)


def listener_counts(train: Triples) -> dict[str, float]:
    """Item id -> distinct training listeners (the popularity feature)."""
    pairs = {(str(u), str(i)) for u, i in zip(train.users, train.items, strict=True)}
    items, counts = np.unique(np.array([i for _, i in pairs], dtype=str), return_counts=True)
    return {str(i): float(c) for i, c in zip(items, counts, strict=True)}


class SignalSource(Protocol):
    """What the harness's RankerSignals offers: a user's signals, computed once."""

    features: CatalogFeatures
    out_type: str

    def computed(self, seeds: Sequence[str]) -> tuple[
            SeedSet, SignalScores, SignalScores, SignalScores | None]: ...


# Builds a SignalSource from a co-occurrence index and an optional CF index.
SignalFactory = Callable[[CatalogFeatures, CooccurrenceIndex, str, CollaborativeIndex | None],
                         SignalSource]


class FirstStage:
    """The hybrid's top candidates for a user's seeds (the harness's signals, lambda 1)."""

    def __init__(self, ranker: SignalSource, config: WeightConfig,
                 candidates: int = DEFAULT_CANDIDATES) -> None:
        self.ranker = ranker
        self.config = replace(config, lambda_mmr=1.0)
        self.candidates = candidates
        self._last: tuple[tuple[tuple[str, ...], tuple[str, ...]],
                          tuple[Recommendation, tuple[str, ...]]] | None = None

    def __call__(self, seeds: Sequence[str], exclude: Sequence[str]
                 ) -> tuple[Recommendation, tuple[str, ...]]:
        """(the first stage's candidates, the seeds' types); the last call's is kept, so
        the models that rerank it for one user compute it once."""
        key = (tuple(seeds), tuple(exclude))
        if self._last is None or self._last[0] != key:
            self._last = (key, self._compute(seeds, exclude))
        return self._last[1]

    def _compute(self, seeds: Sequence[str], exclude: Sequence[str]
                 ) -> tuple[Recommendation, tuple[str, ...]]:
        ranker = self.ranker
        seed_set, metadata, cooccurrence, collab = ranker.computed(seeds)
        computed = [metadata, cooccurrence]
        if collab is not None and self.config.w_collaborative > 0:
            computed.append(collab)
        first = combine(ranker.features, seed_set, computed, self.config,
                        out_types=(ranker.out_type,), exclude_ids=list(exclude),
                        limit=self.candidates, pool_factor=1)
        return first, seed_set.types


def ranking_set(stage: FirstStage, data: EvalSplit, listeners: dict[str, float]
                ) -> RankingSet:
    """One query per case of `data` whose first stage reaches a held-out item."""
    rows, labels, groups = [], [], []
    for case in data.cases:
        first, seed_types = stage(case.seeds, case.seeds)
        held = set(case.held_out)
        label = np.array([float(item.id in held) for item in first.items])
        if not label.any():
            continue
        rows.append(candidate_features(first.items, seed_types, listeners))
        labels.append(label)
        groups.append(len(label))
    if not groups:
        raise InvalidArgument("no validation user's first-stage candidates hold a held-out "
                              "item: nothing to train the reranker on")
    return RankingSet(np.vstack(rows), np.concatenate(labels), np.array(groups))


@dataclass(frozen=True)
class RerankerFit:
    reranker: Reranker
    queries: int  # validation queries (a user in a split) whose candidates hold a held-out item
    stopping_queries: int  # of which the early-stopping share (0: no early stopping)
    users: int  # validation users in all (of the first split)
    rounds: int  # trees kept, over all ensemble members
    candidates: int
    params: TrainingParams
    splits: int = 1  # validation splits the queries come from
    split_queries: tuple[int, ...] = field(default_factory=tuple)  # queries per split


def _split_queries(features: CatalogFeatures, validation: EvalSplit, out_type: str,
                   config: WeightConfig, signals: SignalFactory, pmi: PmiConfig | None,
                   cf: CfConfig | None, candidates: int) -> RankingSet:
    """One validation split's queries, its first stage built from its own training part."""
    train = validation.train
    table = train_pmi(train.users, train.items, train.weights, pmi or PmiConfig())
    collab = CollaborativeIndex(features, train_als(train.users, train.items, train.weights,
                                                    cf)) if config.w_collaborative > 0 else None
    ranker = signals(features, CooccurrenceIndex(features, table), out_type, collab)
    return ranking_set(FirstStage(ranker, config, candidates), validation,
                       listener_counts(train))


def _concatenated(sets: Sequence[RankingSet]) -> RankingSet:
    return RankingSet(np.vstack([s.features for s in sets]),
                      np.concatenate([s.labels for s in sets]),
                      np.concatenate([s.groups for s in sets]))


def train_reranker(features: CatalogFeatures, validation: EvalSplit, out_type: str,
                   config: WeightConfig, signals: SignalFactory, pmi: PmiConfig | None = None,
                   cf: CfConfig | None = None, params: TrainingParams | None = None,
                   candidates: int = DEFAULT_CANDIDATES,
                   extra: Sequence[EvalSplit] = ()) -> RerankerFit:
    """LambdaMART on the first-stage candidates of `validation` and of the `extra`
    validation splits (module docstring). `signals` builds the harness's RankerSignals."""
    params = params or TrainingParams()
    per_split = [_split_queries(features, v, out_type, config, signals, pmi, cf, candidates)
                 for v in (validation, *extra)]
    data = _concatenated(per_split)
    stopping = np.zeros(data.queries, dtype=bool)
    if params.early_stopping > 0:
        rng = np.random.default_rng(derived_seed(validation.protocol.seed, "reranker"))
        chosen = rng.permutation(data.queries)[: int(EARLY_STOPPING_SHARE * data.queries)]
        stopping[chosen] = True
    reranker = Reranker.train(data.take(np.flatnonzero(~stopping)), params,
                              valid=data.take(np.flatnonzero(stopping)))
    return RerankerFit(reranker, data.queries, int(stopping.sum()), len(validation.cases),
                       reranker.booster.num_trees(), candidates, params, len(per_split),
                       tuple(s.queries for s in per_split))


def reranked_model(stage: FirstStage, reranker: Reranker, listeners: dict[str, float]
                   ) -> Model:
    """The evaluation model: first-stage candidates, reranked, the best k."""

    def rank(seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
        first, seed_types = stage(seeds, exclude)
        return [item.id for item in reranker.rerank(first, seed_types, listeners, k).items]

    return rank
