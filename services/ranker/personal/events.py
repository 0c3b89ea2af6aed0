"""Listening feedback: validate, resolve, deduplicate and store events; no gRPC here.

A batch is all-or-nothing: every event is validated and every item resolved before anything
is written, and the first bad event rejects the batch with its index and the reason.
Deduplication is by idempotency key (the client's, or one derived from user, item, type
and time), so a retried batch stores nothing twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.errors import InvalidArgument
from services.ranker.core.event_types import EVENT_TYPES
from services.ranker.store import repository as repo

MAX_BATCH = 1000
MAX_ID_LENGTH = 256
MAX_CONTEXT_KEYS = 20
MAX_CONTEXT_VALUE = 512
FUTURE_TOLERANCE = timedelta(minutes=5)   # client clocks drift; further ahead is a bug
OLDEST = datetime(2000, 1, 1, tzinfo=UTC)

# ref -> (juke_id, resource type) or None when the catalog has no such item.
Resolver = Callable[[Sequence[str]], Mapping[str, tuple[str, str] | None]]


@dataclass(frozen=True)
class EventInput:
    user_id: str
    item: str
    type: str
    occurred_at: datetime | None
    idempotency_key: str = ""
    session_id: str = ""
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordOutcome:
    accepted: int
    duplicates: int
    item_ids: list[str]


def _check_text(where: str, name: str, value: str, required: bool) -> None:
    if required and not value.strip():
        raise InvalidArgument(f"{where}: {name} is empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(f"{where}: {name} is longer than {MAX_ID_LENGTH} characters")


def validate(index: int, event: EventInput, now: datetime) -> None:
    """Raises InvalidArgument naming the row (message and `index` field) and the value."""
    try:
        _validate(f"events[{index}]", event, now)
    except InvalidArgument as err:
        raise InvalidArgument(err.message, index=index) from None


def _validate(where: str, event: EventInput, now: datetime) -> None:
    _check_text(where, "user_id", event.user_id, required=True)
    _check_text(where, "item", event.item, required=True)
    _check_text(where, "idempotency_key", event.idempotency_key, required=False)
    _check_text(where, "session_id", event.session_id, required=False)
    if event.type not in EVENT_TYPES:
        raise InvalidArgument(f"{where}: type {event.type!r} is not one of "
                              f"{', '.join(EVENT_TYPES)}")
    if event.occurred_at is None:
        raise InvalidArgument(f"{where}: occurred_at is missing")
    if event.occurred_at.tzinfo is None:
        raise InvalidArgument(f"{where}: occurred_at {event.occurred_at.isoformat()} "
                              "has no time zone")
    if not OLDEST <= event.occurred_at <= now + FUTURE_TOLERANCE:
        raise InvalidArgument(f"{where}: occurred_at {event.occurred_at.isoformat()} is "
                              f"before {OLDEST.year} or in the future")
    if len(event.context) > MAX_CONTEXT_KEYS:
        raise InvalidArgument(f"{where}: context has {len(event.context)} keys "
                              f"(at most {MAX_CONTEXT_KEYS})")
    for key, value in event.context.items():
        if not key or len(value) > MAX_CONTEXT_VALUE:
            raise InvalidArgument(f"{where}: context entry {key!r} is empty or longer than "
                                  f"{MAX_CONTEXT_VALUE} characters")


def idempotency_key(event: EventInput, juke_id: str) -> str:
    """The client's key, or a digest of what makes the event itself (same event = same key)."""
    if event.idempotency_key:
        return f"client:{event.user_id}:{event.idempotency_key}"
    assert event.occurred_at is not None
    stamp = event.occurred_at.astimezone(UTC).isoformat()
    raw = "\x1f".join((event.user_id, juke_id, event.type, stamp, event.session_id))
    return "derived:" + hashlib.sha256(raw.encode()).hexdigest()


# Stores a batch of events with distinct keys; returns how many were new.
Insert = Callable[[Session, Sequence[repo.NewEvent]], int]


class EventService:
    def __init__(self, db: Database, resolve: Resolver, insert: Insert = repo.insert_events
                 ) -> None:
        self._db = db
        self._resolve = resolve
        self._insert = insert

    def record(self, batch: Sequence[EventInput]) -> RecordOutcome:
        rows, item_ids = self._checked_rows(batch)
        with self._db.transaction() as session:
            accepted = self._insert(session, rows)
        return RecordOutcome(accepted, len(batch) - accepted, item_ids)

    def _checked_rows(self, batch: Sequence[EventInput]
                      ) -> tuple[list[repo.NewEvent], list[str]]:
        """The batch's rows, one per distinct key, and each event's item juke_id; raises
        for the first bad event before anything is stored."""
        if not batch:
            raise InvalidArgument("events is empty")
        if len(batch) > MAX_BATCH:
            raise InvalidArgument(f"batch of {len(batch)} events exceeds {MAX_BATCH}")
        now = datetime.now(UTC)
        for index, event in enumerate(batch):
            validate(index, event, now)
        found = self._resolve(sorted({e.item.strip() for e in batch}))
        rows: dict[str, repo.NewEvent] = {}
        item_ids = []
        for index, event in enumerate(batch):
            hit = found.get(event.item.strip())
            if hit is None:
                raise InvalidArgument(f"events[{index}]: item {event.item!r} is not in the "
                                      "catalog", index=index)
            juke_id, item_type = hit
            item_ids.append(juke_id)
            key = idempotency_key(event, juke_id)
            if key not in rows:
                rows[key] = _new_event(key, event, juke_id, item_type)
        return list(rows.values()), item_ids


def _new_event(key: str, event: EventInput, juke_id: str, item_type: str) -> repo.NewEvent:
    assert event.occurred_at is not None  # validated
    return repo.NewEvent(
        idempotency_key=key, user_id=event.user_id.strip(), item_juke_id=uuid.UUID(juke_id),
        item_type=item_type, event_type=event.type, occurred_at=event.occurred_at,
        session_id=event.session_id.strip(), context=dict(event.context))
