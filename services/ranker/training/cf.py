"""Collaborative-filtering training: registered interactions per user -> ALS -> a model.

Governed like the co-occurrence trainer: the training set is registered with governance,
and whether the model may ever serve production is stored with it. Where ALS runs (this
process or Apache Spark) is the same `PmiEngine` choice as for PMI; the model's params and
the workflow result record the `engine`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from typing import Protocol

from services.common.db import Database
from services.common.errors import FailedPrecondition
from services.ranker.core.cf import CfConfig
from services.ranker.store import repository as repo
from services.ranker.training.cooccurrence import Interactions, PmiEngine, TrainingGate
from services.ranker.training.safeguards import Safeguards
from services.ranker.workflows.training_contracts import (
    TrainCfResult,
)

log = logging.getLogger(__name__)


class UserInteractionSource(Protocol):
    def load_users(self, dataset: str) -> Interactions: ...


def cf_version(dataset: str, input_hash: str, config: CfConfig) -> str:
    params = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()
    return f"als-{dataset}-{input_hash[:12]}-{params[:8]}"


class CfTrainer:
    def __init__(self, db: Database, source: UserInteractionSource, gate: TrainingGate,
                 engine: PmiEngine | None = None, safeguards: Safeguards | None = None) -> None:
        self._db = db
        self._source = source
        self._gate = gate
        self._engine = engine or PmiEngine()
        self._safeguards = safeguards or Safeguards()

    def train(self, dataset: str, config: CfConfig) -> TrainCfResult:
        started = time.perf_counter()
        data = self._source.load_users(dataset)
        if len(data.items) == 0:
            raise FailedPrecondition(f"data set {dataset!r} has no interactions with catalog "
                                     f"items ({data.unmapped} unmapped): import its items first")
        profile = self._safeguards.check(dataset, data.item_type, data.users, data.items)
        for warning in profile.warnings:
            log.warning("training on %s: %s", dataset, warning)
        factors, engine = self._engine.train_cf(data.users, data.items, data.weights, config)
        digest, allowed = self._gate.register_and_check(dataset)
        version = cf_version(dataset, factors.input_hash, config)
        with self._db.transaction() as session:
            existing = repo.find_cf_model(session, version)
            reused = existing is not None
            model_id = existing.id if existing is not None else repo.save_cf_model(session, {
                "version": version, "training_set_hash": digest, "production_allowed": allowed,
                "item_type": data.item_type,
                "params": {**asdict(config), "dataset": dataset, "users": factors.users,
                           "input_hash": factors.input_hash,
                           "typical_weight": factors.typical_weight, "engine": engine,
                           **profile.record(round(time.perf_counter() - started, 2))},
            }, factors.item_ids, factors.item_factors)
        seconds = round(time.perf_counter() - started, 2)
        log.info("trained %s: %d items from %d users in %.1fs on %s (production allowed: %s)",
                 version, len(factors), factors.users, seconds, engine, allowed)
        return TrainCfResult(model_id=str(model_id), version=version, items=len(factors),
                             users=factors.users, training_set_hash=digest,
                             production_allowed=allowed, seconds=seconds, reused=reused,
                             engine=engine, interactions=profile.interactions,
                             diversity=-1 if profile.diversity is None else profile.diversity,
                             warnings=list(profile.warnings))
