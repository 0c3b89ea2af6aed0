"""SQLAlchemy 2 typed models of the catalog, in the `identity` schema.

Four resource tables share one shape (juke_id UUIDv7 primary key, nullable unique MBID,
name + accent/case-folded `search_name`), each with its own external-ID adapter table
(design §5.2: per-resource tables, not one polymorphic table).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "identity"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class _Resource(_Timestamps):
    juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    mbid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True, index=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    search_name: Mapped[str] = mapped_column(Text, nullable=False)
    disambiguation: Mapped[str] = mapped_column(Text, nullable=False, default="")


def _search_index(table: str) -> Index:
    """Trigram index so name search (similarity, prefix, substring) stays fast."""
    return Index(
        f"ix_{table}_search_name_trgm",
        "search_name",
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )


class Artist(_Resource, Base):
    __tablename__ = "catalog_artist"
    __table_args__ = (_search_index(__tablename__),)
    sort_name: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Album(_Resource, Base):
    __tablename__ = "catalog_album"
    __table_args__ = (_search_index(__tablename__),)
    release_date: Mapped[str] = mapped_column(String(10), nullable=False, default="")


class Track(_Resource, Base):
    __tablename__ = "catalog_track"
    __table_args__ = (_search_index(__tablename__),)
    album_juke_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("catalog_album.juke_id", ondelete="SET NULL"), index=True
    )
    duration_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    track_number: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Genre(_Resource, Base):
    __tablename__ = "catalog_genre"
    __table_args__ = (_search_index(__tablename__),)


class AlbumArtist(Base):
    __tablename__ = "catalog_album_artist"
    album_juke_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_album.juke_id", ondelete="CASCADE"), primary_key=True
    )
    artist_juke_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_artist.juke_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class TrackArtist(Base):
    __tablename__ = "catalog_track_artist"
    track_juke_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_track.juke_id", ondelete="CASCADE"), primary_key=True
    )
    artist_juke_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_artist.juke_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class TrackWork(Base):
    """track -> MusicBrainz work (the "shared work" signal needs only the work MBID)."""

    __tablename__ = "catalog_track_work"
    track_juke_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_track.juke_id", ondelete="CASCADE"), primary_key=True
    )
    work_mbid: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, index=True
    )


class ResourceGenre(Base):
    """resource -> genre for artists, albums and tracks (juke_ids are globally unique)."""

    __tablename__ = "catalog_resource_genre"
    resource_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    genre_juke_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_genre.juke_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    resource_type: Mapped[str] = mapped_column(String(8), nullable=False)


class CatalogInstance(Base):
    """One row: this catalog's own id, made with the schema (migration 0003), so data derived
    from another database with the same counts is never taken for this catalog's."""

    __tablename__ = "catalog_instance"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class ResourceTag(_Timestamps, Base):
    """A tag with its source (`musicbrainz` or `internal`) and weight (design §2.17)."""

    __tablename__ = "catalog_resource_tag"
    __table_args__ = (
        UniqueConstraint("resource_juke_id", "source", "name", "dataset"),
        Index("ix_catalog_resource_tag_name", "name"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resource_juke_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(8), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    # Provenance: the registered data set the tag was derived from ('' = none), so that
    # tags from research-only data never reach production scoring.
    dataset: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")


def _external_id_model(resource: str, target: Any) -> type[Base]:
    """catalog_<resource>_external_id: (source, external_id) -> <resource>_juke_id."""
    fk_column = f"{resource}_juke_id"
    attrs = {
        "__tablename__": f"catalog_{resource}_external_id",
        "__table_args__": (UniqueConstraint("source", "external_id"),),
        "id": mapped_column(UUID(as_uuid=True), primary_key=True),
        "resource_juke_id": mapped_column(
            fk_column,
            UUID(as_uuid=True),
            ForeignKey(f"{target.__table__.name}.juke_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        "source": mapped_column(String(64), nullable=False),
        "external_id": mapped_column(Text, nullable=False),
        "created_at": mapped_column(
            DateTime(timezone=True), server_default=func.now(), nullable=False
        ),
        "__annotations__": {
            "id": Mapped[uuid.UUID],
            "resource_juke_id": Mapped[uuid.UUID],
            "source": Mapped[str],
            "external_id": Mapped[str],
            "created_at": Mapped[datetime],
        },
    }
    return type(f"{resource.title()}ExternalId", (Base,), attrs)


RESOURCE_MODELS: dict[str, type[_Resource]] = {
    "artist": Artist,
    "album": Album,
    "track": Track,
    "genre": Genre,
}
EXTERNAL_ID_MODELS: dict[str, type[Base]] = {
    name: _external_id_model(name, model) for name, model in RESOURCE_MODELS.items()
}
