"""Recommendation endpoints: the hybrid (production) and one per single signal."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from gateway.auth import Role, requires
from gateway.errors import ApiError
from gateway.routes.catalog import resource_type
from gateway.schemas import ResourceSummary
from juke.identity.v1 import identity_pb2 as ipb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.ids import parse_uuid

router = APIRouter(prefix="/api/v1/recommendations", tags=["recommendations"],
                   dependencies=[requires(Role.READ)])
ResourceTypeName = Literal["track", "album", "artist", "genre"]


class RecommendationRequest(BaseModel):
    seed_items: list[str] = Field(
        default=[], max_length=100,
        description="juke_id, MBID, '<source>:<id>', juke:<type>:<id> URI, or a plain name; "
                    "optional when `profiles` are given")
    profiles: list[str] = Field(
        default=[], max_length=20,
        description="taste profile ids (POST /api/v1/profiles): their favourites that are in "
                    "the catalog join the seeds")
    limit: int | None = Field(default=None, ge=1, le=100,
                              description="default JUKE_RECOMMENDER_DEFAULT_LIMIT (10)")
    resource_types: list[ResourceTypeName] = Field(default=["track"])
    exclude_ids: list[str] = Field(default=[], max_length=1000)

    @model_validator(mode="after")
    def _needs_seeds_or_profiles(self) -> RecommendationRequest:
        if not self.seed_items and not self.profiles:
            raise ValueError("give at least one of seed_items or profiles")
        return self


class ContributionOut(BaseModel):
    signal: str
    rule: str
    raw: float
    normalised: float
    weight: float
    contribution: float
    reason: str
    seed_ids: list[str]


class ItemDetailsOut(BaseModel):
    artist_names: list[str] = Field(description="credited artists (albums, tracks)")
    album_name: str = Field(description="a track's release; empty when unknown")
    duration_ms: int = Field(description="tracks; 0 when unknown")
    release_year: int = Field(description="albums, and tracks through their release; 0 when "
                                          "unknown")


class RecommendedItemOut(BaseModel):
    resource: ResourceSummary
    details: ItemDetailsOut
    content_score: float
    metadata_score: float
    cooccurrence_score: float
    collaborative_score: float = Field(description="the CF signal (0 unless the active "
                                                   "weights use it)")
    final_score: float
    model_version: str
    weight_config_id: str
    explanation: list[ContributionOut]


class ModelBundleOut(BaseModel):
    embedding_model_id: str | None
    embedding_model: str | None
    cooccurrence_model_id: str | None
    cooccurrence_model: str | None
    cf_model_id: str | None = Field(None, description="the CF model the collaborative signal "
                                                      "folds the seeds into, when it serves")
    cf_model: str | None = None
    reranker: str | None = Field(None, description="the learned second stage that reordered "
                                                   "the items (lambdamart-<hash>); then each "
                                                   "explanation holds its grouped SHAP terms")
    weight_config_id: str
    weights: dict[str, float]
    lambda_mmr: float


class RecommendationResponse(BaseModel):
    items: list[RecommendedItemOut]
    seeds: list[ResourceSummary]
    model_bundle: ModelBundleOut
    empty_signals: list[str]
    cached: bool


async def _resolve_seed_names(request: Request, seeds: list[str], what: str = "seed",
                              positions: list[int] | None = None) -> list[str]:
    """IDs pass through; plain names are searched, and must match one resource exactly.
    `what` names the list in errors (seed, favourite), which carry the entry's index (its
    place in `positions` when the seeds are part of a longer list)."""
    if not seeds:
        return []
    identity = request.app.state.clients.identity
    reply = await identity.BatchResolve(ipb.BatchResolveRequest(
        refs=[ipb.ResolveRef(ref=s) for s in seeds]))
    resolved = []
    places = positions or list(range(len(seeds)))
    for index, seed, result in zip(places, seeds, reply.results, strict=True):
        if result.found:
            resolved.append(result.resource.juke_id)
        elif result.failure == ipb.RESOLVE_FAILURE_MALFORMED:  # not an ID form: a name
            resolved.append(await _by_name(identity, seed, what, index))
        else:
            raise ApiError(400, "INVALID_ARGUMENT", f"{what} {seed!r}: {result.error}",
                           index=index)
    return resolved


async def _by_name(identity: Any, name: str, what: str = "seed", index: int = 0) -> str:
    hits = (await identity.SearchResources(ipb.SearchResourcesRequest(query=name, limit=10))).hits
    exact = [h for h in hits if h.score >= 1.0]
    if len(exact) == 1:
        return str(exact[0].resource.juke_id)
    candidates = exact or hits
    if not candidates:
        raise ApiError(400, "INVALID_ARGUMENT", f"{what} {name!r} matches no catalog resource",
                       index=index)
    listing = [{"uri": h.resource.uri, "name": h.resource.name,
                "type": ResourceSummary.from_pb(h.resource).type, "context": h.context}
               for h in candidates[:10]]
    raise AmbiguousSeed(name, listing, what, index)


class AmbiguousSeed(ApiError):
    def __init__(self, name: str, candidates: list[dict[str, str]], what: str = "seed",
                 index: int = 0) -> None:
        super().__init__(400, "AMBIGUOUS_SEED",
                         f"{what} {name!r} matches {len(candidates)} resources; use one of "
                         "their URIs", candidates=candidates, index=index)


def _response(result: Any) -> RecommendationResponse:
    b = result.bundle
    return RecommendationResponse(
        items=[RecommendedItemOut(
            resource=ResourceSummary.from_pb(i.resource),
            details=ItemDetailsOut(artist_names=list(i.details.artist_names),
                                   album_name=i.details.album_name,
                                   duration_ms=i.details.duration_ms,
                                   release_year=i.details.release_year),
            content_score=i.content_score,
            metadata_score=i.metadata_score, cooccurrence_score=i.cooccurrence_score,
            collaborative_score=i.collaborative_score,
            final_score=i.final_score, model_version=i.model_version,
            weight_config_id=i.weight_config_id,
            explanation=[ContributionOut(signal=c.signal, rule=c.rule, raw=c.raw,
                                         normalised=c.normalised, weight=c.weight,
                                         contribution=c.contribution, reason=c.reason,
                                         seed_ids=list(c.seed_ids)) for c in i.explanation])
            for i in result.items],
        seeds=[ResourceSummary.from_pb(s) for s in result.seeds],
        model_bundle=ModelBundleOut(
            embedding_model_id=b.embedding_model_id or None,
            embedding_model=b.embedding_model or None,
            cooccurrence_model_id=b.cooccurrence_model_id or None,
            cooccurrence_model=b.cooccurrence_model or None,
            cf_model_id=b.cf_model_id or None, cf_model=b.cf_model or None,
            reranker=b.reranker or None, weight_config_id=b.weight_config_id,
            weights={"content": b.w_content, "metadata": b.w_metadata,
                     "cooccurrence": b.w_cooccurrence, "collaborative": b.w_collaborative},
            lambda_mmr=b.lambda_mmr),
        empty_signals=list(result.empty_signals), cached=result.cached)


def _is_id_form(seed: str) -> bool:
    """A juke_id/MBID or a Juke URI: the ranker resolves these from its own catalog
    snapshot (asking identity itself only for what the snapshot does not name), so the
    request skips a hop. Other forms and names go through identity here."""
    text = seed.strip()
    return parse_uuid(text) is not None or text.lower().startswith("juke:")


async def _seed_refs(request: Request, seeds: list[str]) -> list[str]:
    """Seeds for a recommendation query: ID forms as given, the rest resolved (names
    searched), in request order."""
    others = [k for k, s in enumerate(seeds) if not _is_id_form(s)]
    if not others:
        return [s.strip() for s in seeds]
    resolved = iter(await _resolve_seed_names(request, [seeds[k] for k in others],
                                              positions=others))
    return [s.strip() if _is_id_form(s) else next(resolved) for s in seeds]


async def _query(request: Request, body: RecommendationRequest) -> rpb.RecommendQuery:
    return rpb.RecommendQuery(
        seed_item_ids=await _seed_refs(request, body.seed_items),
        profile_ids=body.profiles, exclude_ids=body.exclude_ids, limit=body.limit or 0,
        resource_types=[resource_type(t) for t in body.resource_types])


@router.post("/", response_model=RecommendationResponse)
async def recommend(body: RecommendationRequest, request: Request) -> RecommendationResponse:
    """Hybrid recommendations (weights from the active config), diversified, explained."""
    reply = await request.app.state.clients.ranker.Recommend(
        rpb.RecommendRequest(query=await _query(request, body)))
    return _response(reply.result)


@router.post("/metadata", response_model=RecommendationResponse)
async def recommend_metadata(body: RecommendationRequest,
                             request: Request) -> RecommendationResponse:
    """Metadata signal only: same artist, same release, shared tags, shared work."""
    reply = await request.app.state.clients.ranker.RecommendMetadata(
        rpb.RecommendMetadataRequest(query=await _query(request, body)))
    return _response(reply.result)


@router.post("/cooccurrence", response_model=RecommendationResponse)
async def recommend_cooccurrence(body: RecommendationRequest,
                                 request: Request) -> RecommendationResponse:
    """Co-occurrence (PMI) signal only, from the active co-occurrence model."""
    reply = await request.app.state.clients.ranker.RecommendCooccurrence(
        rpb.RecommendCooccurrenceRequest(query=await _query(request, body)))
    return _response(reply.result)


@router.post("/content", response_model=RecommendationResponse)
async def recommend_content(body: RecommendationRequest,
                            request: Request) -> RecommendationResponse:
    """Content signal only: nearest neighbours under the active embedding model."""
    reply = await request.app.state.clients.ranker.RecommendContent(
        rpb.RecommendContentRequest(query=await _query(request, body)))
    return _response(reply.result)
