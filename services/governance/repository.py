"""Data access for the manifest, data sets and training sets. Returns dataclasses."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common.ids import uuid7
from services.governance.evidence import Evidence
from services.governance.models import Dataset, ManifestEntry, TrainingSet, TrainingSetMember
from services.governance.policy import Decision


@dataclass(frozen=True)
class EntryRecord:
    id: uuid.UUID
    source: str
    track_path: str
    license: str | None
    license_url: str | None
    declared_allowed_envs: str | None
    checksum: str
    duration_ms: int | None
    track_juke_id: uuid.UUID | None
    mbid_candidate: uuid.UUID | None
    fingerprint: str | None
    ingested_at: datetime
    evidence: tuple[Evidence, ...]
    decision: Decision
    policy_version: str


@dataclass(frozen=True)
class DatasetRecord:
    id: uuid.UUID
    name: str
    kind: str
    license: str | None
    license_url: str | None
    declared_allowed_envs: str | None
    checksum: str
    location: str
    description: str
    evidence: tuple[Evidence, ...]
    decision: Decision
    registered_at: datetime


def decision_columns(decision: Decision, policy_version: str) -> dict[str, Any]:
    stored = decision.to_dict()
    return {
        "production_eligible": decision.production,
        "research_eligible": decision.research,
        "allowed_envs": decision.allowed_envs,
        "reasons": stored["reasons"],
        "reason_codes": sorted(set(decision.codes)),
        "license_expression": decision.license_expression,
        "obligations": stored["obligations"],
        "policy_version": policy_version,
    }


def _decision(row: Any) -> Decision:
    return Decision.from_dict({
        "production": row.production_eligible, "research": row.research_eligible,
        "reasons": row.reasons, "license_expression": row.license_expression,
        "obligations": row.obligations,
    })


def _evidence(row: Any) -> tuple[Evidence, ...]:
    return tuple(Evidence.from_dict(e) for e in row.evidence)


def _entry(row: ManifestEntry) -> EntryRecord:
    return EntryRecord(
        id=row.id, source=row.source, track_path=row.track_path, license=row.license,
        license_url=row.license_url, declared_allowed_envs=row.declared_allowed_envs,
        checksum=row.checksum, duration_ms=row.duration_ms, track_juke_id=row.track_juke_id,
        mbid_candidate=row.mbid_candidate, fingerprint=row.fingerprint,
        ingested_at=row.ingested_at, evidence=_evidence(row), decision=_decision(row),
        policy_version=row.policy_version,
    )


def _dataset(row: Dataset) -> DatasetRecord:
    return DatasetRecord(
        id=row.id, name=row.name, kind=row.kind, license=row.license,
        license_url=row.license_url, declared_allowed_envs=row.declared_allowed_envs,
        checksum=row.checksum, location=row.location, description=row.description,
        evidence=_evidence(row), decision=_decision(row), registered_at=row.registered_at,
    )


# --- manifest ------------------------------------------------------------------------------


def upsert_entry(session: Session, values: dict[str, Any]) -> tuple[uuid.UUID, bool]:
    """Insert or update on (source, track_path, checksum); returns (id, created)."""
    stmt = insert(ManifestEntry).values(id=uuid7(), **values)
    updatable = {k: stmt.excluded[k] for k in values if k not in ("source", "track_path",
                                                                    "checksum")}
    upsert: Any = stmt.on_conflict_do_update(
        index_elements=["source", "track_path", "checksum"],
        set_={**updatable, "updated_at": func.now()},
    ).returning(ManifestEntry.id, literal_column("(xmax = 0)").label("created"))
    row = session.execute(upsert).one()
    return row.id, bool(row.created)


def entries_by_id(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, EntryRecord]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(select(ManifestEntry).where(ManifestEntry.id.in_(wanted)))
    return {r.id: _entry(r) for r in rows}


def entries_for_tracks(
    session: Session, track_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[EntryRecord]]:
    wanted = list(set(track_ids))
    out: dict[uuid.UUID, list[EntryRecord]] = {}
    if not wanted:
        return out
    stmt = (select(ManifestEntry).where(ManifestEntry.track_juke_id.in_(wanted))
            .order_by(ManifestEntry.id))
    for row in session.scalars(stmt):
        assert row.track_juke_id is not None
        out.setdefault(row.track_juke_id, []).append(_entry(row))
    return out


@dataclass(frozen=True)
class EntryFilter:
    production: bool | None = None       # stored production_eligible must equal this
    research: bool | None = None
    reason_code: str = ""
    source: str = ""
    with_track_only: bool = False


def list_entries(
    session: Session, where: EntryFilter, after: uuid.UUID | None, limit: int
) -> list[EntryRecord]:
    stmt = select(ManifestEntry).order_by(ManifestEntry.id).limit(limit)
    if after is not None:
        stmt = stmt.where(ManifestEntry.id > after)
    if where.production is not None:
        stmt = stmt.where(ManifestEntry.production_eligible.is_(where.production))
    if where.research is not None:
        stmt = stmt.where(ManifestEntry.research_eligible.is_(where.research))
    if where.reason_code:
        stmt = stmt.where(ManifestEntry.reason_codes.contains([where.reason_code]))
    if where.source:
        stmt = stmt.where(ManifestEntry.source == where.source)
    if where.with_track_only:
        stmt = stmt.where(ManifestEntry.track_juke_id.is_not(None))
    return [_entry(r) for r in session.scalars(stmt)]


def stale_entries(session: Session, policy_version: str, limit: int) -> list[EntryRecord]:
    stmt = (select(ManifestEntry).where(ManifestEntry.policy_version != policy_version)
            .order_by(ManifestEntry.id).limit(limit))
    return [_entry(r) for r in session.scalars(stmt)]


def store_entry_decision(session: Session, entry_id: uuid.UUID, columns: dict[str, Any]) -> None:
    session.execute(update(ManifestEntry).where(ManifestEntry.id == entry_id).values(**columns))


@dataclass(frozen=True)
class StatusCounts:
    total: int
    production: int
    research_only: int
    excluded: int
    reasons: list[tuple[str, int]]


def status_counts(session: Session, source: str = "") -> StatusCounts:
    base = select(ManifestEntry)
    if source:
        base = base.where(ManifestEntry.source == source)
    sub = base.subquery()
    row = session.execute(select(
        func.count(),
        func.count().filter(sub.c.production_eligible),
        func.count().filter(~sub.c.production_eligible & sub.c.research_eligible),
        func.count().filter(~sub.c.production_eligible & ~sub.c.research_eligible),
    ).select_from(sub)).one()
    code = func.jsonb_array_elements_text(sub.c.reason_codes).table_valued("value")
    reasons = session.execute(
        select(code.c.value, func.count()).select_from(sub).join(code, text("true"))
        .group_by(code.c.value).order_by(func.count().desc(), code.c.value)
    ).all()
    return StatusCounts(total=row[0], production=row[1], research_only=row[2], excluded=row[3],
                        reasons=[(r[0], int(r[1])) for r in reasons])


# --- data sets -----------------------------------------------------------------------------


def upsert_dataset(session: Session, values: dict[str, Any]) -> tuple[uuid.UUID, bool]:
    stmt = insert(Dataset).values(id=uuid7(), **values)
    upsert: Any = stmt.on_conflict_do_update(
        index_elements=["name"], set_={k: stmt.excluded[k] for k in values if k != "name"},
    ).returning(Dataset.id, literal_column("(xmax = 0)").label("created"))
    row = session.execute(upsert).one()
    return row.id, bool(row.created)


def datasets(session: Session, refs: Sequence[str] = ()) -> list[DatasetRecord]:
    """All data sets, or those whose id or name is in `refs`."""
    stmt = select(Dataset).order_by(Dataset.name)
    if refs:
        ids = [u for u in (_uuid(r) for r in refs) if u is not None]
        stmt = stmt.where(Dataset.name.in_(refs) | Dataset.id.in_(ids))
    return [_dataset(r) for r in session.scalars(stmt)]


def stale_datasets(session: Session, policy_version: str) -> list[DatasetRecord]:
    stmt = select(Dataset).where(Dataset.policy_version != policy_version)
    return [_dataset(r) for r in session.scalars(stmt)]


def store_dataset_decision(session: Session, dataset_id: uuid.UUID,
                           columns: dict[str, Any]) -> None:
    session.execute(update(Dataset).where(Dataset.id == dataset_id).values(**columns))


def count_datasets(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Dataset)) or 0)


def _uuid(text_value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text_value)
    except ValueError:
        return None


# --- training sets -------------------------------------------------------------------------


def save_training_set(session: Session, digest: str, description: str,
                      members: Iterable[tuple[str, uuid.UUID]]) -> None:
    session.execute(insert(TrainingSet).values(hash=digest, description=description)
                    .on_conflict_do_nothing(index_elements=["hash"]))
    values = [{"training_set_hash": digest, "member_kind": kind, "member_id": member}
              for kind, member in members]
    if values:
        session.execute(insert(TrainingSetMember).values(values).on_conflict_do_nothing())


def training_set_members(session: Session, digest: str) -> list[tuple[str, uuid.UUID]] | None:
    if session.get(TrainingSet, digest) is None:
        return None
    stmt = select(TrainingSetMember.member_kind, TrainingSetMember.member_id).where(
        TrainingSetMember.training_set_hash == digest)
    return [(r.member_kind, r.member_id) for r in session.execute(stmt)]
