"""Co-occurrence model training: registered interactions -> PMI table -> a versioned model.

The trainer reads a data set that governance has registered, maps its items onto catalog
juke_ids, trains PMI (services.ranker.core.pmi), records the training set with governance and
stores whether a model built from it may ever serve production.

`PmiEngine` decides where PMI is computed: in this process (`train_pmi`, numpy/scipy) or
on Apache Spark (`train_pmi_spark`) for data sets beyond one machine; both give the same
table. `auto` picks Spark from `spark_min_events` interactions on. The same chooser places
collaborative-filtering (ALS) training (`train_cf`: `train_als` or `train_als_spark`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from services.common.config import TRAINING_ENGINES
from services.common.db import Database
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.ranker.core.cf import CfConfig, CfFactors, train_als
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.store import repository as repo
from services.ranker.training.safeguards import CorpusProfile, Safeguards
from services.ranker.workflows.training_contracts import TrainCooccurrenceResult

if TYPE_CHECKING:
    from services.common.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PmiEngine:
    """Where PMI (`train`) and ALS (`train_cf`) training run: `local` (this process),
    `spark`, or `auto` (Spark from `spark_min_events` interactions on). Spark is imported
    only when it is chosen."""

    mode: str = "local"
    spark_master: str = "local[2]"
    spark_min_events: int = 5_000_000
    spark_driver_memory: str = "2g"

    def __post_init__(self) -> None:
        if self.mode not in TRAINING_ENGINES:
            raise InvalidArgument(f"training engine {self.mode!r} is not one of "
                                  f"{', '.join(TRAINING_ENGINES)}")
        if self.spark_min_events < 0:
            raise InvalidArgument(f"spark_min_events={self.spark_min_events!r} must be >= 0")

    @classmethod
    def from_settings(cls, settings: Settings) -> PmiEngine:
        return cls(mode=settings.training_engine, spark_master=settings.spark_master,
                   spark_min_events=settings.spark_min_events,
                   spark_driver_memory=settings.spark_driver_memory)

    def choose(self, events: int) -> str:
        """The engine ("local" or "spark") for a data set of `events` interactions."""
        if self.mode == "auto":
            return "spark" if events >= self.spark_min_events else "local"
        return self.mode

    def train(self, users: np.ndarray, items: np.ndarray, weights: np.ndarray,
              config: PmiConfig) -> tuple[CooccurrenceTable, str]:
        """The table and the engine that trained it."""
        engine = self.choose(len(users))
        if engine == "spark":
            from services.ranker.training.pmi_spark import train_pmi_spark

            return train_pmi_spark(users, items, weights, config, master=self.spark_master,
                                   driver_memory=self.spark_driver_memory), engine
        return train_pmi(users, items, weights, config), engine

    def train_cf(self, users: np.ndarray, items: np.ndarray, weights: np.ndarray,
                 config: CfConfig) -> tuple[CfFactors, str]:
        """ALS item factors and the engine that trained them (same choice as `train`)."""
        engine = self.choose(len(users))
        if engine == "spark":
            from services.ranker.training.als_spark import train_als_spark

            return train_als_spark(users, items, weights, config, master=self.spark_master,
                                   driver_memory=self.spark_driver_memory), engine
        return train_als(users, items, weights, config), engine


@dataclass(frozen=True)
class Interactions:
    dataset: str
    item_type: str
    users: np.ndarray           # int64 user index
    items: np.ndarray           # object array of catalog juke_ids
    weights: np.ndarray         # float64 (listening counts, plays, ...)
    unmapped: int               # interactions whose item is not in the catalog


class InteractionSource(Protocol):
    def load(self, dataset: str) -> Interactions: ...


class TrainingGate(Protocol):
    def register_and_check(self, dataset: str) -> tuple[str, bool]:
        """(training set hash, may a model trained on it serve production)."""
        ...


class CooccurrenceTrainer:
    def __init__(self, db: Database, source: InteractionSource, gate: TrainingGate,
                 engine: PmiEngine | None = None, safeguards: Safeguards | None = None) -> None:
        self._db = db
        self._source = source
        self._gate = gate
        self._engine = engine or PmiEngine()
        self._safeguards = safeguards or Safeguards()

    def train(self, dataset: str, config: PmiConfig) -> TrainCooccurrenceResult:
        started = time.perf_counter()
        data = self._source.load(dataset)
        if len(data.items) == 0:
            raise FailedPrecondition(f"data set {dataset!r} has no interactions with catalog "
                                     f"items ({data.unmapped} unmapped): import its items first")
        profile = self._safeguards.check(dataset, data.item_type, data.users, data.items)
        for warning in profile.warnings:
            log.warning("training on %s: %s", dataset, warning)
        table, engine = self._engine.train(data.users, data.items, data.weights, config)
        digest, allowed = self._gate.register_and_check(dataset)
        version = model_version(dataset, table.input_hash, config)
        with self._db.transaction() as session:
            existing = repo.find_cooccurrence_model(session, version)
            if existing is not None:  # same data, same parameters: the same model
                return self._outcome(existing.id, version, existing.pairs, data, digest,
                                     existing.production_allowed, started, reused=True,
                                     engine=engine, profile=profile)
            rows = [(uuid.UUID(str(a)), uuid.UUID(str(b)), int(c), float(p))
                    for a, b, c, p in zip(table.item_a, table.item_b, table.co_count,
                                          table.pmi_score, strict=True)]
            model_id = repo.save_cooccurrence_model(session, {
                "version": version, "training_set_hash": digest, "production_allowed": allowed,
                "item_type": data.item_type,
                "params": {**asdict(config), "dataset": dataset, "users": table.users,
                           "input_hash": table.input_hash, "engine": engine,
                           **profile.record(round(time.perf_counter() - started, 2))},
            }, rows)
        outcome = self._outcome(model_id, version, len(rows), data, digest, allowed, started,
                                reused=False, engine=engine, profile=profile)
        log.info("trained %s: %d pairs from %d users in %.1fs on %s (production allowed: %s)",
                 version, outcome.pairs, outcome.users, outcome.seconds, engine, allowed)
        return outcome

    @staticmethod
    def _outcome(model_id: uuid.UUID, version: str, pairs: int, data: Interactions,
                 digest: str, allowed: bool, started: float, reused: bool,
                 engine: str, profile: CorpusProfile) -> TrainCooccurrenceResult:
        return TrainCooccurrenceResult(
            model_id=str(model_id), version=version, pairs=pairs,
            users=len(np.unique(data.users)), items=len(np.unique(data.items)),
            unmapped=data.unmapped, training_set_hash=digest, production_allowed=allowed,
            seconds=round(time.perf_counter() - started, 2), reused=reused, engine=engine,
            interactions=profile.interactions,
            diversity=-1 if profile.diversity is None else profile.diversity,
            warnings=list(profile.warnings))


def model_version(dataset: str, input_hash: str, config: PmiConfig) -> str:
    """Same data and same parameters: the same version (and model); anything else: a new one."""
    params = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()
    return f"pmi-{dataset}-{input_hash[:12]}-{params[:8]}"


def require_dataset(names: dict[str, str], dataset: str) -> str:
    """The registered location of `dataset`, or NotFound naming the known ones."""
    if dataset not in names:
        known = ", ".join(sorted(names)) or "none"
        raise NotFound(f"data set {dataset!r} is not registered with governance (known: {known})")
    return names[dataset]
