"""The model registry, written once for every table of versioned models a service keeps.

A registry table holds one row per model with an `active` flag (a partial unique index allows at
most one true row), an optional known-good mark and an optional activation time. Here are the
operations on such a table: activate exactly one row, mark a row known-good, find the known-good
row to roll back to, roll back, and list the history. A service describes its table once with a
`RegistryTable`; the results are plain dataclasses or ids, never ORM rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, null, select, update
from sqlalchemy.orm import Session

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
