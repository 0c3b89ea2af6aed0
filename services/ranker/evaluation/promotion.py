"""Offline comparison of a candidate model with the active one of its kind.

Co-occurrence models, CF models and weight configs are judged on the same split (same
dataset hash) of the evaluation data set. A stored model was trained on all interactions,
held-out ones included, so scoring it directly would leak the answers; instead each model's
*recipe* is retrained on the split's training triples:

- co-occurrence: its PMI parameters, ranked by the hybrid with the active weight config;
- CF: its ALS parameters, each user folded in from their seeds (cold items: those the
  training split never saw);
- weight config: the hybrid with its weights, over the active co-occurrence model's recipe
  (the default PMI parameters when none is active).

The hybrid is judged as it serves: with the weight config's MMR lambda (the operating point
users get, so the coverage gate measures the lists they see), and, where the config weighs
the collaborative signal, with the active CF model's recipe retrained on the split.

Reranker models (the learned second stage) are judged by their recipe too: LambdaMART is
retrained on a validation split carved from the split's training part (never its held-out
items), over the first stage built from that validation split as `juke train-reranker`
builds it, and the hybrid as it serves (active weight config, co-occurrence and CF recipes)
reranked by it is compared with what serves now: the hybrid reranked by the active
reranker's recipe, or, with no reranker active, the hybrid alone at its MMR operating point.
The first reranker must therefore beat the hybrid it reranks by the relative gates.

Embedding models are judged by the content evaluation (content.py) on the licensed corpus.
Results are persisted in `ranker.model_evaluation` under the models' ids.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property

from services.common.db import Database
from services.common.errors import InvalidArgument, NotFound
from services.ranker.core.cf import CfConfig, train_als
from services.ranker.core.collaborative import CollaborativeIndex
from services.ranker.core.features import CatalogFeatures, SeedSet
from services.ranker.core.hybrid import WeightConfig
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.core.rerank_recipe import RerankerRecipe
from services.ranker.core.signals import CooccurrenceIndex, SignalScores
from services.ranker.evaluation.content import ContentEvaluator
from services.ranker.evaluation.data import EvalData
from services.ranker.evaluation.harness import (  # CF lives beside the harness's baselines
    CollaborativeFiltering,
    RankerSignals,
    out_type_of,
    table_items,
)
from services.ranker.evaluation.protocol import (
    EvalResult,
    EvalSplit,
    Protocol,
    dataset_hash,
    evaluate,
    split,
)
from services.ranker.evaluation.protocol import Model as EvalModel
from services.ranker.evaluation.rerank import (
    FirstStage,
    SignalFactory,
    SignalSource,
    listener_counts,
    reranked_model,
    train_reranker,
    validation_splits,
)
from services.ranker.evaluation.store import EvaluationInput, save_evaluations
from services.ranker.store import repository as repo
from services.ranker.store import rerankers
from services.ranker.store.repository import (
    CfModelRecord,
    CooccurrenceModelRecord,
    WeightConfigRecord,
)
from services.ranker.store.rerankers import RerankerModelRecord
from services.ranker.workflows.promotion_contracts import EvaluationPair


def pmi_config(params: dict[str, object]) -> PmiConfig:
    known = {f.name for f in fields(PmiConfig)}
    return PmiConfig(**{k: v for k, v in params.items() if k in known})  # type: ignore[arg-type]


def cf_config(params: dict[str, object]) -> CfConfig:
    known = {f.name for f in fields(CfConfig)}
    return CfConfig(**{k: v for k, v in params.items() if k in known})  # type: ignore[arg-type]


Model = CooccurrenceModelRecord | CfModelRecord | WeightConfigRecord | RerankerModelRecord


@dataclass(frozen=True)
class _Setting:
    """What a comparison ranks with besides the compared models: the split, its features
    and the active models of the other kinds."""

    evaluation: EvalSplit
    features: CatalogFeatures
    weights: WeightConfig
    cooccurrence: PmiConfig
    cf: CfConfig  # the active CF model's recipe, for the collaborative signal

    @cached_property
    def collaborative(self) -> CollaborativeIndex:
        """The collaborative signal's index, trained on the split once per comparison."""
        train = self.evaluation.train
        return CollaborativeIndex(
            self.features, train_als(train.users, train.items, train.weights, self.cf))

    @cached_property
    def cooccurrence_table(self) -> CooccurrenceTable:
        """The active co-occurrence recipe trained on the split, once per comparison."""
        train = self.evaluation.train
        return train_pmi(train.users, train.items, train.weights, self.cooccurrence)


def _metrics(result: EvalResult) -> dict[str, float]:
    return {k: v for k, v in result.metrics.items() if not math.isnan(v)}


class HarnessEvaluator:
    """`on_progress` is called while a long comparison works through its users (an
    activity's heartbeat: a reranker's retraining and evaluation take minutes)."""

    def __init__(self, db: Database, load: Callable[[], EvalData],
                 protocol: Protocol | None = None,
                 content: ContentEvaluator | None = None,
                 on_progress: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._load = load
        self._protocol = protocol or Protocol()
        self._content = content
        self._progress = on_progress

    def compare(self, kind: str, candidate_id: str) -> EvaluationPair:
        if kind == "embedding":
            if self._content is None:
                return EvaluationPair("", {}, {}, unavailable_reason=(
                    "this worker has no content evaluation for embedding models"))
            return self._content.compare(candidate_id)
        candidate, active, weights, cooc, cf = self._models(kind, candidate_id)
        setting = self._setting(weights, cooc, cf)
        digest = dataset_hash(setting.evaluation)
        try:
            scored = {"candidate": self._score(kind, candidate, setting)}
        except InvalidArgument as err:
            if kind != "reranker":
                raise
            # No validation user's candidates hold a held-out item: nothing to learn from.
            return EvaluationPair(digest, {}, {}, unavailable_reason=(
                f"{kind} model {candidate_id} cannot be retrained on the promotion split: "
                f"{err}"))
        if active is not None and active.id != candidate.id:
            scored["active"] = self._score(kind, active, setting)
        elif kind == "reranker" and active is None:  # what serves now: the hybrid alone
            scored["active"] = _hybrid_score(setting.cooccurrence, setting.weights, setting,
                                             self._progress)
        with self._db.transaction() as session:
            save_evaluations(session, [
                EvaluationInput(str(model.id), scored[role], digest,
                                {"role": role, "kind": kind,
                                 "weight_config": setting.weights.id,
                                 "params": getattr(model, "params", {})})
                for role, model in (("candidate", candidate), ("active", active))
                if model is not None and role in scored])
        return EvaluationPair(digest, scored["candidate"], scored.get("active", {}),
                              str(active.id) if active else "")

    def _models(self, kind: str, candidate_id: str
                ) -> tuple[Model, Model | None, WeightConfigRecord | None,
                           CooccurrenceModelRecord | None, CfModelRecord | None]:
        """(candidate, the kind's active model, the active weight config, co-occurrence
        model and CF model)."""
        key = uuid.UUID(candidate_id)
        with self._db.read() as session:
            config_id, cooc_id = repo.active_ids(session)
            weights = repo.weight_config(session, config_id) if config_id else None
            cooc = repo.cooccurrence_model(session, cooc_id) if cooc_id else None
            cf = repo.active_cf_model(session)
            candidate: Model | None
            active: Model | None
            if kind == "cooccurrence":
                candidate, active = repo.cooccurrence_model(session, key), cooc
            elif kind == "cf":
                candidate, active = repo.cf_model(session, key), cf
            elif kind == "reranker":
                candidate = rerankers.reranker_model(session, key)
                active = rerankers.active_reranker_model(session)
            else:
                candidate, active = repo.weight_config(session, key), weights
        if candidate is None:
            raise NotFound(f"no {kind} model {candidate_id!r}")
        return candidate, active, weights, cooc, cf

    def _setting(self, weights: WeightConfigRecord | None,
                 cooc: CooccurrenceModelRecord | None, cf: CfModelRecord | None) -> _Setting:
        data = self._load()
        return _Setting(split(data.interactions, self._protocol),
                        CatalogFeatures.build(list(data.rows)), _weight_config(weights),
                        pmi_config(cooc.params) if cooc else PmiConfig(),
                        cf_config(cf.params) if cf else CfConfig())

    def _score(self, kind: str, model: Model, setting: _Setting) -> dict[str, float]:
        if kind == "cf":
            assert isinstance(model, CfModelRecord)
            return _cf_score(model, setting.evaluation)
        if kind == "weights":
            assert isinstance(model, WeightConfigRecord)
            return _hybrid_score(setting.cooccurrence, _weight_config(model), setting)
        if kind == "reranker":
            assert isinstance(model, RerankerModelRecord)
            return _reranker_score(RerankerRecipe.from_params(model.params), setting,
                                   self._progress)
        assert isinstance(model, CooccurrenceModelRecord)
        return _hybrid_score(pmi_config(model.params), setting.weights, setting)


def _weight_config(weights: WeightConfigRecord | None) -> WeightConfig:
    if weights is None:  # nothing active: equal weights, relevance only
        return WeightConfig("equal", 0.0, 0.5, 0.5, 1.0)
    return WeightConfig(str(weights.id), weights.w_content, weights.w_metadata,
                        weights.w_cooccurrence, weights.lambda_mmr, weights.w_collaborative)


def _hybrid_score(recipe: PmiConfig, config: WeightConfig, setting: _Setting,
                  progress: Callable[[], None] = lambda: None) -> dict[str, float]:
    train = setting.evaluation.train
    table = train_pmi(train.users, train.items, train.weights, recipe)
    out_type = out_type_of(setting.features, train.items)
    collaborative = setting.collaborative if config.w_collaborative > 0 else None
    ranker = RankerSignals(setting.features, CooccurrenceIndex(setting.features, table),
                           out_type, collaborative)
    return _metrics(evaluate(_reporting(ranker.model(config), progress), setting.evaluation,
                             train.item_set(), table_items(table)))


def _cf_score(model: CfModelRecord, data: EvalSplit) -> dict[str, float]:
    train = data.train
    return _metrics(evaluate(CollaborativeFiltering(train, cf_config(model.params)), data,
                             train.item_set(), train.item_set()))


def _reporting(model: EvalModel, progress: Callable[[], None]) -> EvalModel:
    """`model`, calling `progress` once per user it ranks."""

    def rank(seeds: Sequence[str], exclude: Sequence[str], k: int) -> Sequence[str]:
        progress()
        return model(seeds, exclude, k)

    return rank


class _ReportingSignals:
    """The harness's signals, calling `progress` once per user whose signals it computes
    (the reranker's training queries)."""

    def __init__(self, inner: RankerSignals, progress: Callable[[], None]) -> None:
        self._inner = inner
        self._progress = progress
        self.features = inner.features
        self.out_type = inner.out_type

    def computed(self, seeds: Sequence[str]) -> tuple[
            SeedSet, SignalScores, SignalScores, SignalScores | None]:
        self._progress()
        return self._inner.computed(seeds)


def _reporting_signals(progress: Callable[[], None]) -> SignalFactory:
    def build(features: CatalogFeatures, cooccurrence: CooccurrenceIndex, out_type: str,
              collaborative: CollaborativeIndex | None) -> SignalSource:
        return _ReportingSignals(RankerSignals(features, cooccurrence, out_type,
                                               collaborative), progress)

    return build


def _reranker_score(recipe: RerankerRecipe, setting: _Setting,
                    progress: Callable[[], None] = lambda: None) -> dict[str, float]:
    """The recipe retrained on a validation split of the split's training part, reranking
    the hybrid as it serves (its weights; MMR gives way to the reranker, as in serving)."""
    train = setting.evaluation.train
    out_type = out_type_of(setting.features, train.items)
    protocol = replace(setting.evaluation.protocol, seed=recipe.seed)
    validation, *more = validation_splits(train, protocol, recipe.validation_users,
                                          recipe.splits)
    fit = train_reranker(setting.features, validation, out_type, setting.weights,
                         _reporting_signals(progress), setting.cooccurrence, setting.cf,
                         recipe.training, recipe.candidates, extra=more)
    table = setting.cooccurrence_table
    collaborative = setting.collaborative if setting.weights.w_collaborative > 0 else None
    ranker = RankerSignals(setting.features, CooccurrenceIndex(setting.features, table),
                           out_type, collaborative)
    model = reranked_model(FirstStage(ranker, setting.weights, recipe.candidates),
                           fit.reranker, listener_counts(train))
    return _metrics(evaluate(_reporting(model, progress), setting.evaluation,
                             train.item_set(), table_items(table)))
