"""The models the offline evaluation compares, and the harness that runs them (no I/O).

Every model ranks over the same catalog (`CatalogFeatures` of the evaluated items) and
learns from the training split only (evaluation.py):

- popularity (baseline): the training items with the most distinct listeners (ties: more
  summed weight, then id), seeds and exclusions skipped;
- item-kNN cosine (baseline): cosine between items' binary listener vectors over the
  training users; each item keeps its `neighbours` most similar items; score = sum over
  seeds of the seed's similarity to the candidate;
- metadata-only, co-occurrence-only and hybrid: the ranker itself. `hybrid.recommend` is
  `features.expand_seeds` + `signals.metadata` + `signals.cooccurrence` (+ content) +
  `hybrid.combine`; `RankerSignals` calls exactly those functions, computing a user's
  signals once and handing them to `combine` once per weight config, as the service would
  for each mode (metadata-only: the metadata signal alone, the service's mode "metadata";
  co-occurrence-only: both signals with all weight on co-occurrence, its mode
  "cooccurrence"). The co-occurrence table is `pmi.train_pmi` over the training triples;
- content-only: only where content vectors exist; otherwise its row says why it is absent;
- collaborative filtering: implicit ALS (`cf.train_als`) on the training triples, each test
  user folded in from their seeds (`CfFactors.scores`), as personal recommendations do.

MMR runs with lambda = 1: the harness measures relevance; diversification would trade some
of it away by design. Hybrid weights come from a seeded grid search on a validation split
carved from the training data (`evaluation.validation_split`), never from the test users'
held-out items; the test metrics are then reported for the chosen weights.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core import signals as sig
from services.ranker.core.cf import CfConfig, train_als
from services.ranker.core.features import CatalogFeatures, ResourceRow, SeedSet
from services.ranker.core.hybrid import WeightConfig, combine
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.core.signals import COOCCURRENCE, METADATA, CooccurrenceIndex, SignalScores
from services.ranker.evaluation.protocol import (
    NDCG,
    EvalResult,
    EvalSplit,
    Model,
    Protocol,
    Triples,
    dataset_hash,
    evaluate_models,
    short_history,
    split,
    validation_split,
)

EVAL_LAMBDA = 1.0
DEFAULT_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # w_metadata; w_cooc = 1 - it
DEFAULT_GRID_USERS = 500
DEFAULT_NEIGHBOURS = 50
POPULARITY, ITEM_KNN, CONTENT_ONLY, HYBRID = "popularity", "item_knn", "content", "hybrid"
CF = "cf"
# The personal fallback chain below its threshold (personal.MIN_INTERACTIONS = 5 plays):
# popularity is what it serves; the hybrid and CF from the same few plays are the
# alternatives it forgoes.
FALLBACK, SHORT_HYBRID, SHORT_CF = "fallback", "short_hybrid", "short_cf"
SHORT_HISTORY_PLAYS = 3
MODEL_KEYS = (POPULARITY, ITEM_KNN, METADATA, COOCCURRENCE, CONTENT_ONLY, HYBRID, CF,
              FALLBACK, SHORT_HYBRID, SHORT_CF)


# ---- baselines ---------------------------------------------------------------------------------


def _top(scores: np.ndarray, ids: np.ndarray, excluded: np.ndarray, k: int) -> list[str]:
    """The k best positive scores (ties: smaller index, i.e. smaller id), excluded skipped."""
    scores = np.where(excluded, 0.0, scores)
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        cut = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= cut]
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
    return [str(ids[i]) for i in order]


class _ItemIndex:
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
        out[[self.position[i] for i in items if i in self.position]] = True
        return out


class Popularity:
    """Most distinct training listeners first (ties: more summed weight, then id)."""

    def __init__(self, train: Triples) -> None:
        index = _ItemIndex(train)
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
        self._index = _ItemIndex(train)
        self._similarity = cosine_neighbours(self._index.matrix, neighbours)

    def __call__(self, seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
        rows = [self._index.position[s] for s in seeds if s in self._index.position]
        scores = np.asarray(self._similarity[rows].sum(axis=0)).ravel()
        excluded = self._index.mask([*seeds, *exclude])
        return _top(scores, self._index.ids, excluded, k)


class CollaborativeFiltering:
    """Implicit ALS on the training split; each user folded in from their seeds."""

    def __init__(self, train: Triples, config: CfConfig | None = None) -> None:
        self.factors = train_als(train.users, train.items, train.weights, config)

    def __call__(self, seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
        scores = self.factors.scores(list(seeds))
        excluded = np.zeros(len(self.factors), dtype=bool)
        excluded[self.factors.positions([*seeds, *exclude])] = True
        return _top(scores, self.factors.item_ids, excluded, k)


# ---- the ranker -----------------------------------------------------------------------------


class RankerSignals:
    """The ranker's signals for one user's seeds, computed once and shared by its models."""

    def __init__(self, features: CatalogFeatures, cooccurrence: CooccurrenceIndex,
                 out_type: str) -> None:
        self.features = features
        self.cooccurrence = cooccurrence
        self.out_type = out_type
        self._key: tuple[str, ...] | None = None
        self._value: tuple[SeedSet, SignalScores, SignalScores] | None = None

    def computed(self, seeds: Sequence[str]) -> tuple[SeedSet, SignalScores, SignalScores]:
        """(seed set, metadata, co-occurrence), as `hybrid.recommend` computes them."""
        key = tuple(seeds)
        if self._key != key or self._value is None:
            seed_set = self.features.expand_seeds(list(seeds))
            self._value = (seed_set,
                           sig.metadata(seed_set, self.features, self.out_type),
                           sig.cooccurrence(seed_set, self.cooccurrence, self.out_type))
            self._key = key
        return self._value

    def model(self, config: WeightConfig, *, with_cooccurrence: bool = True) -> Model:
        """The ranker with `config`; without co-occurrence as the service's metadata mode."""

        def rank(seeds: Sequence[str], exclude: Sequence[str], k: int) -> list[str]:
            seed_set, metadata, cooccurrence = self.computed(seeds)
            computed = [metadata, cooccurrence] if with_cooccurrence else [metadata]
            rec = combine(self.features, seed_set, computed, config, out_types=(self.out_type,),
                          exclude_ids=list(exclude), limit=k)
            return [item.id for item in rec.items]

        return rank


def hybrid_config(w_metadata: float, w_cooccurrence: float, w_content: float = 0.0,
                  lambda_mmr: float = EVAL_LAMBDA) -> WeightConfig:
    label = (f"hybrid:metadata={w_metadata:.2f},cooccurrence={w_cooccurrence:.2f},"
             f"content={w_content:.2f},lambda={lambda_mmr:.2f}")
    return WeightConfig(label, w_content, w_metadata, w_cooccurrence, lambda_mmr)


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


# ---- grid search ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GridResult:
    best: WeightConfig
    scores: dict[str, float]  # config id -> validation nDCG@10, in grid order
    users: int
    dataset_hash: str


def grid_search(features: CatalogFeatures, validation: EvalSplit, out_type: str,
                grid: Sequence[float] = DEFAULT_GRID, pmi: PmiConfig | None = None
                ) -> GridResult:
    """Pick hybrid weights by validation nDCG@10 (ties: the earlier grid point).

    Everything comes from `validation`: the co-occurrence table is trained on its training
    part, the metrics on its held-out part, so test held-out items play no role.
    """
    if not grid or any(not 0.0 < w < 1.0 for w in grid):
        raise InvalidArgument(f"grid {list(grid)!r} must list metadata weights in (0, 1)")
    table = train_pmi(validation.train.users, validation.train.items,
                      validation.train.weights, pmi or PmiConfig())
    ranker = RankerSignals(features, CooccurrenceIndex(features, table), out_type)
    configs = [hybrid_config(w, round(1.0 - w, 10)) for w in grid]
    results = evaluate_models({c.id: ranker.model(c) for c in configs}, validation,
                              validation.train.item_set(), table_items(table))
    scores = {c.id: results[c.id].metrics[NDCG] for c in configs}
    best = max(configs, key=lambda c: (scores[c.id], -configs.index(c)))
    users = next(iter(results.values())).users
    return GridResult(best, scores, users, dataset_hash(validation))


# ---- the harness ---------------------------------------------------------------------------


def _short_history_results(ranker: RankerSignals, data: EvalSplit, hybrid: WeightConfig,
                           popularity: Model, cf: Model, train_items: Collection[str],
                           cooc_items: Collection[str]) -> dict[str, EvalResult]:
    """Popularity (the fallback), the hybrid and CF, trained as in the main table, for the same
    users with SHORT_HISTORY_PLAYS plays each."""
    models: dict[str, Model] = {
        FALLBACK: popularity,
        SHORT_HYBRID: ranker.model(hybrid),
        SHORT_CF: cf,
    }
    return evaluate_models(models, short_history(data, SHORT_HISTORY_PLAYS), train_items,
                           cooc_items)


def _short_history_rows(results: dict[str, EvalResult], hybrid_id: str, cf: CfConfig | None
                        ) -> tuple[ModelRow, ...]:
    plays = SHORT_HISTORY_PLAYS
    note = f"the test users with {plays} seeded plays each; models as above"
    params = {"plays": plays}
    return (
        ModelRow(FALLBACK, f"fallback: popularity ({plays}-play users)",
                 f"fallback:popularity:{plays}-plays", results[FALLBACK],
                 f"what personal recommendations serve below 5 plays; {note}", params),
        ModelRow(SHORT_HYBRID, f"hybrid from {plays} plays", f"{hybrid_id}:{plays}-plays",
                 results[SHORT_HYBRID], f"the same hybrid weights; {note}", params),
        ModelRow(SHORT_CF, f"CF from {plays} plays", f"signal:cf:{plays}-plays",
                 results[SHORT_CF], note, {**params, **asdict(cf or CfConfig())}),
    )


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

    def row(self, key: str) -> ModelRow:
        return next(r for r in self.rows if r.key == key)

    def hybrid_margin(self) -> dict[str, float]:
        """Hybrid nDCG@10 minus each evaluated single signal's (positive: hybrid better)."""
        hybrid = self.row(HYBRID).result
        assert hybrid is not None
        return {r.key: hybrid.metrics[NDCG] - r.result.metrics[NDCG] for r in self.rows
                if r.key in (METADATA, COOCCURRENCE, CONTENT_ONLY) and r.result is not None}

    def hybrid_beats_single_signals(self) -> bool:
        return all(margin > 0 for margin in self.hybrid_margin().values())


def run_harness(
    rows: Sequence[ResourceRow],
    interactions: Triples,
    protocol: Protocol | None = None,
    *,
    users: int | None = None,
    grid_users: int | None = DEFAULT_GRID_USERS,
    grid: Sequence[float] = DEFAULT_GRID,
    pmi: PmiConfig | None = None,
    neighbours: int | None = DEFAULT_NEIGHBOURS,
    cf: CfConfig | None = None,
    content_unavailable: str = "no content vectors exist for the evaluated items",
) -> HarnessReport:
    """Split, tune the hybrid on validation, train every model, evaluate on the test cases.

    `users` / `grid_users`: evaluate on a seeded sample of that many test / validation
    users (None: all). `content_unavailable` is the reason shown in the content-only row:
    content vectors are not part of these inputs.
    """
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
    lap("features and split")

    tuned = grid_search(features, validation_split(data.train, protocol, grid_users), out_type,
                        grid, pmi)
    lap("grid search")

    table = train_pmi(data.train.users, data.train.items, data.train.weights, pmi)
    cooc_items = table_items(table)
    train_items = data.train.item_set()
    ranker = RankerSignals(features, CooccurrenceIndex(features, table), out_type)
    single = {s: WeightConfig.single_signal(s, lambda_mmr=EVAL_LAMBDA)
              for s in (METADATA, COOCCURRENCE)}
    models: dict[str, Model] = {
        POPULARITY: Popularity(data.train),
        ITEM_KNN: ItemKnn(data.train, neighbours),
        METADATA: ranker.model(single[METADATA], with_cooccurrence=False),
        COOCCURRENCE: ranker.model(single[COOCCURRENCE]),
        HYBRID: ranker.model(tuned.best),
        CF: CollaborativeFiltering(data.train, cf),
    }
    lap("training")
    results = evaluate_models(models, data, train_items, cooc_items)
    lap("evaluation")
    short = _short_history_results(ranker, data, tuned.best, models[POPULARITY], models[CF],
                                   train_items, cooc_items)
    lap("short-history evaluation")

    pmi_params = {**asdict(pmi), "input_hash": table.input_hash}
    weights = {"w_content": tuned.best.w_content, "w_metadata": tuned.best.w_metadata,
               "w_cooccurrence": tuned.best.w_cooccurrence, "lambda_mmr": EVAL_LAMBDA}
    report_rows = (
        ModelRow(POPULARITY, "popularity (baseline)", "baseline:popularity",
                 results[POPULARITY], "most distinct training listeners"),
        ModelRow(ITEM_KNN, "item-kNN cosine (baseline)", "baseline:item-knn-cosine",
                 results[ITEM_KNN], f"{neighbours} neighbours per item",
                 {"neighbours": neighbours}),
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
        ModelRow(CF, "collaborative filtering", "signal:cf", results[CF],
                 "implicit ALS on the training split, users folded in from their seeds",
                 asdict(cf or CfConfig())),
        *_short_history_rows(short, tuned.best.id, cf),
    )
    held = {i for case in data.cases for i in case.held_out}
    return HarnessReport(
        protocol=protocol, dataset_hash=dataset_hash(data), rows=report_rows,
        out_type=out_type, train_interactions=len(data.train), train_items=len(train_items),
        catalog_items=features.count(out_type), cooccurrence_pairs=len(table),
        cold_items=len(held - cooc_items), users=results[HYBRID].users,
        cold_users=results[HYBRID].cold_users, grid=tuned, pmi=pmi, seconds=seconds)
