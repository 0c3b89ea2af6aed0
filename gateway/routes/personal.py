"""What apps call per user and per item: personal recommendations, daily mixes, taste
analysis and similar items."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.auth import Role, requires
from gateway.routes.recommendations import (
    ModelBundleOut,
    RecommendationResponse,
    RecommendedItemOut,
    _response,
)
from gateway.schemas import ResourceSummary
from juke.common.v1 import common_pb2
from juke.ranker.v1 import ranker_pb2 as rpb

router = APIRouter(prefix="/api/v1", tags=["personal"], dependencies=[requires(Role.READ)])
ItemKind = Literal["tracks", "artists", "albums"]
KIND_TYPES = {"tracks": common_pb2.RESOURCE_TYPE_TRACK, "artists": common_pb2.RESOURCE_TYPE_ARTIST,
              "albums": common_pb2.RESOURCE_TYPE_ALBUM}
Limit = Annotated[int | None, Query(ge=1, le=100, description="default 10")]


class PersonalResponse(RecommendationResponse):
    path: str = Field(description="what served it: cf (collaborative filtering, from "
                                  "JUKE_CF_MIN_PLAYS qualifying plays when a CF model is "
                                  "active), history (5 or more plays: the user's items as "
                                  "hybrid seeds), popularity (fewer plays than either needs) "
                                  "or catalog (no recent plays at all)")
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


class DailyMixOut(BaseModel):
    index: int = Field(description="1-based; mixes come heaviest cluster first")
    title: str = Field(description="from the cluster's leading tag, e.g. 'Mix 1: shoegaze'; "
                                   "a fallback mix says it is one")
    top_tags: list[str]
    seeds: list[ResourceSummary] = Field(description="the user's items in this cluster, "
                                                     "most played first")
    items: list[RecommendedItemOut]


class DailyMixesResponse(BaseModel):
    mixes: list[DailyMixOut]
    model_bundle: ModelBundleOut
    history_items: int = Field(description="distinct positively played items considered "
                                           "(fewer than 5: one mix from personal "
                                           "recommendations)")


class WeightedResourceOut(BaseModel):
    resource: ResourceSummary
    weight: float


class WeightedTagOut(BaseModel):
    tag: str
    weight: float


class TasteResponse(BaseModel):
    user_id: str
    qualifying_interactions: int
    top_genres: list[WeightedResourceOut] = Field(
        description="share of the user's positive listening, 0..1 (a list sums to <= 1)")
    top_tags: list[WeightedTagOut]
    top_artists: list[WeightedResourceOut]
    audio_neighbourhood: list[WeightedResourceOut] = Field(
        description="catalog tracks nearest the history's audio centroid (weight: cosine), "
                    "history excluded")
    embedding_model: str | None
    embedded_items: int
    diversity: float = Field(description="0 (one sound) .. 1 (spread out), see the README")
    diversity_basis: str = Field(description="content (audio vectors), tags, or none")


MaxMixes = Annotated[int | None, Query(ge=1, le=10, description="default "
                                                                  "JUKE_DAILY_MIXES_MAX (4)")]
MixSize = Annotated[int | None, Query(ge=1, le=50, description="tracks per mix; default "
                                                                "JUKE_DAILY_MIX_SIZE (10)")]
TasteLimit = Annotated[int | None, Query(ge=1, le=50, description="entries per list; "
                                                                   "default 10")]


def _mix(mix: rpb.DailyMix, bundle: rpb.ModelBundle) -> DailyMixOut:
    # The items convert exactly like a recommendation result's.
    items = _response(rpb.RecommendResult(items=mix.items, bundle=bundle)).items
    return DailyMixOut(index=mix.index, title=mix.title, top_tags=list(mix.top_tags),
                       seeds=[ResourceSummary.from_pb(s) for s in mix.seeds], items=items)


def _weighted(entries: Iterable[rpb.WeightedResource]) -> list[WeightedResourceOut]:
    return [WeightedResourceOut(resource=ResourceSummary.from_pb(w.resource), weight=w.weight)
            for w in entries]


@router.get("/users/{user_id}/daily-mixes", response_model=DailyMixesResponse,
            summary="Daily mixes from the user's listening")
async def daily_mixes(user_id: str, request: Request, max_mixes: MaxMixes = None,
                      mix_size: MixSize = None) -> DailyMixesResponse:
    """The user's history clustered (content vectors and tags, deterministic k-means) into
    up to `max_mixes` coherent mixes, each filled with recommendations seeded by its cluster,
    none repeating the history or another mix. Fewer than 5 played items: one popularity
    mix, titled as such. Never an error for an unknown user."""
    reply = await request.app.state.clients.ranker.GetDailyMixes(rpb.GetDailyMixesRequest(
        user_id=user_id, max_mixes=max_mixes or 0, mix_size=mix_size or 0))
    bundle = _response(rpb.RecommendResult(bundle=reply.bundle)).model_bundle
    return DailyMixesResponse(mixes=[_mix(m, reply.bundle) for m in reply.mixes],
                              model_bundle=bundle, history_items=reply.history_items)


@router.get("/users/{user_id}/taste", response_model=TasteResponse,
            summary="Taste analysis of the user's listening")
async def taste(user_id: str, request: Request, limit: TasteLimit = None) -> TasteResponse:
    """Top genres, tags and artists as shares of the user's positive listening, the catalog
    tracks nearest their audio centroid, and a diversity score. No history: empty lists and
    qualifying_interactions 0."""
    reply = await request.app.state.clients.ranker.GetTaste(rpb.GetTasteRequest(
        user_id=user_id, limit=limit or 0))
    return TasteResponse(
        user_id=reply.user_id, qualifying_interactions=reply.qualifying_interactions,
        top_genres=_weighted(reply.top_genres),
        top_tags=[WeightedTagOut(tag=t.tag, weight=t.weight) for t in reply.top_tags],
        top_artists=_weighted(reply.top_artists),
        audio_neighbourhood=_weighted(reply.audio_neighbourhood),
        embedding_model=reply.embedding_model or None, embedded_items=reply.embedded_items,
        diversity=reply.diversity, diversity_basis=reply.diversity_basis)
