"""The ranker's model registry: co-occurrence, CF and reranker models and weight configs.

Every activation goes through here and is written to the activation log in its own
transaction. In production a model becomes active only as the last step of a promotion
(`activate_promoted`, called by PromotionWorkflow's activity after the gates, governance and
the owner's approval); direct activation is refused there, and logged as `ungated`
elsewhere. Serving processes hear of every activation through the activation channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.common.registry import (
    LogEntry,
    Promotion,
    RegisteredModel,
    direct_activation_refusal,
)
from services.ranker.registry import models as registry
from services.ranker.store import repository as repo
from services.ranker.store import rerankers
from services.ranker.store.repository import (
    CfModelRecord,
    CooccurrenceModelRecord,
    WeightConfigRecord,
)
from services.ranker.store.rerankers import RerankerModelRecord

KINDS = tuple(registry.TABLES)
NAMES = {"cooccurrence": "co-occurrence model", "cf": "CF model", "weights": "weight config",
         "reranker": "reranker model"}
Record = WeightConfigRecord | CooccurrenceModelRecord | CfModelRecord | RerankerModelRecord


def _load(session: Session, kind: str, key: uuid.UUID) -> Record | None:
    if kind == "weights":
        return repo.weight_config(session, key)
    if kind == "cooccurrence":
        return repo.cooccurrence_model(session, key)
    if kind == "reranker":
        return rerankers.reranker_model(session, key)
    return repo.cf_model(session, key)


class ModelRegistry:
    def __init__(self, db: Database, environment: str,
                 on_activated: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self.environment = environment
        self._on_activated = on_activated  # this process serves the change at once

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in KINDS:
            raise InvalidArgument(f"model kind {kind!r} is not one of {', '.join(KINDS)}")
        return kind

    @staticmethod
    def _key(kind: str, model_id: str) -> uuid.UUID:
        key = parse_uuid(model_id)
        if key is None:
            raise InvalidArgument(f"{NAMES[kind]} id {model_id!r} is not a UUID")
        return key

    # --- reading -----------------------------------------------------------------------

    def models(self, kind: str = "", state: str = "") -> list[RegisteredModel]:
        kinds = [self._kind(kind)] if kind else list(KINDS)
        with self._db.read() as session:
            models = [m for k in kinds for m in registry.registered_models(session, k)]
        return [m for m in models if not state or m.state == state]

    def find(self, model_id: str) -> RegisteredModel | None:
        key = parse_uuid(model_id)
        return next((m for m in self.models() if m.id == key), None) if key else None

    def history(self, model_id: str) -> tuple[RegisteredModel, list[LogEntry]]:
        model = self.find(model_id)
        if model is None:
            raise NotFound(f"no co-occurrence, CF or reranker model or weight config "
                           f"{model_id!r}")
        with self._db.read() as session:
            return model, registry.log_of(session, model.id)

    # --- activation --------------------------------------------------------------------

    def activate_directly(self, kind: str, model_id: str, actor: str
                          ) -> tuple[Any, uuid.UUID | None]:
        """Outside production only; logged as `ungated`. Returns (the record, previous)."""
        refusal = direct_activation_refusal(self.environment, self._kind(kind), model_id)
        if refusal:
            raise FailedPrecondition(refusal)
        return self._activate(kind, model_id, LogEntry(
            kind, uuid.UUID(int=0), "activated", path="ungated", actor=actor,
            detail="direct activation outside production (no gates, no approval)"))

    def activate_promoted(self, kind: str, model_id: str, promotion: Promotion
                          ) -> tuple[Any, uuid.UUID | None]:
        """The last step of an approved promotion: activate, mark known-good, log the gates
        and the approval, all in one transaction."""
        if not promotion.approved_by or not promotion.promotion_id:
            raise FailedPrecondition(f"{NAMES[self._kind(kind)]} {model_id}: a promoted "
                                     "activation needs its promotion and its approver")
        return self._activate(kind, model_id, LogEntry(
            kind, uuid.UUID(int=0), "activated", path="promotion",
            actor=promotion.requested_by, approved_by=promotion.approved_by,
            promotion_id=promotion.promotion_id, gates=promotion.gates), known_good=True)

    def _activate(self, kind: str, model_id: str, entry: LogEntry, known_good: bool = False
                  ) -> tuple[Any, uuid.UUID | None]:
        key = self._key(kind, model_id)
        with self._db.transaction() as session:
            model = _load(session, kind, key)
            if model is None:
                raise NotFound(f"no {NAMES[kind]} {model_id!r}")
            self._require_production_data(kind, model)
            training = getattr(model, "training_set_hash", "")
            previous = registry.activate_logged(
                session, kind, replace(entry, model_id=key, training_set_hash=training),
                known_good=known_good)
            model = _load(session, kind, key)
        self._on_activated()
        return model, previous

    def _require_production_data(self, kind: str, model: Any) -> None:
        if self.environment == "production" and not getattr(model, "production_allowed", True):
            raise FailedPrecondition(
                f"{NAMES[kind]} {model.version} was trained on data that is not "
                f"production-eligible (training set {model.training_set_hash}); it can never "
                "be activated in production")

    def mark_known_good_directly(self, kind: str, model_id: str) -> Any:
        """Outside production only: there a known-good mark (what rollback returns to) comes
        only with a promoted activation. Returns the model's record."""
        refusal = direct_activation_refusal(self.environment, self._kind(kind), model_id)
        if refusal:
            raise FailedPrecondition(f"marking known-good by hand is refused in production: "
                                     f"{refusal}")
        key = self._key(kind, model_id)
        with self._db.transaction() as session:
            if _load(session, kind, key) is None:
                raise NotFound(f"no {NAMES[kind]} {model_id!r}")
            registry.mark_known_good(session, kind, key)
            return _load(session, kind, key)

    def rollback(self, kind: str, actor: str) -> tuple[RegisteredModel, uuid.UUID | None]:
        """Re-activate the kind's previous known-good model; nothing is deleted."""
        with self._db.transaction() as session:
            done = registry.rollback_logged(session, self._kind(kind), actor)
        if done is None:
            raise FailedPrecondition(f"no previous known-good {NAMES[kind]} to roll back to")
        self._on_activated()
        restored = self.find(str(done.restored_id))
        assert restored is not None  # just activated
        return restored, done.deactivated_id

    def record(self, entry: LogEntry) -> None:
        """A promotion step that activates nothing (evaluated, awaiting approval, rejected)."""
        self._kind(entry.kind)
        with self._db.transaction() as session:
            registry.record(session, entry)
