"""What apps call per user and per item: personal recommendations and similar items."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from gateway.auth import Role, requires
from gateway.routes.recommendations import RecommendationResponse, _response
from juke.common.v1 import common_pb2
from juke.ranker.v1 import ranker_pb2 as rpb

router = APIRouter(prefix="/api/v1", tags=["personal"], dependencies=[requires(Role.READ)])
ItemKind = Literal["tracks", "artists", "albums"]
KIND_TYPES = {"tracks": common_pb2.RESOURCE_TYPE_TRACK, "artists": common_pb2.RESOURCE_TYPE_ARTIST,
              "albums": common_pb2.RESOURCE_TYPE_ALBUM}
Limit = Annotated[int | None, Query(ge=1, le=100, description="default 10")]


class PersonalResponse(RecommendationResponse):
    path: str = Field(description="what served it: cf (collaborative filtering), history "
                                  "(the user's items as hybrid seeds), popularity (fewer than "
                                  "5 qualifying plays) or catalog (no recent plays at all)")
    qualifying_interactions: int
    cf_model_id: str | None


@router.get("/users/{user_id}/recommendations", response_model=PersonalResponse)
async def for_user(user_id: str, request: Request, limit: Limit = None,
                   genre: Annotated[str | None, Query(
                       max_length=256, description="popularity fallback within a genre "
                                                   "(juke_id, URI or MBID)")] = None,
                   ) -> PersonalResponse:
    """Personal recommendations from the user's listening events, never empty for a known
    catalog; each item's explanation names the path that served it."""
    reply = await request.app.state.clients.ranker.RecommendForUser(
        rpb.RecommendForUserRequest(user_id=user_id, limit=limit or 0, genre=genre or ""))
    base = _response(reply.result)
    return PersonalResponse(**base.model_dump(), path=reply.path,
                            qualifying_interactions=reply.qualifying_interactions,
                            cf_model_id=reply.cf_model_id or None)


@router.get("/{kind}/{item_id}/similar", response_model=RecommendationResponse)
async def similar(kind: ItemKind, item_id: str, request: Request,
                  limit: Limit = None) -> RecommendationResponse:
    """Items of the same kind like this one: the production hybrid seeded by the item."""
    reply = await request.app.state.clients.ranker.Recommend(rpb.RecommendRequest(
        query=rpb.RecommendQuery(seed_item_ids=[item_id], limit=limit or 0,
                                 resource_types=[KIND_TYPES[kind]])))
    return _response(reply.result)
