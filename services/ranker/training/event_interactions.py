"""The `juke-events` data set: apps' listening events as training interactions.

Events become baskets for co-occurrence: one basket per listening session (the event's
session id, or the user's UTC day when it has none), so items played together co-occur.
Weights per (basket, item) add up: play and complete 1, like 2, skip 0 (never a positive),
dislike -2 (cancels a like; the trainer keeps positive totals only). Each user contributes
at most their `max_baskets_per_user` most recent baskets, so one heavy listener cannot
dominate the pair counts. The items are of one resource type: the type most positive events
name (ties: track, album, artist, genre), recorded with the model.

Governance knows the data set as first-party data (LicenseRef-Juke-First-Party): it is
registered the first time it is trained on, with the declaration below as its evidence.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from juke.governance.v1 import governance_pb2 as gpb
from services.common.db import Database
from services.common.errors import FailedPrecondition
from services.ranker.core.event_types import EVENT_WEIGHTS
from services.ranker.store import repository as repo
from services.ranker.store.repository import EventRecord
from services.ranker.training.cooccurrence import Interactions

EVENTS_DATASET = "juke-events"
EVENTS_LOCATION = "juke:ranker.listening_event"
EVENTS_LICENSE = "LicenseRef-Juke-First-Party"
EVENTS_TERMS = ("Listening events (play, complete, skip, like, dislike) that Juke's apps send "
                "for their users under Juke's terms of service, which grant Juke their use to "
                "operate and improve its recommendations.")
TYPE_ORDER = ("track", "album", "artist", "genre")
MAX_BASKETS_PER_USER = 100


def events_dataset() -> gpb.DatasetInput:
    """The registration of the events data set with governance."""
    return gpb.DatasetInput(
        name=EVENTS_DATASET, kind="listening_log", license=EVENTS_LICENSE,
        allowed_envs=gpb.ALLOWED_ENVS_BOTH,
        checksum=hashlib.sha256(EVENTS_TERMS.encode()).hexdigest(),
        location=EVENTS_LOCATION,
        evidence=[gpb.Evidence(kind="declared",
                               source_file="services/ranker/training/event_interactions.py",
                               locator="EVENTS_TERMS", license_raw=EVENTS_TERMS,
                               expression=EVENTS_LICENSE,
                               note="first-party data; the checksum is of this declaration")],
        description="listening events posted to /api/v1/events (ranker.listening_event)")


def basket_of(event: EventRecord) -> str:
    return f"{event.user_id}\x1f{event.session_id or event.occurred_at.date().isoformat()}"


def dominant_type(events: Sequence[EventRecord]) -> str | None:
    """The item type whose positive events name the most distinct items (what co-occurrence
    can learn from: a flood of plays of one track teaches nothing about pairs), then the
    one with more positive events, then tracks before albums before artists."""
    positive = [e for e in events if EVENT_WEIGHTS[e.event_type] > 0]
    counts = Counter(e.item_type for e in positive)
    if not counts:
        return None
    distinct = Counter(t for t, _ in {(e.item_type, e.item_juke_id) for e in positive})
    return max(counts, key=lambda t: (distinct[t], counts[t], -TYPE_ORDER.index(t)
                                      if t in TYPE_ORDER else -len(TYPE_ORDER)))


def recent_baskets(events: Sequence[EventRecord], per_user: int) -> set[str]:
    """Each user's `per_user` most recent baskets (by their latest event)."""
    latest: dict[str, tuple[str, object]] = {}
    for e in events:  # oldest first: the last seen time is the latest
        latest[basket_of(e)] = (e.user_id, e.occurred_at)
    by_user: dict[str, list[tuple[object, str]]] = {}
    for basket, (user, at) in latest.items():
        by_user.setdefault(user, []).append((at, basket))
    return {basket for baskets in by_user.values()
            for _, basket in sorted(baskets, reverse=True)[:per_user]}


def interactions_from_events(events: Sequence[EventRecord],
                             max_baskets_per_user: int = MAX_BASKETS_PER_USER,
                             by_user: bool = False) -> Interactions:
    """Baskets (sessions) for co-occurrence; `by_user`: one row set per user (for CF,
    whose per-user cap is its own)."""
    item_type = dominant_type(events)
    if item_type is None:
        raise FailedPrecondition(f"data set {EVENTS_DATASET!r} has no positive events yet: "
                                 "post plays, completes or likes to /api/v1/events")
    kept = recent_baskets(events, max_baskets_per_user)
    chosen = [e for e in events
              if e.item_type == item_type and (by_user or basket_of(e) in kept)]
    return Interactions(
        EVENTS_DATASET, item_type,
        users=np.array([e.user_id if by_user else basket_of(e) for e in chosen], dtype=object),
        items=np.array([e.item_juke_id for e in chosen], dtype=object),
        weights=np.array([EVENT_WEIGHTS[e.event_type] for e in chosen], dtype=np.float64),
        unmapped=0)


class EventInteractions:
    """Reads the ranker's stored events (the worker shares the ranker's database)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self, by_user: bool = False) -> Interactions:
        with self._db.read() as session:
            return interactions_from_events(repo.events(session), by_user=by_user)
