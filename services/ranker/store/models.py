"""SQLAlchemy 2 models of the ranker's schema: weight configs, models, events, taste
profiles, radio sessions and playlists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.registry import activation_log_table

SCHEMA = "ranker"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class RankingWeightConfig(Base):
    """design §5.4; the hybrid reads weights and lambda_mmr from the active row only."""

    __tablename__ = "ranking_weight_config"
    __table_args__ = (Index("ux_ranking_weight_config_one_active", "active", unique=True,
                            postgresql_where=text("active")),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    w_content: Mapped[float] = mapped_column(Float, nullable=False)
    w_metadata: Mapped[float] = mapped_column(Float, nullable=False)
    w_cooccurrence: Mapped[float] = mapped_column(Float, nullable=False)
    lambda_mmr: Mapped[float] = mapped_column(Float, nullable=False)
    # The collaborative signal (CF item factors); 0 in every config made before it.
    w_collaborative: Mapped[float] = mapped_column(Float, nullable=False, default=0.0,
                                                   server_default=text("0"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    # Known-good marks and activation times make weight configs roll back like models.
    is_known_good: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Who activated which co-occurrence model, CF model or weight config, how, and on what
# evidence (services.common.registry); append-only.
ACTIVATION_LOG = activation_log_table(Base.metadata)


class CooccurrenceModel(Base):
    """A versioned PMI table, with the governance training set it was built from."""

    __tablename__ = "cooccurrence_model"
    __table_args__ = (Index("ux_cooccurrence_model_one_active", "active", unique=True,
                            postgresql_where=text("active")),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    training_set_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    production_allowed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    item_type: Mapped[str] = mapped_column(String(8), nullable=False)
    pairs: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_known_good: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ItemCooccurrence(Base):
    """design §5.4 item_cooccurrence, one set of rows per co-occurrence model."""

    __tablename__ = "item_cooccurrence"
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cooccurrence_model.id", ondelete="CASCADE"), primary_key=True)
    item_a_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    item_b_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    co_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    pmi_score: Mapped[float] = mapped_column(Float, nullable=False)


class ModelEvaluation(Base):
    """design §5.4 model_evaluation: one offline metric of one model on one data split.

    `model_id` is text: a co-occurrence model or weight config id, or a label such as
    "baseline:popularity"; rows compare only when their `dataset_hash` matches.
    """

    __tablename__ = "model_evaluation"
    __table_args__ = (Index("ix_model_evaluation_model", "model_id", "dataset_hash"),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    model_id: Mapped[str] = mapped_column(Text, nullable=False)
    metric_name: Mapped[str] = mapped_column(Text, nullable=False)
    metric_value: Mapped[float] = mapped_column(Float, nullable=False)
    dataset_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class ModelHealthMetric(Base):
    """design §5.4 model_health_metrics: snapshots of serving health, the dashboard feed."""

    __tablename__ = "model_health_metrics"
    __table_args__ = (Index("ix_model_health_metrics_name_time", "metric_name", "created_at"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    metric_name: Mapped[str] = mapped_column(Text, nullable=False)
    metric_value: Mapped[float] = mapped_column(Float, nullable=False)
    model_id: Mapped[str] = mapped_column(Text, nullable=False, default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, nullable=False,
                                                      default=dict)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class ListeningEventRow(Base):
    """Feedback from apps; one row per distinct idempotency key, never updated."""

    __tablename__ = "listening_event"
    __table_args__ = (Index("ix_listening_event_user_time", "user_id", "occurred_at"),
                      Index("ix_listening_event_item", "item_juke_id"),
                      Index("ix_listening_event_session", "session_id",
                            postgresql_where=text("session_id <> ''")))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    user_id: Mapped[str] = mapped_column(Text, nullable=False)
    item_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    item_type: Mapped[str] = mapped_column(String(8), nullable=False)
    event_type: Mapped[str] = mapped_column(String(16), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    session_id: Mapped[str] = mapped_column(Text, nullable=False, default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class CfModel(Base):
    """A versioned collaborative-filtering (implicit ALS) model: item factors only."""

    __tablename__ = "cf_model"
    __table_args__ = (Index("ux_cf_model_one_active", "active", unique=True,
                            postgresql_where=text("active")),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    training_set_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    production_allowed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    item_type: Mapped[str] = mapped_column(String(8), nullable=False)
    items: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    factors: Mapped[int] = mapped_column(BigInteger, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_known_good: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RerankerModel(Base):
    """A versioned learned second stage (LambdaMART over the hybrid's candidates): its
    recipe, the governance training set it learnt from and its serving artifact (the JSON
    serving/rerank.py reads: model text, item popularity, candidates, training run)."""

    __tablename__ = "reranker_model"
    __table_args__ = (Index("ux_reranker_model_one_active", "active", unique=True,
                            postgresql_where=text("active")),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    training_set_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    production_allowed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    datasets: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    candidates: Mapped[int] = mapped_column(Integer, nullable=False)
    # The recipe (LightGBM params, validation users, seed) and what the run measured.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    artifact: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_known_good: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CfItemFactor(Base):
    """One item's factor vector (float32, little-endian) under a CF model."""

    __tablename__ = "cf_item_factor"
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cf_model.id", ondelete="CASCADE"), primary_key=True)
    item_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    factors: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class TasteProfile(Base):
    """A user's named set of resolved favourites; `profiles` in a request expands to them."""

    __tablename__ = "taste_profile"
    __table_args__ = (Index("ix_taste_profile_user", "user_id"),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class TasteProfileFavourite(Base):
    """One favourite (artist, album, track or genre) of a profile, in the order given."""

    __tablename__ = "taste_profile_favourite"
    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("taste_profile.id", ondelete="CASCADE"), primary_key=True)
    juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(8), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class RadioSession(Base):
    """A radio station started from seeds; what it played is in radio_play."""

    __tablename__ = "radio_session"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[str] = mapped_column(Text, nullable=False, default="")
    seed_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(8), nullable=False)
    artist_limit: Mapped[int] = mapped_column(Integer, nullable=False)
    artist_window: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class RadioPlay(Base):
    """An item a radio session served, in order; never served twice in one session."""

    __tablename__ = "radio_play"
    __table_args__ = (UniqueConstraint("session_id", "item_juke_id", name="uq_radio_play_item"),)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("radio_session.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    artist_juke_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    served_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class Playlist(Base):
    """A user's named, ordered list of tracks; the tracks are in playlist_item."""

    __tablename__ = "playlist"
    __table_args__ = (
        Index("ix_playlist_user", "user_id"),
        Index("uq_playlist_user_source", "user_id", "source_key", unique=True,
              postgresql_where=text("source_key IS NOT NULL")),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    # Where an imported playlist came from (an MPD pid): a re-run of the import finds it.
    source_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class PlaylistItem(Base):
    """One track of a playlist at a position (0-based, dense); a track may repeat."""

    __tablename__ = "playlist_item"
    playlist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("playlist.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
