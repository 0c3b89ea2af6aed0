"""SQLAlchemy 2 models of the corpus manifest, data sets and training sets (`governance` schema).

Each row stores the decision the policy made for it together with the policy version it was
made under; rows decided under another policy version are re-evaluated at service start,
and eligibility checks always evaluate afresh.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "governance"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class _Decided:
    """The stored decision (see services.governance.policy.Decision)."""

    production_eligible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    research_eligible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    allowed_envs: Mapped[str] = mapped_column(String(16), nullable=False, default="none")
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    reason_codes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    license_expression: Mapped[str | None] = mapped_column(Text)
    obligations: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    policy_version: Mapped[str] = mapped_column(String(64), nullable=False, default="")


class ManifestEntry(_Decided, Base):
    """One audio file that a job may read (design §5.3), with its license evidence."""

    __tablename__ = "corpus_manifest"
    __table_args__ = (
        UniqueConstraint("source", "track_path", "checksum"),
        Index("ix_corpus_manifest_reason_codes", "reason_codes", postgresql_using="gin"),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    source: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    track_path: Mapped[str] = mapped_column(Text, nullable=False)
    license: Mapped[str | None] = mapped_column(Text)
    license_url: Mapped[str | None] = mapped_column(Text)
    declared_allowed_envs: Mapped[str | None] = mapped_column(String(16))
    # '' when unknown, so the unique key still holds (NULLs would never collide).
    checksum: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    track_juke_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    mbid_candidate: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    fingerprint: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    ingested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


Index("ix_corpus_manifest_production", ManifestEntry.production_eligible, ManifestEntry.id)
Index("ix_corpus_manifest_research", ManifestEntry.research_eligible, ManifestEntry.id)


class Dataset(_Decided, Base):
    """An interaction / training data set (listening logs, playlists, tag dumps)."""

    __tablename__ = "dataset"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    license: Mapped[str | None] = mapped_column(Text)
    license_url: Mapped[str | None] = mapped_column(Text)
    declared_allowed_envs: Mapped[str | None] = mapped_column(String(16))
    checksum: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    location: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class TrainingSet(Base):
    """The members a model was trained on, named by an order-independent content hash."""

    __tablename__ = "training_set"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class TrainingSetMember(Base):
    __tablename__ = "training_set_member"
    training_set_hash: Mapped[str] = mapped_column(
        ForeignKey("training_set.hash", ondelete="CASCADE"), primary_key=True
    )
    member_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # entry | dataset
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
