"""The models the offline evaluation compares, and the harness that runs them (no I/O).

Every model ranks over the same catalog (`CatalogFeatures` of the evaluated items) and
learns from the training split only (protocol.py):

- the baselines (baselines.py): popularity, item-kNN cosine, EASE and implicit ALS, the
  last two tuned on the validation split;
- metadata-only, co-occurrence-only and hybrid: the ranker itself. `hybrid.recommend` is
  `features.expand_seeds` + `signals.metadata` + `signals.cooccurrence` (+ content) +
  `hybrid.combine`; `RankerSignals` calls exactly those functions, computing a user's
  signals once and handing them to `combine` once per weight config, as the service would
  for each mode (metadata-only: the metadata signal alone, the service's mode "metadata";
  co-occurrence-only: both signals with all weight on co-occurrence, its mode
  "cooccurrence"). The co-occurrence table is `pmi.train_pmi` over the training triples;
  the hybrid's collaborative signal (core/collaborative.py) folds the seeds into the CF
  model trained on them (the "collaborative filtering" row's, `CfConfig` as it ships), as
  the service folds them into the active CF model;
- hybrid + LambdaMART rerank: the hybrid's best candidates reranked by the learned second
  stage (core/rerank.py), trained on RERANK_SPLITS validation splits of RERANK_USERS users
  each, carved from the training data like the weight search's (evaluation/rerank.py);
- content-only: only where content vectors exist; otherwise its row says why it is absent;
- collaborative filtering: the project's CF as it ships (`CfConfig()`), implicit ALS on the
  training triples, each test user folded in from their seeds, as personal recommendations do.

MMR runs with lambda = 1: the harness measures relevance; diversification would trade some
of it away by design. Hybrid weights (metadata / co-occurrence shares of DEFAULT_GRID, times
each collaborative weight of COLLABORATIVE_GRID), EASE's lambda and the ALS baseline's factors come
from a validation split carved from the training data (`protocol.validation_split`), never
from the test users' held-out items; the test metrics are then reported for the choices.

The short-history slice re-evaluates the same test users keeping a seeded `plays` of their
seeds, for each of SLICE_PLAYS: popularity (what personal recommendations serve below the
CF threshold), CF folded in from those plays, and the hybrid seeded by them. The smallest
play count from which CF beats popularity, by more than EVIDENCE_STANDARD_ERRORS standard
errors of the paired per-user difference, in that slice and every longer one is the
evidence for the CF threshold (`HarnessReport.cf_min_plays`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from services.common.errors import InvalidArgument
from services.ranker.core import signals as sig
from services.ranker.core.cf import CfConfig, train_als
from services.ranker.core.collaborative import CollaborativeIndex, collaborative
from services.ranker.core.features import CatalogFeatures, ResourceRow, SeedSet
from services.ranker.core.hybrid import WeightConfig, combine
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.core.signals import COOCCURRENCE, METADATA, CooccurrenceIndex, SignalScores
from services.ranker.evaluation.baselines import (
    ALS_FACTORS,
    DEFAULT_NEIGHBOURS,
    EASE_LAMBDAS,
    EASE_MIN_LISTENERS,
    CollaborativeFiltering,
    Ease,
    ItemKnn,
    Popularity,
    Tuned,
    tune,
)
from services.ranker.evaluation.protocol import (
    EvalResult,
    EvalSplit,
    ListMeasures,
    Model,
    Protocol,
    Triples,
    dataset_hash,
    evaluate_models,
    ndcg_name,
    short_history,
    split,
    validation_split,
)
from services.ranker.evaluation.rerank import (
    RERANK_SPLITS,
    FirstStage,
    RerankerFit,
    listener_counts,
    reranked_model,
    train_reranker,
    validation_splits,
)

__all__ = ["CollaborativeFiltering", "Ease", "ItemKnn", "Popularity"]  # re-exported

EVAL_LAMBDA = 1.0
DEFAULT_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # w_metadata; w_cooc = 1 - it
# The collaborative weight; the other two share the rest as DEFAULT_GRID splits it.
COLLABORATIVE_GRID = (0.0, 0.4, 0.5, 0.6, 0.7)
DEFAULT_GRID_USERS = 500
# Validation users the second stage learns from: its queries are users, so it wants more of
# them than the weight search (1,500 of HetRec's 1,892 give it about 1,400 queries).
RERANK_USERS = 1500
POPULARITY, ITEM_KNN, EASE, ALS = "popularity", "item_knn", "ease", "als"
CONTENT_ONLY, HYBRID, CF = "content", "hybrid", "cf"
HYBRID_MMR = "hybrid_mmr"  # the hybrid at the MMR operating point chosen on validation
# The hybrid's best candidates reranked by LambdaMART trained on validation (rerank.py)
HYBRID_RERANK = "hybrid_rerank"
# MMR lambdas swept on validation with the chosen weights, relevance-only first; the
# operating point is the smallest lambda whose validation nDCG@k keeps MMR_KEEP of lambda 1's.
MMR_LAMBDAS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)
MMR_KEEP = 0.98
BASELINES = (POPULARITY, ITEM_KNN, EASE, ALS)
# The personal fallback chain below its CF threshold: popularity is what it serves; the
# hybrid and CF from the same few plays are the alternatives it forgoes.
FALLBACK, SHORT_HYBRID, SHORT_CF = "fallback", "short_hybrid", "short_cf"
SHORT_HISTORY_KEYS = (FALLBACK, SHORT_HYBRID, SHORT_CF)
SHORT_HISTORY_PLAYS = 3  # the slice shown in the main table
SLICE_PLAYS = (1, 2, 3, 4, 5)
MODEL_KEYS = (POPULARITY, ITEM_KNN, EASE, ALS, METADATA, COOCCURRENCE, CONTENT_ONLY, HYBRID,
              HYBRID_MMR, HYBRID_RERANK, CF, FALLBACK, SHORT_HYBRID, SHORT_CF)


# ---- the ranker -----------------------------------------------------------------------------


_Computed = tuple[SeedSet, SignalScores, SignalScores, SignalScores | None]


class RankerSignals:
    """The ranker's signals for one user's seeds, computed once and shared by its models."""

    def __init__(self, features: CatalogFeatures, cooccurrence: CooccurrenceIndex,
                 out_type: str, collaborative: CollaborativeIndex | None = None) -> None:
        self.features = features
        self.cooccurrence = cooccurrence
        self.collaborative = collaborative
        self.out_type = out_type
        self._key: tuple[str, ...] | None = None
        self._value: _Computed | None = None

    def computed(self, seeds: Sequence[str]) -> _Computed:
        """(seed set, metadata, co-occurrence, collaborative or None), as
        `hybrid.recommend` computes them."""
        key = tuple(seeds)
        if self._key != key or self._value is None:
            seed_set = self.features.expand_seeds(list(seeds))
            self._value = (seed_set,
                           sig.metadata(seed_set, self.features, self.out_type),
                           sig.cooccurrence(seed_set, self.cooccurrence, self.out_type),
                           collaborative(seed_set, self.collaborative, self.out_type)
                           if self.collaborative is not None else None)
            self._key = key
        return self._value

    def model(self, config: WeightConfig, *, with_cooccurrence: bool = True) -> Model:
        """The ranker with `config`; without co-occurrence as the service's metadata mode.
        The collaborative signal joins where `config` weighs it (as in the service)."""
        if config.w_collaborative > 0 and self.collaborative is None:
            raise InvalidArgument(f"{config.id} weighs the collaborative signal, but no CF "
                                  "model was given")

        def rank(seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
            seed_set, metadata, cooccurrence, collab = self.computed(seeds)
            computed = [metadata, cooccurrence] if with_cooccurrence else [metadata]
            if collab is not None and config.w_collaborative > 0:
                computed.append(collab)
            rec = combine(self.features, seed_set, computed, config, out_types=(self.out_type,),
                          exclude_ids=list(exclude), limit=k)
            return [item.id for item in rec.items]

        return rank


def hybrid_config(w_metadata: float, w_cooccurrence: float, w_content: float = 0.0,
                  lambda_mmr: float = EVAL_LAMBDA, w_collaborative: float = 0.0
                  ) -> WeightConfig:
    label = (f"hybrid:metadata={w_metadata:.2f},cooccurrence={w_cooccurrence:.2f},"
             f"content={w_content:.2f},lambda={lambda_mmr:.2f}")
    if w_collaborative > 0:
        label += f",collaborative={w_collaborative:.2f}"
    return WeightConfig(label, w_content, w_metadata, w_cooccurrence, lambda_mmr,
                        w_collaborative)


def grid_configs(grid: Sequence[float], collaborative_grid: Sequence[float]
                 ) -> list[WeightConfig]:
    """Every (metadata share, collaborative weight) pair: the collaborative weight first,
    the rest split between metadata (its share of `grid`) and co-occurrence."""
    configs: list[WeightConfig] = []
    for wc in collaborative_grid:
        rest = 1.0 - wc
        configs.extend(hybrid_config(round(w * rest, 10), round((1.0 - w) * rest, 10),
                                     w_collaborative=wc) for w in grid)
    return configs


def table_items(table: CooccurrenceTable) -> frozenset[str]:
    """Items with at least one positive-PMI partner: those with co-occurrence."""
    positive = np.asarray(table.pmi_score, dtype=np.float64) > 0
    return frozenset(str(i) for i in np.unique(np.asarray(table.item_a)[positive].astype(str)))


def out_type_of(features: CatalogFeatures, items: np.ndarray) -> str:
    """The one resource type of the interaction items; every item must be in the catalog."""
    unique = np.unique(items.astype(str))
    missing = [str(i) for i in unique if i not in features.index]
    if missing:
        raise InvalidArgument(f"{len(missing)} interaction items are not in the evaluation "
                              f"catalog, e.g. {missing[0]!r}")
    types = sorted({str(t) for t in features.types_of(
        np.array([features.index[i] for i in unique], dtype=np.int64))})
    if len(types) != 1:
        raise InvalidArgument(f"interaction items mix resource types {types}; evaluate one "
                              "type at a time")
    return types[0]


def tag_measures(features: CatalogFeatures, train: Triples) -> ListMeasures:
    """Diversity by the items' tag profiles (unit rows, zero when untagged); novelty by
    the training data's listeners."""

    def profiles(items: Sequence[str]) -> np.ndarray:
        return np.asarray(features.tags[[features.lookup(i) for i in items]].todense())

    return ListMeasures.build(train, profiles)


# ---- grid search ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GridResult:
    best: WeightConfig
    scores: dict[str, float]  # config id -> validation nDCG@k, in grid order
    users: int
    dataset_hash: str


def grid_search(features: CatalogFeatures, validation: EvalSplit, out_type: str,
                grid: Sequence[float] = DEFAULT_GRID, pmi: PmiConfig | None = None,
                cf: CfConfig | None = None,
                collaborative_grid: Sequence[float] = (0.0,)) -> GridResult:
    """Pick hybrid weights by validation nDCG@k (ties: the earlier grid point).

    Everything comes from `validation`: the co-occurrence table and the CF model are
    trained on its training part, the metrics on its held-out part, so test held-out items
    play no role. `collaborative_grid` lists the collaborative weights tried (0: without;
    the default tries none, `run_harness` tries COLLABORATIVE_GRID).
    """
    if not grid or any(not 0.0 < w < 1.0 for w in grid):
        raise InvalidArgument(f"grid {list(grid)!r} must list metadata weights in (0, 1)")
    if not collaborative_grid or any(not 0.0 <= w < 1.0 for w in collaborative_grid):
        raise InvalidArgument(f"collaborative grid {list(collaborative_grid)!r} must list "
                              "weights in [0, 1)")
    table = train_pmi(validation.train.users, validation.train.items,
                      validation.train.weights, pmi or PmiConfig())
    collab = None
    if any(w > 0 for w in collaborative_grid):
        collab = CollaborativeIndex(features, train_als(
            validation.train.users, validation.train.items, validation.train.weights, cf))
    ranker = RankerSignals(features, CooccurrenceIndex(features, table), out_type, collab)
    configs = grid_configs(grid, collaborative_grid)
    results = evaluate_models({c.id: ranker.model(c) for c in configs}, validation,
                              validation.train.item_set(), table_items(table))
    metric = ndcg_name(validation.protocol.k)
    scores = {c.id: results[c.id].metrics[metric] for c in configs}
    best = max(configs, key=lambda c: (scores[c.id], -configs.index(c)))
    users = next(iter(results.values())).users
    return GridResult(best, scores, users, dataset_hash(validation))


@dataclass(frozen=True)
class MmrSweep:
    """The hybrid's accuracy/diversity trade-off on validation, one point per lambda."""

    chosen: WeightConfig  # the best weights at the chosen lambda
    points: dict[float, dict[str, float]]  # lambda -> validation metrics
    users: int
    # lambda -> test metrics: the curve the README shows (the choice never reads it)
    test_points: dict[float, dict[str, float]] = field(default_factory=dict)


def mmr_sweep(features: CatalogFeatures, validation: EvalSplit, out_type: str,
              best: WeightConfig, lambdas: Sequence[float] = MMR_LAMBDAS,
              pmi: PmiConfig | None = None, cf: CfConfig | None = None,
              keep: float = MMR_KEEP) -> MmrSweep:
    """`best` at each MMR lambda on the validation split (models trained on its training
    part); chosen: the smallest lambda whose nDCG@k is at least `keep` times the largest
    lambda's (MMR buys coverage and diversity with some relevance; this caps the price)."""
    if not lambdas or any(not 0.0 <= lam <= 1.0 for lam in lambdas):
        raise InvalidArgument(f"MMR lambdas {list(lambdas)!r} must lie within 0..1")
    table = train_pmi(validation.train.users, validation.train.items,
                      validation.train.weights, pmi or PmiConfig())
    collab = CollaborativeIndex(features, train_als(
        validation.train.users, validation.train.items, validation.train.weights, cf)) \
        if best.w_collaborative > 0 else None
    ranker = RankerSignals(features, CooccurrenceIndex(features, table), out_type, collab)
    configs = {lam: hybrid_config(best.w_metadata, best.w_cooccurrence, best.w_content, lam,
                                  best.w_collaborative) for lam in sorted(lambdas, reverse=True)}
    results = evaluate_models({c.id: ranker.model(c) for c in configs.values()}, validation,
                              validation.train.item_set(), table_items(table),
                              tag_measures(features, validation.train))
    points = {lam: results[c.id].metrics for lam, c in configs.items()}
    metric = ndcg_name(validation.protocol.k)
    floor = keep * points[max(points)][metric]
    chosen = min(lam for lam, m in points.items() if m[metric] >= floor)
    return MmrSweep(configs[chosen], points, next(iter(results.values())).users)


@dataclass(frozen=True)
class BaselineTuning:
    ease: Tuned  # candidate names: str(lambda)
    als: Tuned  # candidate names: str(factors)

    @property
    def ease_lambda(self) -> float:
        return float(self.ease.chosen)

    @property
    def als_config(self) -> CfConfig:
        return replace(CfConfig(), factors=int(self.als.chosen))


def tune_baselines(validation: EvalSplit, lambdas: Sequence[float] = EASE_LAMBDAS,
                   factors: Sequence[int] = ALS_FACTORS) -> BaselineTuning:
    """EASE's lambda and the ALS baseline's factors by validation nDCG@k."""

    def ease(lam: float) -> Callable[[Triples], Model]:
        return lambda train: Ease(train, lam)

    def als(n: int) -> Callable[[Triples], Model]:
        return lambda train: CollaborativeFiltering(train, replace(CfConfig(), factors=n))

    return BaselineTuning(
        ease=tune({str(float(lam)): ease(lam) for lam in lambdas}, validation),
        als=tune({str(n): als(n) for n in factors}, validation))


# ---- the short-history slice ---------------------------------------------------------------


# How many standard errors the mean per-user gain of CF over popularity must clear before a
# slice counts as evidence (one-sided, about 98% under the normal approximation): on one
# seed, a difference of a few per cent at one play is within the noise of 1,900 users.
EVIDENCE_STANDARD_ERRORS = 2.0


@dataclass(frozen=True)
class SliceRow:
    plays: int
    users: int
    results: dict[str, EvalResult]  # FALLBACK, SHORT_CF, SHORT_HYBRID

    def cf_gain(self) -> tuple[float, float]:
        """Mean per-user nDCG@k of CF minus popularity's, and its standard error."""
        diff = (np.asarray(self.results[SHORT_CF].ndcg_per_user)
                - np.asarray(self.results[FALLBACK].ndcg_per_user))
        if len(diff) < 2:
            return (float(diff.mean()) if len(diff) else math.nan), math.nan
        return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(len(diff)))

    def cf_beats_popularity(self) -> bool:
        gain, error = self.cf_gain()
        return gain - EVIDENCE_STANDARD_ERRORS * error > 0  # NaN compares False


def short_history_slice(data: EvalSplit, models: dict[str, Model], train_items: Collection[str],
                        cooc_items: Collection[str], measures: ListMeasures | None,
                        plays: Sequence[int] = SLICE_PLAYS) -> tuple[SliceRow, ...]:
    """Every model of `models` on the test users cut to each play count of `plays`."""
    rows = []
    for count in plays:
        results = evaluate_models(models, short_history(data, count), train_items, cooc_items,
                                  measures)
        rows.append(SliceRow(count, next(iter(results.values())).users, results))
    return tuple(rows)


def cf_min_plays(rows: Sequence[SliceRow]) -> int | None:
    """The smallest play count from which CF beats popularity on nDCG@k, by more than
    EVIDENCE_STANDARD_ERRORS of the paired per-user difference, in that slice and every
    longer one (None: not even in the longest)."""
    chosen: int | None = None
    for row in sorted(rows, key=lambda r: r.plays, reverse=True):
        if not row.cf_beats_popularity():
            break
        chosen = row.plays
    return chosen


# ---- the harness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRow:
    key: str  # one of MODEL_KEYS
    label: str  # for people
    model_id: str  # what `model_evaluation.model_id` records
    result: EvalResult | None  # None: not evaluated (see note)
    note: str = ""  # what it is; for a model not evaluated, why
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HarnessReport:
    protocol: Protocol
    dataset_hash: str
    rows: tuple[ModelRow, ...]
    out_type: str
    train_interactions: int
    train_items: int
    catalog_items: int
    cooccurrence_pairs: int
    cold_items: int  # held-out items (over all cases) without co-occurrence
    users: int  # evaluated users
    cold_users: int  # of which hold out at least one item without co-occurrence
    grid: GridResult
    pmi: PmiConfig
    seconds: dict[str, float]
    tuning: BaselineTuning | None = None
    slices: tuple[SliceRow, ...] = ()
    cf_min_plays: int | None = None  # from the slice: see `cf_min_plays`
    mmr: MmrSweep | None = None

    @property
    def headline(self) -> str:
        """The metric tables lead with and comparisons use: nDCG@k."""
        return ndcg_name(self.protocol.k)

    def row(self, key: str) -> ModelRow:
        return next(r for r in self.rows if r.key == key)

    def hybrid_margin(self) -> dict[str, float]:
        """Hybrid nDCG@k minus each evaluated single signal's (positive: hybrid better)."""
        hybrid = self.row(HYBRID).result
        assert hybrid is not None
        metric = self.headline
        return {r.key: hybrid.metrics[metric] - r.result.metrics[metric] for r in self.rows
                if r.key in (METADATA, COOCCURRENCE, CONTENT_ONLY) and r.result is not None}

    def hybrid_beats_single_signals(self) -> bool:
        return all(margin > 0 for margin in self.hybrid_margin().values())

    def best_baseline(self) -> ModelRow:
        """The baseline row with the highest nDCG@k (ties: the earlier row)."""
        evaluated = [(r, r.result.metrics[self.headline]) for r in self.rows
                     if r.key in BASELINES and r.result is not None]
        best = max(range(len(evaluated)), key=lambda n: (evaluated[n][1], -n))
        return evaluated[best][0]

    def relative_to_best_baseline(self, key: str = HYBRID) -> float:
        """A row's nDCG@k / the best baseline's, minus 1 (negative: below it)."""
        row, best = self.row(key).result, self.best_baseline().result
        assert row is not None and best is not None
        base = best.metrics[self.headline]
        return row.metrics[self.headline] / base - 1.0 if base > 0 else math.nan


def _baseline_rows(results: dict[str, EvalResult], tuning: BaselineTuning,
                   neighbours: int | None) -> tuple[ModelRow, ...]:
    als = tuning.als_config
    return (
        ModelRow(POPULARITY, "popularity (baseline)", "baseline:popularity",
                 results[POPULARITY], "most distinct training listeners"),
        ModelRow(ITEM_KNN, "item-kNN cosine (baseline)", "baseline:item-knn-cosine",
                 results[ITEM_KNN], "binary cosine, "
                 + (f"{neighbours} neighbours per item" if neighbours else "all neighbours"),
                 {"neighbours": neighbours}),
        ModelRow(EASE, "EASE (baseline)", "baseline:ease", results[EASE],
                 f"lambda {tuning.ease_lambda:g} chosen on validation, items with >= "
                 f"{EASE_MIN_LISTENERS} listeners",
                 {"lambda": tuning.ease_lambda, "min_listeners": EASE_MIN_LISTENERS,
                  "validation": tuning.ease.scores, "validation_users": tuning.ease.users}),
        ModelRow(ALS, "implicit ALS (baseline)", "baseline:implicit-als", results[ALS],
                 f"{als.factors} factors chosen on validation",
                 {**asdict(als), "validation": tuning.als.scores,
                  "validation_users": tuning.als.users}),
    )


def _short_history_rows(row: SliceRow, hybrid_id: str, cf: CfConfig | None
                        ) -> tuple[ModelRow, ...]:
    plays = row.plays
    note = f"the test users with {plays} seeded plays each; models as above"
    params = {"plays": plays}
    return (
        ModelRow(FALLBACK, f"fallback: popularity ({plays}-play users)",
                 f"fallback:popularity:{plays}-plays", row.results[FALLBACK],
                 f"what personal recommendations serve below the CF threshold; {note}",
                 params),
        ModelRow(SHORT_HYBRID, f"hybrid from {plays} plays", f"{hybrid_id}:{plays}-plays",
                 row.results[SHORT_HYBRID], f"the same hybrid weights; {note}", params),
        ModelRow(SHORT_CF, f"CF from {plays} plays", f"signal:cf:{plays}-plays",
                 row.results[SHORT_CF], note, {**params, **asdict(cf or CfConfig())}),
    )


def _reranker(features: CatalogFeatures, validation: Sequence[EvalSplit], out_type: str,
              config: WeightConfig, pmi: PmiConfig, cf: CfConfig | None
              ) -> tuple[RerankerFit | None, str]:
    """The second stage trained on the validation splits, or None and why not (splits too
    small for any validation user's candidates to hold a held-out item)."""
    try:
        return train_reranker(features, validation[0], out_type, config, RankerSignals, pmi,
                              cf, extra=validation[1:]), ""
    except InvalidArgument as err:
        return None, f"not trained: {err}"


def _rerank_row(fit: RerankerFit | None, note: str, result: EvalResult | None,
                first: WeightConfig) -> ModelRow:
    label = "hybrid + LambdaMART rerank"
    if fit is None:
        return ModelRow(HYBRID_RERANK, label, "rerank:lambdamart", None, note)
    return ModelRow(
        HYBRID_RERANK, label, f"{first.id}:rerank:{fit.reranker.version}", result,
        f"the hybrid's best {fit.candidates} (MMR lambda 1) reranked by an average of "
        f"{fit.params.members} LambdaMART models trained on {fit.splits} validation splits "
        f"({fit.queries} queries, {fit.rounds} trees)",
        {"reranker": fit.reranker.version, "candidates": fit.candidates,
         "validation_queries": fit.queries, "early_stopping_queries": fit.stopping_queries,
         "validation_users": fit.users, "trees_kept": fit.rounds,
         "validation_splits": fit.splits, "queries_per_split": list(fit.split_queries),
         "training": asdict(fit.params)})


def _curve_key(lam: float) -> str:
    return f"{HYBRID_MMR}@{lam}"


def run_harness(
    rows: Sequence[ResourceRow],
    interactions: Triples,
    protocol: Protocol | None = None,
    *,
    users: int | None = None,
    grid_users: int | None = DEFAULT_GRID_USERS,
    grid: Sequence[float] = DEFAULT_GRID,
    collaborative_grid: Sequence[float] = COLLABORATIVE_GRID,
    mmr_lambdas: Sequence[float] = MMR_LAMBDAS,
    rerank_users: int | None = RERANK_USERS,
    rerank_splits: int = RERANK_SPLITS,
    pmi: PmiConfig | None = None,
    neighbours: int | None = DEFAULT_NEIGHBOURS,
    cf: CfConfig | None = None,
    ease_lambdas: Sequence[float] = EASE_LAMBDAS,
    als_factors: Sequence[int] = ALS_FACTORS,
    slice_plays: Sequence[int] = SLICE_PLAYS,
    content_unavailable: str = "no content vectors exist for the evaluated items",
) -> HarnessReport:
    """Split, tune on validation, train every model, evaluate on the test cases.

    `users` / `grid_users` / `rerank_users`: evaluate on a seeded sample of that many test /
    validation users / validation users for the second stage (None: all); the second stage
    learns from `rerank_splits` such validation splits.
    `content_unavailable` is the reason shown in the content-only row: content vectors are
    not part of these inputs. `slice_plays` must include
    SHORT_HISTORY_PLAYS (the main table's short-history rows).
    """
    if SHORT_HISTORY_PLAYS not in slice_plays:
        raise InvalidArgument(f"slice_plays {list(slice_plays)!r} must include "
                              f"{SHORT_HISTORY_PLAYS}")
    protocol = protocol or Protocol()
    pmi = pmi or PmiConfig()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    features = CatalogFeatures.build(rows)
    out_type = out_type_of(features, interactions.items)
    data = split(interactions, protocol, users)
    validation = validation_split(data.train, protocol, grid_users)
    lap("features and split")

    tuned = grid_search(features, validation, out_type, grid, pmi, cf, collaborative_grid)
    lap("grid search")
    sweep = mmr_sweep(features, validation, out_type, tuned.best, mmr_lambdas, pmi, cf)
    lap("MMR sweep")
    tuning = tune_baselines(validation, ease_lambdas, als_factors)
    lap("baseline tuning")
    rerank_fit, rerank_note = _reranker(
        features, validation_splits(data.train, protocol, rerank_users, rerank_splits),
        out_type, tuned.best, pmi, cf)
    lap("reranker training")

    table = train_pmi(data.train.users, data.train.items, data.train.weights, pmi)
    cooc_items = table_items(table)
    train_items = data.train.item_set()
    measures = tag_measures(features, data.train)
    cf_model = CollaborativeFiltering(data.train, cf)
    collab = CollaborativeIndex(features, cf_model.factors) \
        if tuned.best.w_collaborative > 0 else None
    ranker = RankerSignals(features, CooccurrenceIndex(features, table), out_type, collab)
    single = {s: WeightConfig.single_signal(s, lambda_mmr=EVAL_LAMBDA)
              for s in (METADATA, COOCCURRENCE)}
    models: dict[str, Model] = {
        POPULARITY: Popularity(data.train),
        ITEM_KNN: ItemKnn(data.train, neighbours),
        EASE: Ease(data.train, tuning.ease_lambda),
        ALS: CollaborativeFiltering(data.train, tuning.als_config),
        METADATA: ranker.model(single[METADATA], with_cooccurrence=False),
        COOCCURRENCE: ranker.model(single[COOCCURRENCE]),
        HYBRID: ranker.model(tuned.best),
        HYBRID_MMR: ranker.model(sweep.chosen),
        **{_curve_key(lam): ranker.model(replace(sweep.chosen, id=f"{sweep.chosen.id}@{lam}",
                                                 lambda_mmr=lam))
           for lam in sweep.points},
        CF: cf_model,
    }
    if rerank_fit is not None:
        models[HYBRID_RERANK] = reranked_model(FirstStage(ranker, tuned.best),
                                               rerank_fit.reranker, listener_counts(data.train))
    lap("training")
    results = evaluate_models(models, data, train_items, cooc_items, measures)
    sweep = replace(sweep, test_points={lam: results.pop(_curve_key(lam)).metrics
                                        for lam in sweep.points})
    for lam in sweep.points:
        del models[_curve_key(lam)]
    lap("evaluation")
    slices = short_history_slice(
        data, {FALLBACK: models[POPULARITY], SHORT_CF: models[CF],
               SHORT_HYBRID: ranker.model(tuned.best)},
        train_items, cooc_items, measures, slice_plays)
    lap("short-history slice")

    pmi_params = {**asdict(pmi), "input_hash": table.input_hash}
    weights = {"w_content": tuned.best.w_content, "w_metadata": tuned.best.w_metadata,
               "w_cooccurrence": tuned.best.w_cooccurrence,
               "w_collaborative": tuned.best.w_collaborative, "lambda_mmr": EVAL_LAMBDA,
               "cf": asdict(cf or CfConfig())}
    short = next(s for s in slices if s.plays == SHORT_HISTORY_PLAYS)
    report_rows = (
        *_baseline_rows(results, tuning, neighbours),
        ModelRow(METADATA, "metadata-only", "signal:metadata", results[METADATA],
                 "ranker, metadata signal", {"lambda_mmr": EVAL_LAMBDA}),
        ModelRow(COOCCURRENCE, "co-occurrence-only", "signal:cooccurrence",
                 results[COOCCURRENCE], "ranker, PMI signal",
                 {"lambda_mmr": EVAL_LAMBDA, "pmi": pmi_params}),
        ModelRow(CONTENT_ONLY, "content-only", "signal:content", None,
                 content_unavailable),
        ModelRow(HYBRID, "hybrid", tuned.best.id, results[HYBRID],
                 "ranker, weights chosen on validation",
                 {**weights, "pmi": pmi_params, "validation_ndcg@10": tuned.scores,
                  "validation_users": tuned.users,
                  "validation_dataset_hash": tuned.dataset_hash}),
        ModelRow(HYBRID_MMR, f"hybrid, MMR lambda {sweep.chosen.lambda_mmr:.2f}",
                 f"{sweep.chosen.id}:mmr", results[HYBRID_MMR],
                 f"the hybrid's weights at the MMR lambda chosen on validation (smallest "
                 f"keeping {MMR_KEEP:.0%} of lambda 1's nDCG@{protocol.k})",
                 {**weights, "lambda_mmr": sweep.chosen.lambda_mmr,
                  "validation": {str(lam): m for lam, m in sweep.points.items()},
                  "validation_users": sweep.users}),
        _rerank_row(rerank_fit, rerank_note, results.get(HYBRID_RERANK), tuned.best),
        ModelRow(CF, "collaborative filtering", "signal:cf", results[CF],
                 "implicit ALS as shipped (CfConfig), users folded in from their seeds",
                 asdict(cf or CfConfig())),
        *_short_history_rows(short, tuned.best.id, cf),
    )
    held = {i for case in data.cases for i in case.held_out}
    return HarnessReport(
        protocol=protocol, dataset_hash=dataset_hash(data), rows=report_rows,
        out_type=out_type, train_interactions=len(data.train), train_items=len(train_items),
        catalog_items=features.count(out_type), cooccurrence_pairs=len(table),
        cold_items=len(held - cooc_items), users=results[HYBRID].users,
        cold_users=results[HYBRID].cold_users, grid=tuned, pmi=pmi, seconds=seconds,
        tuning=tuning, slices=slices,
        cf_min_plays=cf_min_plays(slices), mmr=sweep)
