"""Registry operations of each ranker model kind, over the shared registry SQL.

Weight configs are only ever activated: they carry neither a known-good mark nor an activation
time. Co-occurrence and CF models record when they were activated and can be marked known-good;
rollback is offered for co-occurrence models (CF activation marks the model known-good at once).
A kind's history is `services.common.registry.history` over its table below.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.common import registry
from services.common.registry import RegistryTable
from services.ranker.store import repository as repo
from services.ranker.store.models import CfModel, CooccurrenceModel, RankingWeightConfig
from services.ranker.store.repository import CooccurrenceModelRecord

WEIGHT_CONFIGS = RegistryTable(RankingWeightConfig, known_good_column=None,
                               activated_column=None)
COOCCURRENCE_MODELS = RegistryTable(CooccurrenceModel)
CF_MODELS = RegistryTable(CfModel)


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
