"""The playlist-continuation protocol and its run (no I/O).

Playlists. Any collection of ordered item lists; on Last.fm HetRec 2011 each user's library
is one playlist, its artists ordered by the user's listening count (most played first, ties
by id: the order of a Last.fm "top artists" page). The data set carries no listening order,
so the order is stated with every result, and the continuation is also run on the reverse
order (least played first) to show what the position weighting does with each meaning.

Split. Per playlist, a seeded 20% of its items are held out: exactly the per-user split of
the user protocol (protocol.py, `split`: the items sorted by id, permuted by a generator
seeded with the seed and the playlist id), so the held-out items, the training triples and
`dataset_hash` are those of the recommendation-quality table. The seeds are the other items,
in playlist order.

Metrics per playlist, averaged over the evaluated playlists (H: its held-out items):
- R-precision = hits in the top |H| / |H|;
- nDCG@10 (binary gains, ideal DCG of min(|H|, 10) hits), Recall@10 = hits in the top 10 /
  min(|H|, 10), both as protocol.py defines them.

Models, all trained on the training triples only:
- the baselines of the recommendation-quality table: popularity, item-kNN cosine and EASE
  (lambda chosen on the validation split);
- hybrid: the ranker with uniform seeds (metadata + co-occurrence + the collaborative
  signal of the project's CF, `CfConfig()`, trained on the training triples; weights chosen
  on validation over the harness's grid, MMR lambda 1 as in the harness);
- continuation: the same ranker and weights, seeded as the continuation endpoint seeds it
  (playlists/continuation.py: position weights, at most MAX_SEEDS latest items). The artist
  limiter is left out: the evaluated items are artists, each its own artist, so it never
  binds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from services.common.errors import InvalidArgument
from services.ranker.core import signals as sig
from services.ranker.core.cf import CfConfig, train_als
from services.ranker.core.collaborative import CollaborativeIndex, collaborative
from services.ranker.core.features import CatalogFeatures, ResourceRow
from services.ranker.core.hybrid import WeightConfig, combine, weigh_seeds
from services.ranker.core.pmi import PmiConfig, train_pmi
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.evaluation.baselines import (
    DEFAULT_NEIGHBOURS,
    EASE_LAMBDAS,
    Ease,
    ItemKnn,
    Popularity,
    tune,
)
from services.ranker.evaluation.harness import COLLABORATIVE_GRID, grid_search, out_type_of
from services.ranker.evaluation.protocol import (
    EvalSplit,
    Model,
    Protocol,
    Triples,
    dataset_hash,
    ndcg_at_k,
    recall_at_k,
    split,
    validation_split,
)
from services.ranker.playlists.continuation import continuation_seeds

MOST_PLAYED_FIRST, LEAST_PLAYED_FIRST = "most played first", "least played first"
R_PRECISION, NDCG10, RECALL10 = "r_precision", "ndcg@10", "recall@10"
METRICS = (R_PRECISION, NDCG10, RECALL10)

# ordered seeds, k -> the top-k item ids, best first (seeds never among them)
OrderedModel = Callable[[Sequence[str], int], Sequence[str]]


@dataclass(frozen=True)
class PlaylistCase:
    playlist: str
    seeds: tuple[str, ...]          # in playlist order
    held_out: frozenset[str]


def r_precision(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    if not relevant:
        raise InvalidArgument("R-precision needs at least one relevant item")
    return len(set(ranked[:len(relevant)]) & relevant) / len(relevant)


def ordered_cases(data: EvalSplit, reverse: bool = False) -> tuple[PlaylistCase, ...]:
    """Each case's seeds in playlist order: by training weight (listening count), most
    first (`reverse`: least first), ties by id."""
    weight: dict[tuple[str, str], float] = dict(zip(
        zip(data.train.users.tolist(), data.train.items.tolist(), strict=True),
        data.train.weights.tolist(), strict=True))
    cases = []
    for case in data.cases:
        order = sorted(case.seeds, key=lambda item: (-weight[(case.user, item)], item))
        cases.append(PlaylistCase(case.user, tuple(order[::-1] if reverse else order),
                                  frozenset(case.held_out)))
    return tuple(cases)


def evaluate_playlists(models: Mapping[str, OrderedModel], cases: Sequence[PlaylistCase]
                       ) -> dict[str, dict[str, float]]:
    """Mean R-precision, nDCG@10 and Recall@10 of every model over the cases."""
    if not cases:
        raise InvalidArgument("no playlist to evaluate")
    values: dict[str, dict[str, list[float]]] = {m: {k: [] for k in METRICS} for m in models}
    for case in cases:
        depth = max(10, len(case.held_out))
        for name, model in models.items():
            ranked = list(model(case.seeds, depth))[:depth]
            if len(set(ranked)) != len(ranked) or set(ranked) & set(case.seeds):
                raise InvalidArgument(f"model {name!r} returned a repeated item or a seed "
                                      f"for playlist {case.playlist!r}")
            values[name][R_PRECISION].append(r_precision(ranked, case.held_out))
            values[name][NDCG10].append(ndcg_at_k(ranked, case.held_out, 10))
            values[name][RECALL10].append(recall_at_k(ranked, case.held_out, 10))
    return {m: {k: float(np.mean(v)) for k, v in per.items()} for m, per in values.items()}


class WeightedRanker:
    """The ranker's signals for ordered seeds, weighted as continuation weighs them; the
    collaborative signal joins where the config weighs it (seed weights leave it as they
    are: it is not additive, as in the service)."""

    def __init__(self, features: CatalogFeatures, cooccurrence: CooccurrenceIndex,
                 out_type: str, config: WeightConfig,
                 collaborative_index: CollaborativeIndex | None = None) -> None:
        if config.w_collaborative > 0 and collaborative_index is None:
            raise InvalidArgument(f"{config.id} weighs the collaborative signal, but no CF "
                                  "model was given")
        self.features, self.cooccurrence = features, cooccurrence
        self.out_type, self.config = out_type, config
        self.collaborative = collaborative_index if config.w_collaborative > 0 else None

    def rank(self, seeds: Sequence[str], k: int, weighted: bool) -> list[str]:
        pairs = continuation_seeds(self.features, seeds, item_type=self.out_type) \
            if weighted else \
            tuple((s, 1.0) for s in seeds)
        ids = [s for s, _ in pairs]
        seed_set = self.features.expand_seeds(ids)
        weights = np.array([w for _, w in pairs])
        computed = [sig.metadata(seed_set, self.features, self.out_type),
                    sig.cooccurrence(seed_set, self.cooccurrence, self.out_type)]
        if self.collaborative is not None:
            computed.append(collaborative(seed_set, self.collaborative, self.out_type))
        computed = [weigh_seeds(scores, weights) for scores in computed]
        rec = combine(self.features, seed_set, computed, self.config,
                      out_types=(self.out_type,), exclude_ids=list(seeds), limit=k)
        return [item.id for item in rec.items]


def _unordered(model: Model) -> OrderedModel:
    return lambda seeds, k: model(seeds, seeds, k)


@dataclass(frozen=True)
class PlaylistReport:
    dataset_hash: str
    playlists: int
    results: dict[str, dict[str, dict[str, float]]]   # order -> model -> metric -> mean
    labels: dict[str, str]                             # model key -> label
    ease_lambda: float
    hybrid: WeightConfig
    seconds: dict[str, float] = field(default_factory=dict)


def run_playlist_evaluation(rows: Sequence[ResourceRow], interactions: Triples,
                            protocol: Protocol | None = None, *, users: int | None = None,
                            grid_users: int | None = 500,
                            ease_lambdas: Sequence[float] = EASE_LAMBDAS) -> PlaylistReport:
    protocol = protocol or Protocol()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()

    features = CatalogFeatures.build(rows)
    out_type = out_type_of(features, interactions.items)
    data = split(interactions, protocol, users)
    validation = validation_split(data.train, protocol, grid_users)
    lap("features and split")
    tuned = grid_search(features, validation, out_type, cf=CfConfig(),
                        collaborative_grid=COLLABORATIVE_GRID)
    ease = tune({str(lam): partial(Ease, lam=lam) for lam in ease_lambdas}, validation)
    lap("tuning on validation")
    table = train_pmi(data.train.users, data.train.items, data.train.weights, PmiConfig())
    config = tuned.best
    collab = CollaborativeIndex(features, train_als(
        data.train.users, data.train.items, data.train.weights, CfConfig())) \
        if config.w_collaborative > 0 else None
    ranker = WeightedRanker(features, CooccurrenceIndex(features, table), out_type, config,
                            collab)
    models: dict[str, OrderedModel] = {
        "popularity": _unordered(Popularity(data.train)),
        "item_knn": _unordered(ItemKnn(data.train, DEFAULT_NEIGHBOURS)),
        "ease": _unordered(Ease(data.train, float(ease.chosen))),
        "hybrid": lambda seeds, k: ranker.rank(seeds, k, weighted=False),
        "continuation": lambda seeds, k: ranker.rank(seeds, k, weighted=True),
    }
    lap("training")
    results = {}
    for order, reverse in ((MOST_PLAYED_FIRST, False), (LEAST_PLAYED_FIRST, True)):
        # Only the continuation reads the order; the other models' rows are the same.
        chosen = models if not reverse else {"continuation": models["continuation"]}
        results[order] = evaluate_playlists(chosen, ordered_cases(data, reverse))
    lap("evaluation")
    labels = {
        "popularity": "popularity (baseline)",
        "item_knn": "item-kNN cosine (baseline)",
        "ease": f"EASE (baseline, lambda {float(ease.chosen):g})",
        "hybrid": (f"hybrid, uniform seeds (metadata {config.w_metadata:.2f} / "
                   f"co-occurrence {config.w_cooccurrence:.2f} / "
                   f"collaborative {config.w_collaborative:.2f})"),
        "continuation": "continuation (position-weighted seeds)",
    }
    return PlaylistReport(dataset_hash(data), len(data.cases), results, labels,
                          float(ease.chosen), config, seconds)


def table_lines(report: PlaylistReport) -> list[str]:
    """A Markdown table: one row per model (and order, for the continuation)."""
    lines = ["| model | playlist order | R-precision | nDCG@10 | Recall@10 |",
             "|---|---|---|---|---|"]
    for order, per_model in report.results.items():
        for key, metrics in per_model.items():
            shown = order if key == "continuation" else "any (order unused)"
            cells = " | ".join(_fmt(metrics[m]) for m in METRICS)
            lines.append(f"| {report.labels[key]} | {shown} | {cells} |")
    return lines


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4f}"
