"""SQLAlchemy 2 models of the model registry and embeddings (`embedder` schema, pgvector).

Vectors are stored in an undimensioned `vector` column so models of different sizes share
one table; each model gets its own partial IVFFlat index on `vector::vector(<dim>)`, built
after a backfill, and queries use that same expression.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.registry import activation_log_table

SCHEMA = "embedder"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


# Who activated which embedding model, how and on what evidence; append-only.
ACTIVATION_LOG = activation_log_table(Base.metadata)


class EmbeddingModel(Base):
    """design §5.4 `embedding_model`, plus where its weights come from."""

    __tablename__ = "embedding_model"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        # Exactly one active model: at most one row may have active = true.
        Index("ux_embedding_model_one_active", "active", unique=True,
              postgresql_where=text("active")),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    source_model: Mapped[str] = mapped_column(String(16), nullable=False)
    embedding_dim: Mapped[int] = mapped_column(Integer, nullable=False)
    training_corpus_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    version: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_known_good: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    weights_uri: Mapped[str] = mapped_column(Text, nullable=False, default="")
    weights_sha256: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    weights_license: Mapped[str] = mapped_column(Text, nullable=False, default="")
    frontend_params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # Names the retrieval artifacts written from this model's track vectors; empty until
    # they are. The server default lets bulk loaders insert rows without knowing of it.
    artifact_hash: Mapped[str] = mapped_column(Text, nullable=False, default="",
                                               server_default="")
    # What the model declares it was trained on, and that data's license ("" = undeclared).
    training_data: Mapped[str] = mapped_column(Text, nullable=False, default="",
                                               server_default="")
    training_data_license: Mapped[str] = mapped_column(Text, nullable=False, default="",
                                                       server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrackEmbedding(Base):
    """One track's vector under one model; immutable for (track, model, audio checksum)."""

    __tablename__ = "track_embedding"
    __table_args__ = (UniqueConstraint("track_juke_id", "model_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    track_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("embedding_model.id", ondelete="CASCADE"), nullable=False, index=True)
    vector: Mapped[Any] = mapped_column(Vector(), nullable=False)
    pooled_from: Mapped[int] = mapped_column(Integer, nullable=False)
    audio_checksum: Mapped[str] = mapped_column(String(64), nullable=False)
    manifest_entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    environment: Mapped[str] = mapped_column(String(16), nullable=False)
    # The model's confident tags for this audio ({name: probability}); they reach the catalog
    # only while this model is the active one.
    tags: Mapped[dict[str, float]] = mapped_column(JSONB, nullable=False, default=dict,
                                                   server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class ResourceEmbedding(Base):
    """Album (duration-weighted mean of its tracks) and artist (mean of its albums) vectors."""

    __tablename__ = "resource_embedding"
    __table_args__ = (UniqueConstraint("resource_juke_id", "model_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    resource_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(8), nullable=False)
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("embedding_model.id", ondelete="CASCADE"), nullable=False, index=True)
    vector: Mapped[Any] = mapped_column(Vector(), nullable=False)
    members: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
