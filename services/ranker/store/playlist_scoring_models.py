"""SQLAlchemy models of playlist scoring: immutable playlist profiles and persisted matches
(on the ranker schema's Base; the tables come from migration 0012)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, LargeBinary, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.ranker.store.models import Base


class PlaylistProfileRow(Base):
    """One profile, keyed by its content hash; never updated (a trigger refuses it)."""

    __tablename__ = "playlist_profile"
    __table_args__ = (Index("ix_playlist_profile_bundle", "bundle_hash"),)
    hash: Mapped[str] = mapped_column(Text, primary_key=True)
    track_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)),
                                                       nullable=False)
    bundle_hash: Mapped[str] = mapped_column(Text, nullable=False)
    model_version: Mapped[str] = mapped_column(Text, nullable=False)
    algorithm_version: Mapped[str] = mapped_column(Text, nullable=False)
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)      # float32 little-endian
    tags: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    artists: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    cooccurrence: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    moods: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    members: Mapped[int] = mapped_column(Integer, nullable=False)
    with_vectors: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class PlaylistMatchRow(Base):
    """One matching run's context and result; the five hashes (and its kind) are its key."""

    __tablename__ = "playlist_match"
    __table_args__ = (
        UniqueConstraint("kind", "profile_hash", "candidate_set_hash", "bundle_hash",
                         "config_hash", "algorithm_version", name="uq_playlist_match_key"),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)     # tracks | playlists
    profile_hash: Mapped[str] = mapped_column(Text, nullable=False)
    candidate_set_hash: Mapped[str] = mapped_column(Text, nullable=False)
    bundle_hash: Mapped[str] = mapped_column(Text, nullable=False)
    config_hash: Mapped[str] = mapped_column(Text, nullable=False)
    algorithm_version: Mapped[str] = mapped_column(Text, nullable=False)
    subject_id: Mapped[str] = mapped_column(Text, nullable=False)   # playlist or user id
    candidates: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
