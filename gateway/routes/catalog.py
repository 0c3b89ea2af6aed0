"""Catalog endpoints: one resource by any ID form, batch resolve, name search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.auth import Role, requires
from gateway.errors import bad_request
from gateway.schemas import (
    ResolveRequest,
    ResolveResponse,
    ResolveResult,
    Resource,
    ResourceSummary,
    SearchHit,
    SearchResponse,
)
from juke.identity.v1 import identity_pb2
from services.common.proto_convert import type_to_proto
from services.common.resource_types import RESOURCE_TYPES

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"],
                   dependencies=[requires(Role.READ)])

# REST path segments accept MusicBrainz's names too.
_PATH_TYPES = {"artist": "artist", "artists": "artist", "album": "album", "albums": "album",
               "release": "album", "track": "track", "tracks": "track", "recording": "track",
               "genre": "genre", "genres": "genre"}


def resource_type(value: str) -> int:
    rtype = _PATH_TYPES.get(value.lower())
    if rtype is None:
        raise bad_request(
            f"unknown resource type {value!r}: expected one of {', '.join(RESOURCE_TYPES)}"
        )
    return type_to_proto(rtype)


@router.post("/resolve", response_model=ResolveResponse)
async def resolve(body: ResolveRequest, request: Request) -> ResolveResponse:
    """Resolve up to 1,000 references in one call; unresolved ones say why."""
    refs = []
    for item in body.refs:
        if isinstance(item, str):
            refs.append(identity_pb2.ResolveRef(ref=item))
        else:
            refs.append(identity_pb2.ResolveRef(
                ref=item.ref, type=resource_type(item.type) if item.type else 0))
    reply = await request.app.state.clients.identity.BatchResolve(
        identity_pb2.BatchResolveRequest(refs=refs))
    return ResolveResponse(results=[
        ResolveResult(
            ref=r.ref, found=r.found,
            resource=ResourceSummary.from_pb(r.resource) if r.found else None,
            matched_by=r.matched_by or None, error=r.error or None,
        )
        for r in reply.results
    ])


@router.get("/search", response_model=SearchResponse)
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="name to look for")],
    types: Annotated[list[str] | None, Query(description="artist|album|track|genre")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SearchResponse:
    """Case- and accent-insensitive ranked search by name."""
    reply = await request.app.state.clients.identity.SearchResources(
        identity_pb2.SearchResourcesRequest(
            query=q, types=[resource_type(t) for t in types or []], limit=limit))
    return SearchResponse(query=q, hits=[
        SearchHit(resource=ResourceSummary.from_pb(h.resource), score=h.score, context=h.context)
        for h in reply.hits
    ])


@router.get("/{rtype}/{ref:path}", response_model=Resource)
async def get_resource(rtype: str, ref: str, request: Request) -> Resource:
    """One resource by juke_id, MBID, '<source>:<external_id>' or Juke URI."""
    reply = await request.app.state.clients.identity.GetResource(
        identity_pb2.GetResourceRequest(type=resource_type(rtype), ref=ref))
    return Resource.from_pb(reply.resource)
