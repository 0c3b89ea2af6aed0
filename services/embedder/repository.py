"""Data access for the model registry and the vectors. Returns dataclasses / numpy arrays.

The registry SQL (one active model, known-good marks, rollback) is services.common.registry.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Table, delete, func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import registry
from services.common.db import copy_binary_rows
from services.common.ids import uuid7
from services.common.registry import LogEntry, RegisteredModel, RegistryTable
from services.embedder.db_models import (
    ACTIVATION_LOG,
    EmbeddingModel,
    ResourceEmbedding,
    TrackEmbedding,
)

INDEX_TYPES = ("ivfflat", "hnsw")
EMBEDDING_MODELS = RegistryTable(EmbeddingModel)
KIND = "embedding"


@dataclass(frozen=True)
class ModelRecord:
    id: uuid.UUID
    name: str
    source_model: str
    embedding_dim: int
    training_corpus_hash: str
    version: str
    active: bool
    is_known_good: bool
    weights_uri: str
    weights_sha256: str
    weights_license: str
    frontend_params: dict[str, Any]
    created_at: datetime
    activated_at: datetime | None
    artifact_hash: str
    training_data: str = ""
    training_data_license: str = ""


def _model(row: EmbeddingModel) -> ModelRecord:
    return ModelRecord(
        id=row.id, name=row.name, source_model=row.source_model,
        embedding_dim=row.embedding_dim, training_corpus_hash=row.training_corpus_hash,
        version=row.version, active=row.active, is_known_good=row.is_known_good,
        weights_uri=row.weights_uri, weights_sha256=row.weights_sha256,
        weights_license=row.weights_license, frontend_params=dict(row.frontend_params),
        created_at=row.created_at, activated_at=row.activated_at,
        artifact_hash=row.artifact_hash, training_data=row.training_data,
        training_data_license=row.training_data_license,
    )


# --- registry ------------------------------------------------------------------------------


def list_models(session: Session) -> list[ModelRecord]:
    stmt = select(EmbeddingModel).order_by(EmbeddingModel.created_at, EmbeddingModel.name)
    return [_model(r) for r in session.scalars(stmt)]


def get_model(session: Session, model_id: uuid.UUID) -> ModelRecord | None:
    row = session.get(EmbeddingModel, model_id)
    return _model(row) if row else None


def find_model(session: Session, name: str, version: str) -> ModelRecord | None:
    row = session.scalars(select(EmbeddingModel).where(
        EmbeddingModel.name == name, EmbeddingModel.version == version)).first()
    return _model(row) if row else None


def active_model(session: Session) -> ModelRecord | None:
    row = session.scalars(select(EmbeddingModel).where(EmbeddingModel.active)).first()
    return _model(row) if row else None


def upsert_model(session: Session, values: dict[str, Any]) -> tuple[uuid.UUID, bool]:
    """Insert, or refresh the weights/front-end facts of an existing (name, version)."""
    stmt = insert(EmbeddingModel).values(id=uuid7(), **values)
    upsert: Any = stmt.on_conflict_do_update(
        index_elements=["name", "version"],
        set_={k: stmt.excluded[k] for k in ("weights_uri", "weights_sha256", "weights_license",
                                            "frontend_params", "training_corpus_hash",
                                            "training_data", "training_data_license")},
    ).returning(EmbeddingModel.id, literal_column("(xmax = 0)").label("created"))
    row = session.execute(upsert).one()
    return row.id, bool(row.created)


def activate(session: Session, model_id: uuid.UUID) -> uuid.UUID | None:
    """Make `model_id` the only active model; returns the previously active one."""
    return registry.activate(session, EMBEDDING_MODELS, model_id)


def mark_known_good(session: Session, model_id: uuid.UUID) -> None:
    registry.mark_known_good(session, EMBEDDING_MODELS, model_id)


def rollback(session: Session) -> registry.Rollback | None:
    """Re-activate the most recently activated known-good model other than the active one;
    None when there is none."""
    return registry.rollback(session, EMBEDDING_MODELS)


def rollback_target(session: Session) -> ModelRecord | None:
    """The model `rollback` would re-activate now, without activating it."""
    target = registry.previous_known_good(session, EMBEDDING_MODELS,
                                          registry.active_id(session, EMBEDDING_MODELS))
    return get_model(session, target) if target is not None else None


def activate_logged(session: Session, entry: LogEntry, known_good: bool = False
                    ) -> uuid.UUID | None:
    """Activate and log in one transaction; returns the previously active model."""
    return registry.activate_logged(session, EMBEDDING_MODELS, ACTIVATION_LOG, entry,
                                    known_good=known_good)


def rollback_logged(session: Session, actor: str) -> registry.Rollback | None:
    return registry.rollback_logged(session, EMBEDDING_MODELS, ACTIVATION_LOG, KIND, actor)


def record(session: Session, entry: LogEntry) -> None:
    registry.record(session, ACTIVATION_LOG, entry)


def log_of(session: Session, model_id: uuid.UUID) -> list[LogEntry]:
    return registry.log_entries(session, ACTIVATION_LOG, model_id)


def registered_models(session: Session) -> list[RegisteredModel]:
    """Every embedding model in the order rollback walks them, each with its state; whether
    one may serve production is governance's decision at promotion (None here)."""
    models = {m.id: m for m in list_models(session)}
    latest = registry.latest_events(session, ACTIVATION_LOG, KIND)
    return [registry.registered(KIND, e, latest.get(e.id),
                                f"{models[e.id].name} {models[e.id].version}",
                                models[e.id].training_corpus_hash, None,
                                training_data=_declared(models[e.id]))
            for e in registry.history(session, EMBEDDING_MODELS) if e.id in models]


def _declared(model: ModelRecord) -> str:
    if not model.training_data:
        return "undeclared"
    return f"{model.training_data} ({model.training_data_license or 'no license declared'})"


def record_artifact_hash(session: Session, model_id: uuid.UUID, digest: str) -> None:
    session.execute(update(EmbeddingModel).where(EmbeddingModel.id == model_id)
                    .values(artifact_hash=digest))
    # Rankers serving this model open the new artifacts (a re-embedding keeps the model id).
    registry.announce(session, EMBEDDING_MODELS.name)


# --- track embeddings ----------------------------------------------------------------------


def stored_checksums(session: Session, model_id: uuid.UUID,
                     track_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = list(set(track_ids))
    if not wanted:
        return {}
    stmt = select(TrackEmbedding.track_juke_id, TrackEmbedding.audio_checksum).where(
        TrackEmbedding.model_id == model_id, TrackEmbedding.track_juke_id.in_(wanted))
    return {r.track_juke_id: r.audio_checksum for r in session.execute(stmt)}


def write_track_embedding(session: Session, *, track_id: uuid.UUID, model_id: uuid.UUID,
                          vector: np.ndarray, pooled_from: int, checksum: str,
                          entry_id: uuid.UUID, environment: str,
                          tags: dict[str, float] | None = None) -> bool:
    """Write unless an embedding of the same audio already exists; True when written.

    Same (track, model, checksum) = same embedding, so a retried activity is a no-op; a new
    checksum replaces the stale vector.
    """
    stmt = insert(TrackEmbedding).values(
        track_juke_id=track_id, model_id=model_id, vector=vector, pooled_from=pooled_from,
        audio_checksum=checksum, manifest_entry_id=entry_id, environment=environment,
        tags=tags or {})
    upsert: Any = stmt.on_conflict_do_update(
        index_elements=["track_juke_id", "model_id"],
        set_={"vector": stmt.excluded.vector, "pooled_from": stmt.excluded.pooled_from,
              "tags": stmt.excluded.tags,
              "audio_checksum": stmt.excluded.audio_checksum,
              "manifest_entry_id": stmt.excluded.manifest_entry_id,
              "environment": stmt.excluded.environment, "created_at": func.now()},
        where=TrackEmbedding.audio_checksum != stmt.excluded.audio_checksum,
    ).returning(TrackEmbedding.id)
    return session.execute(upsert).first() is not None


def track_tags_page(session: Session, model_id: uuid.UUID, after: uuid.UUID | None,
                    limit: int) -> list[tuple[uuid.UUID, dict[str, float]]]:
    """One page, in track order, of the model's tracks that have confident tags."""
    stmt = select(TrackEmbedding.track_juke_id, TrackEmbedding.tags).where(
        TrackEmbedding.model_id == model_id, TrackEmbedding.tags != text("'{}'::jsonb"))
    if after is not None:
        stmt = stmt.where(TrackEmbedding.track_juke_id > after)
    stmt = stmt.order_by(TrackEmbedding.track_juke_id).limit(limit)
    return [(r.track_juke_id, dict(r.tags)) for r in session.execute(stmt)]


def has_embeddings(session: Session, model_id: uuid.UUID) -> bool:
    """Cheaper than counting: the first row answers."""
    stmt = select(TrackEmbedding.id).where(TrackEmbedding.model_id == model_id).limit(1)
    return session.execute(stmt).first() is not None


def track_matrix(session: Session, model_id: uuid.UUID) -> tuple[list[uuid.UUID], np.ndarray]:
    """Every track vector of a model in track id order, as one float32 matrix.

    Read with one binary COPY into a single buffer: a million 512-d vectors cost their
    2 GB once, where a row object and an array per vector cost ten times that."""
    dim = session.scalar(select(func.vector_dims(TrackEmbedding.vector)).where(
        TrackEmbedding.model_id == model_id).limit(1))
    if dim is None:
        return [], np.zeros((0, 0), dtype=np.float32)
    from psycopg import sql

    table = TrackEmbedding.__table__
    assert isinstance(table, Table)
    query = sql.SQL("SELECT track_juke_id, vector FROM {} WHERE model_id = {} "
                    "ORDER BY track_juke_id").format(
        sql.Identifier(str(table.schema), table.name), sql.Literal(str(model_id)))
    # pgvector's binary form: int16 dimensions, int16 unused, then big-endian float32s.
    layout = np.dtype([("dim", ">i2"), ("unused", ">i2"), ("values", ">f4", (int(dim),))])
    rows = copy_binary_rows(session, query, [("id", "S16", 16),
                                             ("vector", layout, layout.itemsize)])
    ids = [uuid.UUID(bytes=key.ljust(16, b"\0")) for key in rows["id"].tolist()]
    return ids, rows["vector"]["values"].astype(np.float32)


def replace_resource_vectors(session: Session, model_id: uuid.UUID, resource_type: str,
                             rows: Sequence[tuple[uuid.UUID, np.ndarray, int]]) -> None:
    session.execute(delete(ResourceEmbedding).where(
        ResourceEmbedding.model_id == model_id, ResourceEmbedding.resource_type == resource_type))
    if rows:
        session.execute(insert(ResourceEmbedding), [
            {"resource_juke_id": rid, "resource_type": resource_type, "model_id": model_id,
             "vector": vec, "members": n} for rid, vec, n in rows])


def vectors(session: Session, model_id: uuid.UUID,
            ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, np.ndarray]]:
    wanted = list(set(ids))
    out: dict[uuid.UUID, tuple[str, np.ndarray]] = {}
    if not wanted:
        return out
    tracks = select(TrackEmbedding.track_juke_id, TrackEmbedding.vector).where(
        TrackEmbedding.model_id == model_id, TrackEmbedding.track_juke_id.in_(wanted))
    for r in session.execute(tracks):
        out[r[0]] = ("track", _array(r[1]))
    others = select(ResourceEmbedding.resource_juke_id, ResourceEmbedding.resource_type,
                    ResourceEmbedding.vector).where(
        ResourceEmbedding.model_id == model_id, ResourceEmbedding.resource_juke_id.in_(wanted))
    for r in session.execute(others):
        out[r[0]] = (r[1], _array(r[2]))
    return out


# --- ANN -----------------------------------------------------------------------------------


def index_name(model_id: uuid.UUID) -> str:
    return f"ix_track_embedding_ann_{model_id.hex}"


def build_index(session: Session, model_id: uuid.UUID, dim: int, index_type: str) -> int:
    """(Re)build the model's partial ANN index; IVFFlat lists ~ sqrt(rows). Returns lists."""
    if index_type not in INDEX_TYPES:
        raise ValueError(f"JUKE_VECTOR_INDEX_TYPE={index_type!r} must be one of {INDEX_TYPES}")
    rows = int(session.scalar(select(func.count()).select_from(TrackEmbedding).where(
        TrackEmbedding.model_id == model_id)) or 0)
    lists = max(1, round(math.sqrt(rows)))
    name = index_name(model_id)
    session.execute(text(f'DROP INDEX IF EXISTS embedder."{name}"'))
    options = f"WITH (lists = {lists})" if index_type == "ivfflat" else ""
    # model_id is a UUID we generated, so inlining it in DDL is safe.
    session.execute(text(
        f'CREATE INDEX "{name}" ON embedder.track_embedding USING {index_type} '
        f"((vector::vector({int(dim)})) vector_cosine_ops) {options} "
        f"WHERE model_id = '{model_id}'"))
    return lists


def index_exists(session: Session, model_id: uuid.UUID) -> bool:
    return session.scalar(text(
        "SELECT 1 FROM pg_indexes WHERE schemaname = 'embedder' AND indexname = :n"),
        {"n": index_name(model_id)}) is not None


def nearest_tracks(session: Session, model_id: uuid.UUID, dim: int, query: np.ndarray, k: int,
                   probes: int) -> list[tuple[uuid.UUID, float, np.ndarray]]:
    session.execute(text(f"SET LOCAL ivfflat.probes = {int(probes)}"))
    session.execute(text(f"SET LOCAL hnsw.ef_search = {max(40, int(k))}"))
    literal = "[" + ",".join(f"{x:.7g}" for x in query.tolist()) + "]"
    rows = session.execute(text(
        f"SELECT track_juke_id, 1 - (vector::vector({int(dim)}) <=> CAST(:q AS vector)) AS sim, "
        "vector FROM embedder.track_embedding WHERE model_id = :m "
        f"ORDER BY vector::vector({int(dim)}) <=> CAST(:q AS vector) LIMIT :k"),
        {"q": literal, "m": model_id, "k": k})
    return [(r[0], float(r[1]), _array(r[2])) for r in rows]


def _array(value: Any) -> np.ndarray:
    """A vector column value as float32: binary (registered type), text, or array."""
    if hasattr(value, "to_numpy"):  # pgvector.Vector from the registered binary type
        return np.asarray(value.to_numpy(), dtype=np.float32)
    if isinstance(value, str):  # pgvector text form, when the type is not registered
        return np.array(value.strip("[]").split(","), dtype=np.float32)
    return np.asarray(value, dtype=np.float32)


def nearest_resources(session: Session, model_id: uuid.UUID, resource_type: str,
                      query: np.ndarray, k: int) -> list[tuple[uuid.UUID, float, np.ndarray]]:
    """Exact search: there are few albums/artists compared with tracks."""
    literal = "[" + ",".join(f"{x:.7g}" for x in query.tolist()) + "]"
    rows = session.execute(text(
        "SELECT resource_juke_id, 1 - (vector <=> CAST(:q AS vector)) AS sim, vector "
        "FROM embedder.resource_embedding WHERE model_id = :m AND resource_type = :t "
        "ORDER BY vector <=> CAST(:q AS vector) LIMIT :k"),
        {"q": literal, "m": model_id, "t": resource_type, "k": k})
    return [(r[0], float(r[1]), _array(r[2])) for r in rows]


@dataclass(frozen=True)
class Coverage:
    tracks: int
    albums: int
    artists: int
    index_built: bool


def coverage(session: Session, model_id: uuid.UUID) -> Coverage:
    tracks = session.scalar(select(func.count()).select_from(TrackEmbedding).where(
        TrackEmbedding.model_id == model_id)) or 0
    counts = dict(session.execute(select(ResourceEmbedding.resource_type, func.count()).where(
        ResourceEmbedding.model_id == model_id).group_by(ResourceEmbedding.resource_type)).all())
    return Coverage(int(tracks), int(counts.get("album", 0)), int(counts.get("artist", 0)),
                    index_exists(session, model_id))
