"""gRPC adapter of playlist scoring: proto in, proto out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from juke.common.v1 import common_pb2
from juke.ranker.v1 import playlist_scoring_pb2 as pb
from juke.ranker.v1 import playlist_scoring_pb2_grpc, ranker_pb2
from services.common.proto_convert import type_to_proto
from services.ranker.api.servicer import Details, details_pb, result_bundle_pb
from services.ranker.core.hybrid import ScoredItem
from services.ranker.playlists.fit import SignalFit
from services.ranker.playlists.scoring import MatchOutcome, PlaylistScoring
from services.ranker.serving.service import Bundle
from services.ranker.store.playlist_scoring import MatchKey, ProfileRecord


def items_pb(items: Sequence[ScoredItem], bundle: Bundle, details: Details,
             model_version: str) -> list[ranker_pb2.RecommendedItem]:
    return [ranker_pb2.RecommendedItem(
        resource=common_pb2.ResourceSummary(type=type_to_proto(i.type), juke_id=i.id,
                                            name=i.name, uri=f"juke:{i.type}:{i.id}"),
        content_score=i.content_score, metadata_score=i.metadata_score,
        cooccurrence_score=i.cooccurrence_score, final_score=i.final_score,
        mmr_score=i.mmr_score, model_version=model_version,
        weight_config_id=str(bundle.weight_config.id),
        explanation=[ranker_pb2.Contribution(
            signal=c.signal, rule=c.rule, raw=c.raw, normalised=c.normalised, weight=c.weight,
            contribution=c.contribution, reason=c.reason, seed_ids=list(c.seed_ids))
            for c in i.explanation],
        details=details_pb(details(i.id))) for i in items]


def signals_pb(signals: Sequence[SignalFit]) -> list[pb.FitSignal]:
    return [pb.FitSignal(signal=s.signal, value=s.value, weight=s.weight, counted=s.counted,
                         contribution=s.contribution, reason=s.reason) for s in signals]


def key_pb(key: MatchKey) -> pb.MatchKey:
    return pb.MatchKey(profile_hash=key.profile_hash, candidate_set_hash=key.candidate_set_hash,
                       bundle_hash=key.bundle_hash, config_hash=key.config_hash,
                       algorithm_version=key.algorithm_version)


def profile_pb(p: ProfileRecord) -> pb.PlaylistProfile:
    def weighted(values: Sequence[tuple[str, float]]) -> list[pb.Weighted]:
        return [pb.Weighted(name=n, weight=w) for n, w in values]

    return pb.PlaylistProfile(
        hash=p.hash, track_ids=list(p.track_ids), bundle_hash=p.bundle_hash,
        model_version=p.model_version, algorithm_version=p.algorithm_version,
        centroid=[] if p.centroid is None else p.centroid.tolist(), tags=weighted(p.tags),
        artists=weighted(p.artists), cooccurrence=weighted(p.cooccurrence),
        moods=weighted(p.moods), members=p.members, with_vectors=p.with_vectors)


def match_tracks_pb(m: MatchOutcome) -> pb.MatchTracksResponse:
    return pb.MatchTracksResponse(
        match_id=m.match_id, model_version=m.model_version, bundle=result_bundle_pb(m.bundle),
        key=key_pb(m.key), cached=m.cached,
        fits=[pb.TrackFit(track_id=f.track_id, name=f.name, score=f.score,
                          signals=signals_pb(f.signals)) for f in m.tracks])


def match_playlists_pb(m: MatchOutcome) -> pb.MatchPlaylistsResponse:
    return pb.MatchPlaylistsResponse(
        match_id=m.match_id, track_id=m.track_id, model_version=m.model_version,
        bundle=result_bundle_pb(m.bundle), key=key_pb(m.key), cached=m.cached,
        playlists=[pb.PlaylistFit(playlist_id=p.playlist_id, name=p.name,
                                  profile_hash=p.profile_hash, score=p.score,
                                  signals=signals_pb(p.signals)) for p in m.playlists])


class PlaylistScoringServicer(playlist_scoring_pb2_grpc.PlaylistScoringServiceServicer):
    def __init__(self, scoring: PlaylistScoring, details: Details) -> None:
        self._scoring = scoring
        self._details = details

    def ContinuePlaylist(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._scoring.continuation(request.playlist_id, request.limit)
        return pb.ContinuePlaylistResponse(
            playlist_id=c.playlist_id,
            items=items_pb(c.items, c.bundle, self._details, c.model_version),
            bundle=result_bundle_pb(c.bundle, c.reranker),
            seeds=[pb.SeedWeight(track_id=t, weight=w) for t, w in c.seeds])

    def MatchTracks(self, request: Any, context: grpc.ServicerContext) -> Any:
        return match_tracks_pb(self._scoring.match_tracks(request.playlist_id,
                                                          list(request.track_refs)))

    def MatchPlaylists(self, request: Any, context: grpc.ServicerContext) -> Any:
        return match_playlists_pb(self._scoring.match_playlists(request.user_id,
                                                                request.track_ref))

    def GetPlaylistProfile(self, request: Any, context: grpc.ServicerContext) -> Any:
        view = self._scoring.profile(request.playlist_id)
        return pb.GetPlaylistProfileResponse(profile=profile_pb(view.record), built=view.built)

