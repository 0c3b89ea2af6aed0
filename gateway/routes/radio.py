"""Radio: start a session from seeds, then page through it without repeats.

Listening is reading: both routes take a read key. Skips and likes for a session are
listening events (`POST /api/v1/events` with the session's id as `session_id`, a write key).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, model_validator

from gateway.auth import Role, requires
from gateway.routes.catalog import resource_type
from gateway.routes.recommendations import (
    ModelBundleOut,
    RecommendedItemOut,
    _resolve_seed_names,
    _response,
)
from gateway.schemas import ResourceSummary
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.proto_convert import type_from_proto

router = APIRouter(prefix="/api/v1/radio", tags=["radio"], dependencies=[requires(Role.READ)])


class RadioStart(BaseModel):
    seed_items: list[str] = Field(
        default=[], max_length=100,
        description="juke_id, MBID, '<source>:<id>', juke:<type>:<id> URI, or a plain name; "
                    "optional when `profiles` are given")
    profiles: list[str] = Field(default=[], max_length=20,
                                description="taste profile ids whose favourites join the seeds")
    user_id: str = Field(default="", max_length=256, description="optional: who listens")
    resource_type: Literal["track", "album", "artist"] = Field(
        default="track", description="what the station plays")
    artist_limit: int | None = Field(
        default=None, ge=1, le=1000,
        description="at most this many items of one artist in any `artist_window` consecutive "
                    "items; default JUKE_RADIO_ARTIST_LIMIT (2)")
    artist_window: int | None = Field(
        default=None, ge=1, le=1000, description="default JUKE_RADIO_ARTIST_WINDOW (10)")

    @model_validator(mode="after")
    def _needs_seeds_or_profiles(self) -> RadioStart:
        if not self.seed_items and not self.profiles:
            raise ValueError("give at least one of seed_items or profiles")
        return self


class RadioSettingsOut(BaseModel):
    artist_limit: int
    artist_window: int


class RadioSessionOut(BaseModel):
    id: str = Field(description="post listening events with this as `session_id`")
    user_id: str | None
    seeds: list[ResourceSummary]
    resource_type: str
    settings: RadioSettingsOut
    served: int = Field(description="items the session has served so far")
    skips: int = Field(description="skip and dislike events posted for the session")
    created_at: str | None


class RadioPageOut(BaseModel):
    session: RadioSessionOut
    items: list[RecommendedItemOut]
    model_bundle: ModelBundleOut
    skipped_item_ids: list[str] = Field(
        description="the session's skipped or disliked items this page was penalised by")


def _session(s: rpb.RadioSession) -> RadioSessionOut:
    return RadioSessionOut(
        id=s.id, user_id=s.user_id or None, seeds=[ResourceSummary.from_pb(x) for x in s.seeds],
        resource_type=type_from_proto(s.resource_type) or "",
        settings=RadioSettingsOut(artist_limit=s.artist_limit, artist_window=s.artist_window),
        served=s.served, skips=s.skips,
        created_at=s.created_at.ToJsonString() if s.HasField("created_at") else None)


@router.post("", response_model=RadioSessionOut, status_code=201,
             summary="Start a radio session from seeds")
async def start_radio(body: RadioStart, request: Request) -> RadioSessionOut:
    """A station from seed items (any ID form, or a plain name) and taste profiles. Page
    through it with `GET /api/v1/radio/{id}/next`; skips and likes posted as listening events
    with `session_id` = the session's id steer the following pages."""
    reply = await request.app.state.clients.ranker.StartRadio(rpb.StartRadioRequest(
        seed_item_ids=await _resolve_seed_names(request, body.seed_items),
        profile_ids=body.profiles, user_id=body.user_id,
        resource_type=resource_type(body.resource_type),
        artist_limit=body.artist_limit or 0, artist_window=body.artist_window or 0))
    return _session(reply.session)


@router.get("/{session_id}/next", response_model=RadioPageOut,
            summary="The next items of a radio session")
async def next_items(
    request: Request,
    session_id: Annotated[str, Path(max_length=64)],
    n: Annotated[int | None, Query(ge=1, le=100, description=(
        "items to serve; default JUKE_RECOMMENDER_DEFAULT_LIMIT (10)"))] = None,
) -> RadioPageOut:
    """The next n items: never one the session served before, at most `artist_limit` items
    of one artist in any `artist_window` consecutive ones (earlier pages included),
    MMR-diversified, and items close to what the session skipped penalised (explained by a
    `radio`/`skip_penalty` contribution). A station that has run out of items answers fewer
    (possibly none). Unknown session: 404."""
    reply = await request.app.state.clients.ranker.NextRadio(rpb.NextRadioRequest(
        session_id=session_id, n=n or 0))
    converted = _response(rpb.RecommendResult(items=reply.items, bundle=reply.bundle))
    return RadioPageOut(session=_session(reply.session), items=converted.items,
                        model_bundle=converted.model_bundle,
                        skipped_item_ids=list(reply.skipped_item_ids))
