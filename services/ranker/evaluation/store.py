"""Persisted offline evaluations (`ranker.model_evaluation`): write a run, read it back."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.common.errors import InvalidArgument
from services.common.ids import uuid7
from services.ranker.store.models import ModelEvaluation


@dataclass(frozen=True)
class EvaluationInput:
    model_id: str
    metrics: Mapping[str, float]
    dataset_hash: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationRecord:
    id: uuid.UUID
    model_id: str
    metric_name: str
    metric_value: float
    dataset_hash: str
    params: dict[str, Any]
    created_at: datetime


def _checked(item: EvaluationInput) -> None:
    if not item.model_id.strip():
        raise InvalidArgument("an evaluation needs a model_id")
    if len(item.dataset_hash) != 64 or any(c not in "0123456789abcdef" for c in item.dataset_hash):
        raise InvalidArgument(f"dataset_hash {item.dataset_hash!r} is not a sha256 hex digest")
    for name in item.metrics:
        if not name.strip():
            raise InvalidArgument(f"model {item.model_id!r}: a metric has an empty name")


def save_evaluations(session: Session, items: Sequence[EvaluationInput]) -> int:
    """One row per (model, metric); NaN metrics (nothing to measure) are not stored.

    Returns the number of rows written.
    """
    rows: list[dict[str, Any]] = []
    for item in items:
        _checked(item)
        for name, value in item.metrics.items():
            if math.isnan(value):
                continue
            if math.isinf(value):
                raise InvalidArgument(f"model {item.model_id!r}: metric {name!r} is {value}")
            rows.append({"id": uuid7(), "model_id": item.model_id, "metric_name": name,
                         "metric_value": float(value), "dataset_hash": item.dataset_hash,
                         "params": dict(item.params)})
    if rows:
        session.execute(insert(ModelEvaluation), rows)
    return len(rows)


def list_evaluations(session: Session, *, model_id: str | None = None,
                     dataset_hash: str | None = None) -> list[EvaluationRecord]:
    """Stored rows, oldest first (ties: id, i.e. insertion order), optionally filtered."""
    stmt = select(ModelEvaluation).order_by(ModelEvaluation.created_at, ModelEvaluation.id)
    if model_id is not None:
        stmt = stmt.where(ModelEvaluation.model_id == model_id)
    if dataset_hash is not None:
        stmt = stmt.where(ModelEvaluation.dataset_hash == dataset_hash)
    return [EvaluationRecord(r.id, r.model_id, r.metric_name, r.metric_value, r.dataset_hash,
                             dict(r.params), r.created_at) for r in session.scalars(stmt)]


def latest_metrics(session: Session, model_id: str, dataset_hash: str) -> dict[str, float]:
    """The most recent value of each metric of one model on one data split."""
    latest: dict[str, float] = {}
    for record in list_evaluations(session, model_id=model_id, dataset_hash=dataset_hash):
        latest[record.metric_name] = record.metric_value
    return latest
