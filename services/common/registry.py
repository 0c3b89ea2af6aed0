"""The model registry, written once for every table of versioned models a service keeps.

A registry table holds one row per model with an `active` flag (a partial unique index allows at
most one true row), an optional known-good mark and an optional activation time. Here are the
operations on such a table: activate exactly one row, mark a row known-good, find the known-good
row to roll back to, roll back, and list the history. A service describes its table once with a
`RegistryTable`; the results are plain dataclasses or ids, never ORM rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    false,
    func,
    insert,
    null,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Session

from services.common.errors import InvalidArgument, PermissionDenied
from services.common.promotion_contracts import PromotionEvent

# Serving processes LISTEN here; the payload is the table whose active row changed.
ACTIVATION_CHANNEL = "juke_model_activated"


@dataclass(frozen=True)
class RegistryTable:
    """An ORM model class and which of its columns carry the registry state.

    `known_good_column` is None for a kind that is never marked known-good (and so has no
    rollback); `activated_column` is None for a kind that does not record when it was activated.
    """

    model: type[Any]
    id_column: str = "id"
    active_column: str = "active"
    created_column: str = "created_at"
    known_good_column: str | None = "is_known_good"
    activated_column: str | None = "activated_at"

    @property
    def name(self) -> str:
        return str(self.model.__tablename__)

    def column(self, name: str) -> Any:
        return getattr(self.model, name)

    @property
    def id(self) -> Any:
        return self.column(self.id_column)

    @property
    def active(self) -> Any:
        return self.column(self.active_column)

    @property
    def created_at(self) -> Any:
        return self.column(self.created_column)

    @property
    def known_good(self) -> Any:
        if self.known_good_column is None:
            raise ValueError(f"{self.name} keeps no known-good marks")
        return self.column(self.known_good_column)

    @property
    def activated_at(self) -> Any | None:
        return None if self.activated_column is None else self.column(self.activated_column)


@dataclass(frozen=True)
class RegistryEntry:
    """One model's registry state; `is_known_good` is False and `activated_at` None for a kind
    without those columns."""

    id: uuid.UUID
    active: bool
    is_known_good: bool
    created_at: datetime
    activated_at: datetime | None


@dataclass(frozen=True)
class Rollback:
    restored_id: uuid.UUID
    deactivated_id: uuid.UUID | None  # None when nothing was active


def active_id(session: Session, table: RegistryTable) -> uuid.UUID | None:
    return session.scalar(select(table.id).where(table.active))


def activate(session: Session, table: RegistryTable, model_id: uuid.UUID) -> uuid.UUID | None:
    """Make `model_id` the only active row; returns the previously active one (itself when it
    already was). The active row stays locked until the transaction ends, so concurrent
    activations take turns instead of tripping over the one-active index."""
    previous = session.scalar(select(table.id).where(table.active).with_for_update())
    # Deactivate first: the partial unique index refuses a second active row even briefly.
    session.execute(update(table.model).where(table.active).values({table.active: False}))
    session.execute(update(table.model).where(table.id == model_id)
                    .values(_activated_values(table)))
    announce(session, table.name)
    return previous


def announce(session: Session, what: str) -> None:
    """Tell serving processes that what serves from `what` (a registry table) changed.
    NOTIFY is transactional: listeners hear of it when, and only if, this commits."""
    session.execute(select(func.pg_notify(ACTIVATION_CHANNEL, what)))


def _activated_values(table: RegistryTable) -> dict[Any, Any]:
    values: dict[Any, Any] = {table.active: True}
    if table.activated_at is not None:
        values[table.activated_at] = func.now()
    return values


def mark_known_good(session: Session, table: RegistryTable, model_id: uuid.UUID) -> None:
    """A known-good mark is never taken back: deactivation leaves it, so rollback can return."""
    session.execute(update(table.model).where(table.id == model_id)
                    .values({table.known_good: True}))


def previous_known_good(session: Session, table: RegistryTable,
                        current: uuid.UUID | None) -> uuid.UUID | None:
    """The most recently activated known-good model other than `current` (known-good models
    never activated come after, newest first); None when there is none."""
    stmt = select(table.id).where(table.known_good)
    if current is not None:
        stmt = stmt.where(table.id != current)
    return session.scalar(stmt.order_by(*_most_recent_first(table)).limit(1))


def rollback(session: Session, table: RegistryTable) -> Rollback | None:
    """Re-activate the previous known-good model; nothing is deleted. None when there is no
    known-good model to go back to (and then nothing changes)."""
    current = active_id(session, table)
    target = previous_known_good(session, table, current)
    if target is None:
        return None
    activate(session, table, target)
    return Rollback(target, current)


def history(session: Session, table: RegistryTable) -> list[RegistryEntry]:
    """Every model in the order rollback walks them: most recently activated first, never
    activated after (newest first); ties, such as rows of one transaction, by id."""
    known_good = false() if table.known_good_column is None else table.known_good
    activated_at = null() if table.activated_at is None else table.activated_at
    stmt = (select(table.id, table.active, known_good, table.created_at, activated_at)
            .order_by(*_most_recent_first(table), table.id.desc()))
    return [RegistryEntry(i, bool(a), bool(k), c, at) for i, a, k, c, at in session.execute(stmt)]


def _most_recent_first(table: RegistryTable) -> list[Any]:
    order = [table.created_at.desc()]
    if table.activated_at is not None:
        order.insert(0, table.activated_at.desc().nulls_last())
    return order


# --- the activation log ----------------------------------------------------------------------
#
# Every service that keeps registry tables keeps one log beside them, in its own schema, and
# writes an activation's row in the activation's own transaction: there is no activation
# without its row. Rows are only ever inserted (a trigger refuses UPDATE and DELETE).

LOG_TABLE = "model_activation_log"

# What a log row records. A model's state is its registry row (active, known-good) plus the
# latest of these events that concerns it.
EVENT_STATES = {
    "registered": "candidate",
    "evaluated": "evaluated",
    "awaiting_approval": "awaiting_approval",
    "activated": "active",
    "superseded": "superseded",
    "rolled_back": "rolled_back",
    "rejected": "rejected",
    "failed_gates": "rejected",
    "refused_by_governance": "rejected",
    "expired": "rejected",
}
STATES = ("candidate", "evaluated", "awaiting_approval", "active", "known_good", "superseded",
          "rolled_back", "rejected")
# How a model became active: through PromotionWorkflow, directly outside production, or by
# a rollback to a known-good model.
PATHS = ("promotion", "ungated", "rollback", "")


def activation_log_table(metadata: MetaData) -> Table:
    """The log table on a service's metadata (its schema)."""
    return Table(
        LOG_TABLE, metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("kind", String(16), nullable=False),
        Column("model_id", UUID(as_uuid=True), nullable=False),
        Column("event", String(32), nullable=False),
        Column("path", String(16), nullable=False, server_default=""),
        Column("actor", Text, nullable=False, server_default=""),
        Column("approved_by", Text, nullable=False, server_default=""),
        Column("promotion_id", Text, nullable=False, server_default=""),
        Column("gates", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("training_set_hash", Text, nullable=False, server_default=""),
        Column("previous_id", UUID(as_uuid=True)),
        Column("detail", Text, nullable=False, server_default=""),
        Column("recorded_at", DateTime(timezone=True), nullable=False,
               server_default=func.now()),
        Index("ix_model_activation_log_model", "model_id", "id"),
    )


def append_only_ddl(schema: str) -> list[str]:
    """The trigger that makes `<schema>.model_activation_log` append-only (for migrations)."""
    function = f"{schema}.model_activation_log_append_only"
    return [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION 'model_activation_log is append-only (% refused)', TG_OP; END $$",
        f"CREATE TRIGGER model_activation_log_append_only BEFORE UPDATE OR DELETE "
        f"ON {schema}.{LOG_TABLE} FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER model_activation_log_no_truncate BEFORE TRUNCATE "
        f"ON {schema}.{LOG_TABLE} FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


@dataclass(frozen=True)
class LogEntry:
    """One row of the activation log. `gates` maps a gate to its numbers (candidate, active,
    needed, passed); `approved_by` is who approved a promotion, empty on other paths."""

    kind: str
    model_id: uuid.UUID
    event: str
    path: str = ""
    actor: str = ""
    approved_by: str = ""
    promotion_id: str = ""
    gates: dict[str, Any] = field(default_factory=dict)
    training_set_hash: str = ""
    previous_id: uuid.UUID | None = None
    detail: str = ""
    recorded_at: datetime | None = None


_LOG_FIELDS = ("kind", "model_id", "event", "path", "actor", "approved_by", "promotion_id",
               "gates", "training_set_hash", "previous_id", "detail")


def record(session: Session, log_table: Table, entry: LogEntry) -> None:
    if entry.event not in EVENT_STATES:
        raise ValueError(f"unknown activation log event {entry.event!r}")
    session.execute(insert(log_table).values({f: getattr(entry, f) for f in _LOG_FIELDS}))


def record_activation(session: Session, log_table: Table, entry: LogEntry) -> None:
    """An activation's rows: `activated` for the model, `superseded` (or `rolled_back`, on
    the rollback path) for the one it replaced."""
    record(session, log_table, entry)
    if entry.previous_id is not None and entry.previous_id != entry.model_id:
        record(session, log_table, replace(
            entry, model_id=entry.previous_id, previous_id=entry.model_id,
            event="rolled_back" if entry.path == "rollback" else "superseded"))


def log_entries(session: Session, log_table: Table, model_id: uuid.UUID) -> list[LogEntry]:
    """A model's log, oldest first."""
    rows = session.execute(select(log_table).where(log_table.c.model_id == model_id)
                           .order_by(log_table.c.id)).mappings()
    return [LogEntry(**{f: row[f] for f in (*_LOG_FIELDS, "recorded_at")}) for row in rows]


def latest_events(session: Session, log_table: Table, kind: str) -> dict[uuid.UUID, str]:
    """The latest event of each logged model of `kind`."""
    latest = (select(func.max(log_table.c.id)).where(log_table.c.kind == kind)
              .group_by(log_table.c.model_id))
    stmt = select(log_table.c.model_id, log_table.c.event).where(log_table.c.id.in_(latest))
    return {model_id: event for model_id, event in session.execute(stmt)}


def state_of(entry: RegistryEntry, latest_event: str | None) -> str:
    """The registry row decides while a model serves; otherwise its latest logged event. A
    model activated before the log existed and since replaced reads as superseded."""
    if entry.active:
        return "known_good" if entry.is_known_good else "active"
    state = EVENT_STATES.get(latest_event or "registered", "candidate")
    if state == "active" or (state == "candidate" and entry.activated_at is not None):
        return "superseded"
    return state


def direct_activation_refusal(environment: str, kind: str, model_id: str) -> str | None:
    """Why a direct activation is refused here (None outside production, where it is allowed
    and logged as ungated)."""
    if environment != "production":
        return None
    return (f"direct activation of {kind} model {model_id} is refused in production: models "
            f"reach production only through the promotion, `juke models promote {model_id} "
            f"--kind {kind}` (gates, governance, the owner's approval)")


@dataclass(frozen=True)
class RegisteredModel:
    """A model of any kind as the registry shows it."""

    kind: str
    id: uuid.UUID
    label: str                  # name and version, or a weight config's weights
    state: str                  # one of STATES
    active: bool
    is_known_good: bool
    training_set_hash: str
    production_allowed: bool | None     # None: governance decides when it is promoted
    created_at: datetime
    activated_at: datetime | None
    training_data: str = ""             # embedding models: what they declare they learnt from


@dataclass(frozen=True)
class Promotion:
    """The evidence a promoted activation is logged with."""

    promotion_id: str
    approved_by: str
    requested_by: str = ""
    gates: dict[str, Any] = field(default_factory=dict)


def registered(kind: str, entry: RegistryEntry, latest_event: str | None, label: str,
               training_set_hash: str, production_allowed: bool | None,
               training_data: str = "") -> RegisteredModel:
    return RegisteredModel(kind, entry.id, label, state_of(entry, latest_event), entry.active,
                           entry.is_known_good, training_set_hash, production_allowed,
                           entry.created_at, entry.activated_at, training_data)


def activate_logged(session: Session, table: RegistryTable, log_table: Table,
                    entry: LogEntry, *, known_good: bool = False) -> uuid.UUID | None:
    """Activate `entry.model_id` (marking it known-good when asked) and log it, in the
    caller's transaction; returns the previously active model."""
    previous = activate(session, table, entry.model_id)
    if known_good:
        mark_known_good(session, table, entry.model_id)
    record_activation(session, log_table, replace(entry, event="activated",
                                                  previous_id=previous))
    return previous


def rollback_logged(session: Session, table: RegistryTable, log_table: Table, kind: str,
                    actor: str) -> Rollback | None:
    """`rollback`, logged: `activated` on the rollback path for the restored model,
    `rolled_back` for the one it replaced."""
    done = rollback(session, table)
    if done is not None:
        record_activation(session, log_table, LogEntry(
            kind, done.restored_id, "activated", path="rollback", actor=actor,
            previous_id=done.deactivated_id, detail="rollback to the previous known-good model"))
    return done


def require_owner_approval(step: PromotionEvent, approver: str) -> None:
    """The worker that activates checks the approval against its own setting: whoever can
    start a workflow also chooses its input, approver included."""
    if not approver or step.approved_by != approver:
        raise PermissionDenied(f"{step.kind} model {step.candidate_id}: approved by "
                               f"{step.approved_by!r}, but only {approver!r} "
                               "(JUKE_PROMOTION_APPROVER) may approve a promotion")


def promotion_entry(step: PromotionEvent) -> LogEntry:
    """A promotion step as an activation log row."""
    try:
        model_id = uuid.UUID(step.candidate_id)
    except ValueError:
        raise InvalidArgument(f"model id {step.candidate_id!r} is not a UUID") from None
    return LogEntry(step.kind, model_id, step.event, path="promotion", actor=step.requested_by,
                    approved_by=step.approved_by, promotion_id=step.promotion_id,
                    gates=step.gates, detail=step.detail)
