"""Offline comparison of a candidate co-occurrence model with the active one.

Both are judged on the same split (same dataset hash) of the evaluation data set. A stored
PMI table was trained on all interactions, held-out ones included, so scoring it directly
would leak the answers; instead each model's *recipe* (its PMI parameters) is retrained on
the split's training triples, and the hybrid with the active weight config ranks with it.
Results are persisted in `ranker.model_evaluation` under the models' ids.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import fields

from services.common.db import Database
from services.common.errors import NotFound
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import WeightConfig
from services.ranker.core.pmi import PmiConfig, train_pmi
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.evaluation.data import EvalData
from services.ranker.evaluation.harness import RankerSignals, out_type_of, table_items
from services.ranker.evaluation.protocol import EvalSplit, Protocol, dataset_hash, evaluate, split
from services.ranker.evaluation.store import EvaluationInput, save_evaluations
from services.ranker.store import repository as repo
from services.ranker.store.repository import CooccurrenceModelRecord
from services.ranker.workflows.promotion_contracts import EvaluationPair

RELEVANCE_LAMBDA = 1.0  # judge relevance; diversification trades some away by design


def pmi_config(params: dict[str, object]) -> PmiConfig:
    known = {f.name for f in fields(PmiConfig)}
    return PmiConfig(**{k: v for k, v in params.items() if k in known})  # type: ignore[arg-type]


class HarnessEvaluator:
    def __init__(self, db: Database, load: Callable[[], EvalData],
                 protocol: Protocol | None = None) -> None:
        self._db = db
        self._load = load
        self._protocol = protocol or Protocol()

    def compare(self, kind: str, candidate_id: str) -> EvaluationPair:
        if kind != "cooccurrence":
            return EvaluationPair("", {}, {}, unavailable_reason=(
                f"no offline protocol evaluates {kind} models here: the evaluation data set "
                "(Last.fm HetRec) has no audio, so content vectors cannot be scored"))
        with self._db.read() as session:
            candidate = repo.cooccurrence_model(session, uuid.UUID(candidate_id))
            config_id, active_id = repo.active_ids(session)
            active = repo.cooccurrence_model(session, active_id) if active_id else None
            weights = repo.weight_config(session, config_id) if config_id else None
        if candidate is None:
            raise NotFound(f"no co-occurrence model {candidate_id!r}")
        data = self._load()
        evaluation = split(data.interactions, self._protocol)
        features = CatalogFeatures.build(list(data.rows))
        config = WeightConfig(str(weights.id) if weights else "equal",
                              weights.w_content if weights else 0.0,
                              weights.w_metadata if weights else 0.5,
                              weights.w_cooccurrence if weights else 0.5, RELEVANCE_LAMBDA)
        digest = dataset_hash(evaluation)
        scored = {"candidate": self._score(candidate, features, evaluation, config)}
        if active is not None and active.id != candidate.id:
            scored["active"] = self._score(active, features, evaluation, config)
        with self._db.transaction() as session:
            save_evaluations(session, [
                EvaluationInput(str(model.id), scored[role], digest,
                                {"role": role, "weight_config": config.id,
                                 "pmi": model.params})
                for role, model in (("candidate", candidate), ("active", active))
                if model is not None and role in scored])
        return EvaluationPair(digest, scored["candidate"], scored.get("active", {}),
                              str(active.id) if active else "")

    @staticmethod
    def _score(model: CooccurrenceModelRecord, features: CatalogFeatures, data: EvalSplit,
               config: WeightConfig) -> dict[str, float]:
        train = data.train
        table = train_pmi(train.users, train.items, train.weights, pmi_config(model.params))
        out_type = out_type_of(features, train.items)
        ranker = RankerSignals(features, CooccurrenceIndex(features, table), out_type)
        result = evaluate(ranker.model(config), data, train.item_set(), table_items(table))
        return {k: v for k, v in result.metrics.items() if not math.isnan(v)}
