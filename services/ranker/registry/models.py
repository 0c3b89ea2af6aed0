"""Registry operations of each ranker model kind, over the shared registry SQL.

Every kind (weight configs, co-occurrence, CF and reranker models) records when it was
activated, can be marked known-good and rolls back to its previous known-good row. A kind's
history is `services.common.registry.history` over its table below; `TABLES` names them by
kind.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.common import registry
from services.common.registry import LogEntry, RegisteredModel, RegistryTable
from services.ranker.store import repository as repo
from services.ranker.store import rerankers
from services.ranker.store.models import (
    ACTIVATION_LOG,
    CfModel,
    CooccurrenceModel,
    RankingWeightConfig,
    RerankerModel,
)
from services.ranker.store.repository import CooccurrenceModelRecord

WEIGHT_CONFIGS = RegistryTable(RankingWeightConfig)
COOCCURRENCE_MODELS = RegistryTable(CooccurrenceModel)
CF_MODELS = RegistryTable(CfModel)
RERANKER_MODELS = RegistryTable(RerankerModel)
TABLES = {"cooccurrence": COOCCURRENCE_MODELS, "cf": CF_MODELS, "weights": WEIGHT_CONFIGS,
          "reranker": RERANKER_MODELS}


def activate_weight_config(session: Session, config_id: uuid.UUID) -> uuid.UUID | None:
    """Returns the previously active config."""
    return registry.activate(session, WEIGHT_CONFIGS, config_id)


def activate_cooccurrence_model(session: Session, model_id: uuid.UUID) -> uuid.UUID | None:
    """Returns the previously active model."""
    return registry.activate(session, COOCCURRENCE_MODELS, model_id)


def mark_cooccurrence_known_good(session: Session, model_id: uuid.UUID) -> None:
    registry.mark_known_good(session, COOCCURRENCE_MODELS, model_id)


def rollback_cooccurrence_model(session: Session
                                ) -> tuple[CooccurrenceModelRecord, uuid.UUID | None] | None:
    """(the re-activated previous known-good model, the one it replaced); None when there is
    no known-good model to go back to."""
    done = registry.rollback(session, COOCCURRENCE_MODELS)
    if done is None:
        return None
    restored = repo.cooccurrence_model(session, done.restored_id)
    assert restored is not None  # just activated in this transaction
    return restored, done.deactivated_id


def activate_cf_model(session: Session, model_id: uuid.UUID) -> uuid.UUID | None:
    """Returns the previously active model."""
    return registry.activate(session, CF_MODELS, model_id)


def mark_cf_known_good(session: Session, model_id: uuid.UUID) -> None:
    registry.mark_known_good(session, CF_MODELS, model_id)


# --- every kind, with its activation log ----------------------------------------------------


def table_of(kind: str) -> RegistryTable:
    try:
        return TABLES[kind]
    except KeyError:
        raise ValueError(f"model kind {kind!r} is not one of {', '.join(TABLES)}") from None


def _described(session: Session, kind: str) -> dict[uuid.UUID, tuple[str, str, bool]]:
    """(label, training set hash, production allowed) of each model of a kind."""
    if kind == "weights":
        return {c.id: (f"content {c.w_content:g} / metadata {c.w_metadata:g} / co-occurrence "
                       f"{c.w_cooccurrence:g}, lambda {c.lambda_mmr:g}"
                       + (f" ({c.description})" if c.description else ""), "", True)
                for c in repo.list_weight_configs(session)}
    if kind == "reranker":
        return {m.id: (f"{m.version} ({m.candidates} candidates; {', '.join(m.datasets)})",
                       m.training_set_hash, m.production_allowed)
                for m in rerankers.list_reranker_models(session)}
    models = repo.list_cooccurrence_models(session) if kind == "cooccurrence" \
        else repo.list_cf_models(session)
    return {m.id: (m.version, m.training_set_hash, m.production_allowed) for m in models}


def registered_models(session: Session, kind: str) -> list[RegisteredModel]:
    """The kind's models in the order rollback walks them, each with its state."""
    described = _described(session, kind)
    latest = registry.latest_events(session, ACTIVATION_LOG, kind)
    return [registry.registered(kind, e, latest.get(e.id), *described[e.id])
            for e in registry.history(session, table_of(kind)) if e.id in described]


def activate_logged(session: Session, kind: str, entry: LogEntry,
                    known_good: bool = False) -> uuid.UUID | None:
    return registry.activate_logged(session, table_of(kind), ACTIVATION_LOG, entry,
                                    known_good=known_good)


def rollback_logged(session: Session, kind: str, actor: str) -> registry.Rollback | None:
    return registry.rollback_logged(session, table_of(kind), ACTIVATION_LOG, kind, actor)


def mark_known_good(session: Session, kind: str, model_id: uuid.UUID) -> None:
    registry.mark_known_good(session, table_of(kind), model_id)


def record(session: Session, entry: LogEntry) -> None:
    registry.record(session, ACTIVATION_LOG, entry)


def log_of(session: Session, model_id: uuid.UUID) -> list[LogEntry]:
    return registry.log_entries(session, ACTIVATION_LOG, model_id)
