"""Data access for learned second-stage (reranker) models. Returns dataclasses.

A record carries everything but the serving artifact, which can be megabytes (the model
text and the popularity of every training item): listing models never reads it, serving
reads it once per activated model (`reranker_artifact`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.ids import uuid7
from services.ranker.store.models import RerankerModel

_COLUMNS = (RerankerModel.id, RerankerModel.version, RerankerModel.training_set_hash,
            RerankerModel.production_allowed, RerankerModel.datasets,
            RerankerModel.candidates, RerankerModel.params, RerankerModel.active,
            RerankerModel.is_known_good, RerankerModel.created_at, RerankerModel.activated_at)


@dataclass(frozen=True)
class RerankerModelRecord:
    id: uuid.UUID
    version: str                # lambdamart-<hash of the model text>
    training_set_hash: str
    production_allowed: bool
    datasets: tuple[str, ...]   # the governance data sets of its training set
    candidates: int             # first-stage candidates it reranks
    params: dict[str, Any]      # the recipe and what its training run measured
    active: bool
    is_known_good: bool
    created_at: datetime
    activated_at: datetime | None = None


def _record(row: Any) -> RerankerModelRecord:
    (model_id, version, digest, allowed, datasets, candidates, params, active, known_good,
     created_at, activated_at) = row
    return RerankerModelRecord(model_id, version, digest, allowed, tuple(datasets), candidates,
                               dict(params), active, known_good, created_at, activated_at)


def reranker_model(session: Session, model_id: uuid.UUID) -> RerankerModelRecord | None:
    row = session.execute(select(*_COLUMNS).where(RerankerModel.id == model_id)).first()
    return _record(row) if row else None


def active_reranker_model(session: Session) -> RerankerModelRecord | None:
    row = session.execute(select(*_COLUMNS).where(RerankerModel.active)).first()
    return _record(row) if row else None


def find_reranker_model(session: Session, version: str) -> RerankerModelRecord | None:
    row = session.execute(select(*_COLUMNS).where(RerankerModel.version == version)).first()
    return _record(row) if row else None


def list_reranker_models(session: Session) -> list[RerankerModelRecord]:
    return [_record(r) for r in session.execute(
        select(*_COLUMNS).order_by(RerankerModel.created_at, RerankerModel.id))]


def reranker_artifact(session: Session, model_id: uuid.UUID) -> str | None:
    """The serving artifact (JSON text) of a model; None when there is no such model."""
    return session.scalar(select(RerankerModel.artifact).where(RerankerModel.id == model_id))


def save_reranker_model(session: Session, *, version: str, training_set_hash: str,
                        production_allowed: bool, datasets: list[str], candidates: int,
                        params: dict[str, Any], artifact: str) -> uuid.UUID:
    """A new candidate (inactive, not known-good)."""
    model_id = uuid7()
    session.add(RerankerModel(id=model_id, version=version,
                              training_set_hash=training_set_hash,
                              production_allowed=production_allowed, datasets=list(datasets),
                              candidates=candidates, params=params, artifact=artifact,
                              active=False, is_known_good=False))
    session.flush()
    return model_id
