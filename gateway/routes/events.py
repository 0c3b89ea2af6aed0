"""Listening feedback from apps: POST /api/v1/events (a batch, all-or-nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from gateway.auth import Role, requires
from gateway.errors import ApiError
from juke.ranker.v1 import ranker_pb2 as rpb

router = APIRouter(prefix="/api/v1", tags=["events"], dependencies=[requires(Role.WRITE)])
EventTypeName = Literal["play", "complete", "skip", "like", "dislike"]
EVENT_TYPES = {"play": rpb.EVENT_TYPE_PLAY, "complete": rpb.EVENT_TYPE_COMPLETE,
               "skip": rpb.EVENT_TYPE_SKIP, "like": rpb.EVENT_TYPE_LIKE,
               "dislike": rpb.EVENT_TYPE_DISLIKE}


class EventIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=256)
    item: str = Field(min_length=1, max_length=256,
                      description="juke_id, juke:<type>:<id> URI, MBID or '<source>:<id>'")
    type: EventTypeName = Field(description="complete = at least 75% played")
    timestamp: datetime = Field(description="when it happened, ISO 8601 with a time zone")
    idempotency_key: str = Field(default="", max_length=256,
                                 description="retries with the same key are stored once; "
                                             "empty: derived from user, item, type and time")
    session_id: str = Field(default="", max_length=256)
    context: dict[str, str] = Field(default={}, description="at most 20 entries")


class EventsIn(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventsOut(BaseModel):
    accepted: int = Field(description="events stored by this call")
    duplicates: int = Field(description="events already stored under the same key")
    item_ids: list[str] = Field(description="resolved juke_id of each event, in order")


def _event_pb(e: EventIn) -> rpb.ListeningEvent:
    if e.timestamp.tzinfo is None:
        raise ApiError(400, "INVALID_ARGUMENT",
                       f"timestamp {e.timestamp.isoformat()} has no time zone")
    stamp = Timestamp()
    try:
        stamp.FromDatetime(e.timestamp)
    except (OverflowError, ValueError):  # before year 1 or after 9999 once moved to UTC
        raise ApiError(400, "INVALID_ARGUMENT",
                       f"timestamp {e.timestamp.isoformat()} is out of range") from None
    return rpb.ListeningEvent(user_id=e.user_id, item=e.item, type=EVENT_TYPES[e.type],
                              occurred_at=stamp, idempotency_key=e.idempotency_key,
                              session_id=e.session_id, context=e.context)


@router.post("/events", response_model=EventsOut)
async def post_events(body: EventsIn, request: Request) -> EventsOut:
    """Store a batch of listening events; one bad event rejects the whole batch."""
    events = []
    for index, event in enumerate(body.events):
        try:
            events.append(_event_pb(event))
        except ApiError as err:
            raise ApiError(400, err.code, f"events[{index}]: {err.message}", index=index) from None
    # A rejected event comes back as 400 with its `index` (from the ranker's error fields).
    reply = await request.app.state.clients.ranker.RecordEvents(
        rpb.RecordEventsRequest(events=events))
    return EventsOut(accepted=reply.accepted, duplicates=reply.duplicates,
                     item_ids=list(reply.item_ids))
