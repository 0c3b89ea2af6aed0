"""Data access for weight configs and co-occurrence models. Returns dataclasses / arrays.

Which model is active, known-good or rolled back to is the registry's business
(services.ranker.registry); here models are only saved, found and read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import DateTime, Table, Text, case, delete, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB, UUID, distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.common.db import bound_array, copy_binary_rows
from services.common.ids import uuid7
from services.ranker.core.event_types import EVENT_WEIGHTS, POSITIVE_TYPES
from services.ranker.store.models import (
    CfItemFactor,
    CfModel,
    CooccurrenceModel,
    ItemCooccurrence,
    ListeningEventRow,
    ModelEvaluation,
    ModelHealthMetric,
    RadioPlay,
    RadioSession,
    RankingWeightConfig,
    TasteProfile,
    TasteProfileFavourite,
)

INSERT_CHUNK = 10_000


@dataclass(frozen=True)
class WeightConfigRecord:
    id: uuid.UUID
    w_content: float
    w_metadata: float
    w_cooccurrence: float
    lambda_mmr: float
    active: bool
    description: str
    created_at: datetime
    w_collaborative: float = 0.0


@dataclass(frozen=True)
class CooccurrenceModelRecord:
    id: uuid.UUID
    version: str
    training_set_hash: str
    production_allowed: bool
    item_type: str
    pairs: int
    params: dict[str, Any]
    active: bool
    is_known_good: bool
    created_at: datetime
    activated_at: datetime | None = None


def _config(row: RankingWeightConfig) -> WeightConfigRecord:
    return WeightConfigRecord(row.id, row.w_content, row.w_metadata, row.w_cooccurrence,
                              row.lambda_mmr, row.active, row.description, row.created_at,
                              row.w_collaborative)


def _cooc(row: CooccurrenceModel) -> CooccurrenceModelRecord:
    return CooccurrenceModelRecord(row.id, row.version, row.training_set_hash,
                                   row.production_allowed, row.item_type, row.pairs,
                                   dict(row.params), row.active, row.is_known_good,
                                   row.created_at, row.activated_at)


# --- weight configs ------------------------------------------------------------------------


def active_ids(session: Session) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(active weight config, active co-occurrence model) in one round trip."""
    config = select(RankingWeightConfig.id).where(RankingWeightConfig.active).scalar_subquery()
    cooc = select(CooccurrenceModel.id).where(CooccurrenceModel.active).scalar_subquery()
    row = session.execute(select(config, cooc)).one()
    return row[0], row[1]


def weight_config(session: Session, config_id: uuid.UUID) -> WeightConfigRecord | None:
    row = session.get(RankingWeightConfig, config_id)
    return _config(row) if row else None


def list_weight_configs(session: Session) -> list[WeightConfigRecord]:
    stmt = select(RankingWeightConfig).order_by(RankingWeightConfig.created_at)
    return [_config(r) for r in session.scalars(stmt)]


def create_weight_config(session: Session, values: dict[str, Any]) -> WeightConfigRecord:
    row = RankingWeightConfig(id=uuid7(), active=False, **values)
    session.add(row)
    session.flush()
    session.refresh(row)
    return _config(row)


# --- co-occurrence models ------------------------------------------------------------------


def cooccurrence_model(session: Session, model_id: uuid.UUID) -> CooccurrenceModelRecord | None:
    row = session.get(CooccurrenceModel, model_id)
    return _cooc(row) if row else None


def list_cooccurrence_models(session: Session) -> list[CooccurrenceModelRecord]:
    stmt = select(CooccurrenceModel).order_by(CooccurrenceModel.created_at)
    return [_cooc(r) for r in session.scalars(stmt)]


def find_cooccurrence_model(session: Session, version: str) -> CooccurrenceModelRecord | None:
    row = session.scalars(select(CooccurrenceModel).where(
        CooccurrenceModel.version == version)).first()
    return _cooc(row) if row else None


def save_cooccurrence_model(session: Session, values: dict[str, Any],
                            rows: list[tuple[uuid.UUID, uuid.UUID, int, float]]) -> uuid.UUID:
    model_id = uuid7()
    session.add(CooccurrenceModel(id=model_id, pairs=len(rows), active=False, **values))
    session.flush()
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(ItemCooccurrence), [
            {"model_id": model_id, "item_a_juke_id": a, "item_b_juke_id": b, "co_count": c,
             "pmi_score": p} for a, b, c, p in rows[start:start + INSERT_CHUNK]])
    return model_id


@dataclass(frozen=True)
class CooccurrenceArrays:
    """A model's rows as arrays: item ids as 16-byte UUIDs (`S16`), counts, scores."""

    item_a: np.ndarray
    item_b: np.ndarray
    co_count: np.ndarray
    pmi_score: np.ndarray


def cooccurrence_arrays(session: Session, model_id: uuid.UUID) -> CooccurrenceArrays:
    """The model's rows in one binary COPY (millions of rows in seconds)."""
    from psycopg import sql

    table = ItemCooccurrence.__table__
    assert isinstance(table, Table)
    query = sql.SQL("SELECT item_a_juke_id, item_b_juke_id, co_count, pmi_score "
                    "FROM {} WHERE model_id = {}").format(
        sql.Identifier(str(table.schema), table.name), sql.Literal(str(model_id)))
    rows = copy_binary_rows(session, query, [("a", "S16", 16), ("b", "S16", 16),
                                             ("count", ">i8", 8), ("pmi", ">f8", 8)])
    return CooccurrenceArrays(rows["a"].copy(), rows["b"].copy(),
                              rows["count"].astype(np.int64), rows["pmi"].astype(np.float64))


def cooccurrence_rows(session: Session, model_id: uuid.UUID
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The model's rows with ids as canonical UUID text."""
    arrays = cooccurrence_arrays(session, model_id)

    def text(keys: np.ndarray) -> np.ndarray:
        return np.array([str(uuid.UUID(bytes=k.ljust(16, b"\0"))) for k in keys.tolist()],
                        dtype=object)

    return text(arrays.item_a), text(arrays.item_b), arrays.co_count, arrays.pmi_score


# --- model health ------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthRecord:
    name: str
    value: float
    model_id: str
    metadata: dict[str, Any]
    recorded_at: datetime


def record_health(session: Session, rows: list[tuple[str, float, str, dict[str, Any]]]) -> None:
    if rows:
        session.execute(insert(ModelHealthMetric), [
            {"metric_name": n, "metric_value": v, "model_id": m, "metadata_": meta}
            for n, v, m, meta in rows])


def latest_health(session: Session) -> list[HealthRecord]:
    """The most recent value of every metric."""
    stmt = (select(ModelHealthMetric).ext(distinct_on(ModelHealthMetric.metric_name))
            .order_by(ModelHealthMetric.metric_name, ModelHealthMetric.created_at.desc(),
                      ModelHealthMetric.id.desc()))
    return [HealthRecord(r.metric_name, r.metric_value, r.model_id, dict(r.metadata_),
                         r.created_at) for r in session.scalars(stmt)]


def latest_evaluation(session: Session, model_id: str) -> dict[str, float]:
    """The newest evaluation run's metrics for `model_id` (empty when never evaluated)."""
    newest = select(ModelEvaluation.dataset_hash, ModelEvaluation.created_at).where(
        ModelEvaluation.model_id == model_id).order_by(ModelEvaluation.created_at.desc()).limit(1)
    row = session.execute(newest).first()
    if row is None:
        return {}
    stmt = select(ModelEvaluation.metric_name, ModelEvaluation.metric_value).where(
        ModelEvaluation.model_id == model_id, ModelEvaluation.dataset_hash == row[0])
    return {name: float(value) for name, value in session.execute(stmt)}


@dataclass(frozen=True)
class EventRecord:
    user_id: str
    item_juke_id: str
    item_type: str
    event_type: str
    occurred_at: datetime
    session_id: str


@dataclass(frozen=True)
class NewEvent:
    idempotency_key: str
    user_id: str
    item_juke_id: uuid.UUID
    item_type: str
    event_type: str
    occurred_at: datetime
    session_id: str
    context: dict[str, str]


def insert_events(session: Session, rows: Sequence[NewEvent]) -> int:
    """Insert a batch in one statement: one array per column, turned back into rows by
    `unnest`; rows whose idempotency key is already stored are skipped. Keys must be
    distinct within the batch. Returns how many rows are new."""
    if not rows:
        return 0
    table: Any = ListeningEventRow.__table__
    columns: dict[str, tuple[Any, list[Any]]] = {
        "idempotency_key": (Text, [r.idempotency_key for r in rows]),
        "user_id": (Text, [r.user_id for r in rows]),
        "item_juke_id": (UUID(as_uuid=True), [r.item_juke_id for r in rows]),
        "item_type": (Text, [r.item_type for r in rows]),
        "event_type": (Text, [r.event_type for r in rows]),
        "occurred_at": (DateTime(timezone=True), [r.occurred_at for r in rows]),
        "session_id": (Text, [r.session_id for r in rows]),
        "context": (JSONB, [json.dumps(r.context) for r in rows]),  # text, cast to jsonb
    }
    arrays = [bound_array(values, kind) for kind, values in columns.values()]
    source = func.unnest(*arrays).table_valued(*columns).render_derived()
    inserted = (pg_insert(table).from_select(list(columns), select(*source.c))
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(table.c.id).cte("inserted"))
    return int(session.scalar(select(func.count()).select_from(inserted)) or 0)


def events(session: Session, user_id: str | None = None) -> list[EventRecord]:
    """All events (or one user's), oldest first."""
    query = select(ListeningEventRow.user_id, ListeningEventRow.item_juke_id,
                   ListeningEventRow.item_type, ListeningEventRow.event_type,
                   ListeningEventRow.occurred_at, ListeningEventRow.session_id)
    if user_id is not None:
        query = query.where(ListeningEventRow.user_id == user_id)
    query = query.order_by(ListeningEventRow.occurred_at, ListeningEventRow.id)
    return [EventRecord(u, str(i), t, e, at, sid) for u, i, t, e, at, sid in session.execute(query)]


# --- collaborative filtering models ----------------------------------------------------------


@dataclass(frozen=True)
class CfModelRecord:
    id: uuid.UUID
    version: str
    training_set_hash: str
    production_allowed: bool
    item_type: str
    items: int
    factors: int
    params: dict[str, Any]
    active: bool
    is_known_good: bool
    created_at: datetime
    activated_at: datetime | None = None


def _cf(row: CfModel) -> CfModelRecord:
    return CfModelRecord(row.id, row.version, row.training_set_hash, row.production_allowed,
                         row.item_type, row.items, row.factors, dict(row.params), row.active,
                         row.is_known_good, row.created_at, row.activated_at)


def cf_model(session: Session, model_id: uuid.UUID) -> CfModelRecord | None:
    row = session.get(CfModel, model_id)
    return _cf(row) if row else None


def active_cf_model(session: Session) -> CfModelRecord | None:
    row = session.scalars(select(CfModel).where(CfModel.active)).first()
    return _cf(row) if row else None


def list_cf_models(session: Session) -> list[CfModelRecord]:
    return [_cf(r) for r in session.scalars(select(CfModel).order_by(CfModel.created_at))]


def find_cf_model(session: Session, version: str) -> CfModelRecord | None:
    row = session.scalars(select(CfModel).where(CfModel.version == version)).first()
    return _cf(row) if row else None


def save_cf_model(session: Session, values: dict[str, Any], item_ids: np.ndarray,
                  factors: np.ndarray) -> uuid.UUID:
    model_id = uuid7()
    session.add(CfModel(id=model_id, items=len(item_ids), factors=int(factors.shape[1]),
                        active=False, is_known_good=False, **values))
    session.flush()
    vectors = np.ascontiguousarray(factors, dtype="<f4")
    for start in range(0, len(item_ids), INSERT_CHUNK):
        session.execute(insert(CfItemFactor), [
            {"model_id": model_id, "item_juke_id": uuid.UUID(str(item)),
             "factors": vectors[k].tobytes()}
            for k, item in enumerate(item_ids[start:start + INSERT_CHUNK], start=start)])
    return model_id


def cf_item_factors(session: Session, model_id: uuid.UUID, dim: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(item ids as text, sorted; float32 factors in that order)."""
    rows = session.execute(select(CfItemFactor.item_juke_id.cast(Text), CfItemFactor.factors)
                           .where(CfItemFactor.model_id == model_id)
                           .order_by(CfItemFactor.item_juke_id.cast(Text))).all()
    ids = np.array([r[0] for r in rows], dtype=object)
    matrix = (np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
              if rows else np.zeros((0, dim), dtype=np.float32))
    return ids, matrix.astype(np.float32)


def user_positive_items(session: Session, user_id: str) -> list[tuple[str, str, float]]:
    """(item juke_id, item type, summed event weight) of one user, heaviest first; summed in
    the database, so a long history costs one aggregate row per item."""
    weight = case(*((ListeningEventRow.event_type == kind, value)
                    for kind, value in EVENT_WEIGHTS.items()), else_=0.0)
    total = func.sum(weight)
    stmt = (select(ListeningEventRow.item_juke_id.cast(Text), ListeningEventRow.item_type, total)
            .where(ListeningEventRow.user_id == user_id)
            .group_by(ListeningEventRow.item_juke_id, ListeningEventRow.item_type)
            .having(total > 0)
            .order_by(total.desc(), ListeningEventRow.item_juke_id.cast(Text)))
    return [(i, t, float(w)) for i, t, w in session.execute(stmt)]


def popular_items(session: Session, since: datetime, limit: int) -> list[tuple[str, str, int]]:
    """(item juke_id, type, distinct listeners) of positive events since `since`."""
    stmt = (select(ListeningEventRow.item_juke_id.cast(Text), ListeningEventRow.item_type,
                   func.count(func.distinct(ListeningEventRow.user_id)).label("listeners"))
            .where(ListeningEventRow.occurred_at >= since,
                   ListeningEventRow.event_type.in_(sorted(POSITIVE_TYPES)))
            .group_by(ListeningEventRow.item_juke_id, ListeningEventRow.item_type)
            .order_by(func.count(func.distinct(ListeningEventRow.user_id)).desc(),
                      ListeningEventRow.item_juke_id.cast(Text))
            .limit(limit))
    return [(i, t, int(n)) for i, t, n in session.execute(stmt)]


# --- taste profiles --------------------------------------------------------------------------


@dataclass(frozen=True)
class TasteProfileRecord:
    id: uuid.UUID
    user_id: str
    name: str
    favourites: tuple[tuple[str, str], ...]  # (juke_id, resource type), in the order given
    created_at: datetime
    updated_at: datetime


def _favourite_rows(session: Session, profile_ids: list[uuid.UUID]
                    ) -> dict[uuid.UUID, list[tuple[str, str]]]:
    """Each profile's (juke_id, type) favourites in position order, one query for all."""
    out: dict[uuid.UUID, list[tuple[str, str]]] = {p: [] for p in profile_ids}
    if not profile_ids:
        return out
    stmt = (select(TasteProfileFavourite.profile_id,
                   TasteProfileFavourite.juke_id.cast(Text),
                   TasteProfileFavourite.resource_type)
            .where(TasteProfileFavourite.profile_id.in_(profile_ids))
            .order_by(TasteProfileFavourite.profile_id, TasteProfileFavourite.position))
    for profile_id, juke_id, rtype in session.execute(stmt):
        out[profile_id].append((juke_id, rtype))
    return out


def _profiles(session: Session, rows: list[TasteProfile]) -> list[TasteProfileRecord]:
    favourites = _favourite_rows(session, [r.id for r in rows])
    return [TasteProfileRecord(r.id, r.user_id, r.name, tuple(favourites[r.id]), r.created_at,
                               r.updated_at) for r in rows]


def _write_favourites(session: Session, profile_id: uuid.UUID,
                      favourites: list[tuple[str, str]]) -> None:
    if favourites:
        session.execute(insert(TasteProfileFavourite), [
            {"profile_id": profile_id, "juke_id": uuid.UUID(juke_id), "resource_type": rtype,
             "position": position}
            for position, (juke_id, rtype) in enumerate(favourites)])


def create_taste_profile(session: Session, user_id: str, name: str,
                         favourites: list[tuple[str, str]]) -> TasteProfileRecord:
    """`favourites`: distinct (juke_id, type) pairs, in order."""
    row = TasteProfile(id=uuid7(), user_id=user_id, name=name)
    session.add(row)
    session.flush()
    _write_favourites(session, row.id, favourites)
    session.refresh(row)
    return _profiles(session, [row])[0]


def taste_profile(session: Session, profile_id: uuid.UUID) -> TasteProfileRecord | None:
    row = session.get(TasteProfile, profile_id)
    return _profiles(session, [row])[0] if row else None


def taste_profiles_of(session: Session, user_id: str) -> list[TasteProfileRecord]:
    stmt = (select(TasteProfile).where(TasteProfile.user_id == user_id)
            .order_by(TasteProfile.created_at, TasteProfile.id))
    return _profiles(session, list(session.scalars(stmt)))


def update_taste_profile(session: Session, profile_id: uuid.UUID, name: str | None,
                         favourites: list[tuple[str, str]] | None) -> TasteProfileRecord | None:
    """None leaves that part as it is; favourites, when given, replace the old ones."""
    row = session.get(TasteProfile, profile_id, with_for_update=True)
    if row is None:
        return None
    if name is not None:
        row.name = name
    row.updated_at = func.now()  # type: ignore[assignment]
    if favourites is not None:
        session.execute(delete(TasteProfileFavourite)
                        .where(TasteProfileFavourite.profile_id == profile_id))
        _write_favourites(session, profile_id, favourites)
    session.flush()
    session.refresh(row)
    return _profiles(session, [row])[0]


def delete_taste_profile(session: Session, profile_id: uuid.UUID) -> bool:
    """The profile and (cascade) its favourites; False when there was none."""
    deleted = session.execute(delete(TasteProfile).where(TasteProfile.id == profile_id)
                              .returning(TasteProfile.id)).first()
    return deleted is not None


def taste_profile_favourites(session: Session, profile_ids: list[uuid.UUID]
                             ) -> dict[uuid.UUID, list[str]]:
    """Favourite juke_ids (in order) of those of `profile_ids` that exist; missing ones are
    absent from the result."""
    found = list(session.scalars(select(TasteProfile.id).where(
        TasteProfile.id.in_(profile_ids))))
    return {p: [juke_id for juke_id, _ in favs]
            for p, favs in _favourite_rows(session, found).items()}


# --- radio sessions --------------------------------------------------------------------------


@dataclass(frozen=True)
class RadioSessionRecord:
    id: uuid.UUID
    user_id: str
    seed_ids: tuple[str, ...]
    resource_type: str
    artist_limit: int
    artist_window: int
    created_at: datetime


def _radio(row: RadioSession) -> RadioSessionRecord:
    return RadioSessionRecord(row.id, row.user_id, tuple(str(s) for s in row.seed_ids),
                              row.resource_type, row.artist_limit, row.artist_window,
                              row.created_at)


def create_radio_session(session: Session, user_id: str, seed_ids: list[str],
                         resource_type: str, artist_limit: int,
                         artist_window: int) -> RadioSessionRecord:
    row = RadioSession(id=uuid7(), user_id=user_id, seed_ids=[uuid.UUID(s) for s in seed_ids],
                       resource_type=resource_type, artist_limit=artist_limit,
                       artist_window=artist_window)
    session.add(row)
    session.flush()
    session.refresh(row)
    return _radio(row)


def lock_radio_session(session: Session, session_id: uuid.UUID) -> RadioSessionRecord | None:
    """The session row, locked FOR UPDATE until the transaction ends: concurrent pages of one
    session are decided one after the other."""
    row = session.get(RadioSession, session_id, with_for_update=True)
    return _radio(row) if row else None


def radio_plays(session: Session, session_id: uuid.UUID) -> list[tuple[int, str, str | None]]:
    """(position, item juke_id, artist juke_id) of what a session served, in order."""
    stmt = (select(RadioPlay.position, RadioPlay.item_juke_id.cast(Text),
                   RadioPlay.artist_juke_id.cast(Text))
            .where(RadioPlay.session_id == session_id).order_by(RadioPlay.position))
    return [(int(p), i, a) for p, i, a in session.execute(stmt)]


def add_radio_plays(session: Session, session_id: uuid.UUID, first_position: int,
                    items: list[tuple[str, str | None]]) -> None:
    """Append (item, artist) plays; uq_radio_play_item refuses an item served before."""
    if items:
        session.execute(insert(RadioPlay), [
            {"session_id": session_id, "position": first_position + k,
             "item_juke_id": uuid.UUID(item), "artist_juke_id": uuid.UUID(artist) if artist
             else None}
            for k, (item, artist) in enumerate(items)])


def session_events(session: Session, session_id: str) -> list[tuple[str, str]]:
    """(item juke_id, event type) posted with this session id, oldest first."""
    stmt = (select(ListeningEventRow.item_juke_id.cast(Text), ListeningEventRow.event_type)
            # `<> ''` repeats the partial index's predicate (ix_listening_event_session).
            .where(ListeningEventRow.session_id == session_id,
                   ListeningEventRow.session_id != "")
            .order_by(ListeningEventRow.occurred_at, ListeningEventRow.id))
    return [(i, e) for i, e in session.execute(stmt)]
