"""Playlist scoring: continue a playlist, the fit of tracks to it, and of a track to a user's
playlists. All three are reading (a read key): a match result is stored only so that the
same question asked again is answered from the store (`cached: true`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from gateway.auth import Role, requires
from gateway.routes.recommendations import ModelBundleOut, RecommendedItemOut, _response
from juke.ranker.v1 import playlist_scoring_pb2 as spb
from juke.ranker.v1 import ranker_pb2 as rpb

router = APIRouter(prefix="/api/v1", tags=["playlist scoring"],
                   dependencies=[requires(Role.READ)])

MAX_CANDIDATES = 500


class SeedWeightOut(BaseModel):
    track_id: str
    weight: float


class ContinuationOut(BaseModel):
    playlist_id: str
    items: list[RecommendedItemOut]
    model_bundle: ModelBundleOut
    seeds: list[SeedWeightOut] = Field(
        description="the playlist's tracks that seeded it, with their position weights")


class FitSignalOut(BaseModel):
    signal: str = Field(description="content | tags | artists | cooccurrence | mood")
    value: float = Field(description="0..1")
    weight: float
    counted: bool = Field(description="false: not measurable for this pair")
    contribution: float = Field(description="weight x value / the counted weights; the "
                                            "contributions add up to the score")
    reason: str


class MatchKeyOut(BaseModel):
    profile_hash: str
    candidate_set_hash: str
    bundle_hash: str
    config_hash: str
    algorithm_version: str


class TrackFitOut(BaseModel):
    track_id: str
    name: str
    score: float = Field(description="fit to the playlist, 0..1")
    signals: list[FitSignalOut]


class MatchTracksIn(BaseModel):
    tracks: list[str] = Field(min_length=1, max_length=MAX_CANDIDATES,
                              description="candidate tracks in any ID form (up to 500)")


class MatchTracksOut(BaseModel):
    match_id: str
    fits: list[TrackFitOut] = Field(description="best fit first")
    model_version: str
    model_bundle: ModelBundleOut
    key: MatchKeyOut
    cached: bool = Field(description="true: the stored result of an identical earlier call")


class MatchPlaylistsIn(BaseModel):
    track: str = Field(min_length=1, max_length=512, description="a track in any ID form")


class PlaylistFitOut(BaseModel):
    playlist_id: str
    name: str
    profile_hash: str
    score: float
    signals: list[FitSignalOut]


class MatchPlaylistsOut(BaseModel):
    match_id: str
    track_id: str
    playlists: list[PlaylistFitOut] = Field(description="the user's playlists, best fit first")
    model_version: str
    model_bundle: ModelBundleOut
    key: MatchKeyOut
    cached: bool


def _signals(values: Any) -> list[FitSignalOut]:
    return [FitSignalOut(signal=s.signal, value=s.value, weight=s.weight, counted=s.counted,
                         contribution=s.contribution, reason=s.reason) for s in values]


def _key(k: spb.MatchKey) -> MatchKeyOut:
    return MatchKeyOut(profile_hash=k.profile_hash, candidate_set_hash=k.candidate_set_hash,
                       bundle_hash=k.bundle_hash, config_hash=k.config_hash,
                       algorithm_version=k.algorithm_version)


def _bundle(b: rpb.ModelBundle) -> ModelBundleOut:
    return _response(rpb.RecommendResult(bundle=b)).model_bundle


@router.get("/playlists/{playlist_id}/continuation", response_model=ContinuationOut,
            summary="Tracks to continue a playlist")
async def continuation(
    request: Request,
    playlist_id: Annotated[str, Path(max_length=64)],
    limit: Annotated[int | None, Query(ge=1, le=100, description=(
        "tracks to return; default JUKE_RECOMMENDER_DEFAULT_LIMIT (10)"))] = None,
) -> ContinuationOut:
    """Ranked, explained, MMR-diversified tracks that are not in the playlist, seeded by its
    tracks weighted by position (the latest weigh most), with the radio's artist limiter
    (the playlist's last tracks count as played). Unknown playlist: 404."""
    reply = await request.app.state.clients.playlist_scoring.ContinuePlaylist(
        spb.ContinuePlaylistRequest(playlist_id=playlist_id, limit=limit or 0))
    converted = _response(rpb.RecommendResult(items=reply.items, bundle=reply.bundle))
    return ContinuationOut(playlist_id=reply.playlist_id, items=converted.items,
                           model_bundle=converted.model_bundle,
                           seeds=[SeedWeightOut(track_id=s.track_id, weight=s.weight)
                                  for s in reply.seeds])


@router.post("/playlists/{playlist_id}/match", response_model=MatchTracksOut,
             summary="How well candidate tracks fit a playlist")
async def match_tracks(request: Request, playlist_id: Annotated[str, Path(max_length=64)],
                       body: MatchTracksIn) -> MatchTracksOut:
    """Each candidate's fit in [0, 1] with its per-signal breakdown (content to the
    playlist's centroid, tags, artists, co-occurrence, mood) and the model bundle. The same
    call with nothing changed returns the stored result (`cached: true`); a membership
    change, a new embedding or a new bundle computes a new one."""
    reply = await request.app.state.clients.playlist_scoring.MatchTracks(
        spb.MatchTracksRequest(playlist_id=playlist_id, track_refs=body.tracks))
    return MatchTracksOut(
        match_id=reply.match_id, model_version=reply.model_version,
        model_bundle=_bundle(reply.bundle), key=_key(reply.key), cached=reply.cached,
        fits=[TrackFitOut(track_id=f.track_id, name=f.name, score=f.score,
                          signals=_signals(f.signals)) for f in reply.fits])


@router.post("/users/{user_id}/playlists/match", response_model=MatchPlaylistsOut,
             summary="A user's playlists ranked by how well a track fits them")
async def match_playlists(request: Request, user_id: Annotated[str, Path(max_length=256)],
                          body: MatchPlaylistsIn) -> MatchPlaylistsOut:
    """The user's playlists, best fit first, each with the track's fit and its breakdown;
    stored and returned with `cached: true` while nothing changed."""
    reply = await request.app.state.clients.playlist_scoring.MatchPlaylists(
        spb.MatchPlaylistsRequest(user_id=user_id, track_ref=body.track))
    return MatchPlaylistsOut(
        match_id=reply.match_id, track_id=reply.track_id, model_version=reply.model_version,
        model_bundle=_bundle(reply.bundle), key=_key(reply.key), cached=reply.cached,
        playlists=[PlaylistFitOut(playlist_id=p.playlist_id, name=p.name,
                                  profile_hash=p.profile_hash, score=p.score,
                                  signals=_signals(p.signals)) for p in reply.playlists])
