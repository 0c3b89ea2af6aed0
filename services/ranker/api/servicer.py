"""gRPC adapter of the ranker: proto in, proto out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from typing import Any

import grpc

from juke.common.v1 import common_pb2
from juke.ranker.v1 import ranker_pb2 as pb
from juke.ranker.v1 import ranker_pb2_grpc
from services.common.errors import InvalidArgument, Unimplemented
from services.common.proto_convert import (
    log_entry_pb,
    registry_model_pb,
    timestamp,
    type_from_proto,
    type_to_proto,
)
from services.ranker.core.features import ItemDetails
from services.ranker.core.hybrid import Recommendation
from services.ranker.personal.events import EventInput, EventService
from services.ranker.personal.mixes import DailyMixes, Mix, MixesResult
from services.ranker.personal.profiles import Profile, ProfileService
from services.ranker.personal.radio import RadioPage, RadioService, RadioView
from services.ranker.personal.recommendations import PersonalRecommender, PersonalResult
from services.ranker.personal.taste import TasteAnalyser, TasteAnalysis, Weighted
from services.ranker.registry.service import ModelRegistry
from services.ranker.serving.health import HealthRecorder, RequestStats, timed
from services.ranker.serving.service import Bundle, Query, RankerService, Result
from services.ranker.store.repository import (
    CfModelRecord,
    CooccurrenceModelRecord,
    WeightConfigRecord,
)


def query_from_pb(q: pb.RecommendQuery) -> Query:
    types = []
    for value in q.resource_types:
        rtype = type_from_proto(value)
        if rtype is None:
            raise InvalidArgument(f"resource type {value} is not a known ResourceType")
        types.append(rtype)
    return Query(seeds=tuple(q.seed_item_ids), exclude=tuple(q.exclude_ids), limit=q.limit,
                 resource_types=tuple(types), profiles=tuple(q.profile_ids))


def _summary(rtype: str, juke_id: str, name: str) -> common_pb2.ResourceSummary:
    return common_pb2.ResourceSummary(type=type_to_proto(rtype), juke_id=juke_id, name=name,
                                      uri=f"juke:{rtype}:{juke_id}")


Details = Callable[[str], ItemDetails]


def _no_details(_: str) -> ItemDetails:
    return ItemDetails()


def details_pb(d: ItemDetails) -> pb.ItemDetails:
    return pb.ItemDetails(artist_names=list(d.artist_names), album_name=d.album_name,
                          duration_ms=d.duration_ms, release_year=d.release_year)


def result_pb(result: Result, details: Details = _no_details) -> pb.RecommendResult:
    b = result.bundle
    rec = result.recommendation
    items = [
        pb.RecommendedItem(
            resource=_summary(i.type, i.id, i.name),
            content_score=i.content_score, metadata_score=i.metadata_score,
            cooccurrence_score=i.cooccurrence_score, final_score=i.final_score,
            mmr_score=i.mmr_score, model_version=result.model_version,
            weight_config_id=rec.weight_config_id,
            collaborative_score=i.collaborative_score,
            explanation=[pb.Contribution(
                signal=c.signal, rule=c.rule, raw=c.raw, normalised=c.normalised,
                weight=c.weight, contribution=c.contribution, reason=c.reason,
                seed_ids=list(c.seed_ids)) for c in i.explanation],
            details=details_pb(details(i.id)),
        )
        for i in rec.items
    ]
    seeds = [_summary(rtype, juke_id, name) for rtype, juke_id, name in result.seeds]
    return pb.RecommendResult(
        items=items, empty_signals=list(rec.empty_signals), seeds=seeds, cached=result.cached,
        bundle=result_bundle_pb(b, result.reranker))


def result_bundle_pb(b: Bundle, reranker: str = "") -> pb.ModelBundle:
    wc = b.weight_config
    return pb.ModelBundle(
        embedding_model_id=b.embedding.model_id if b.embedding else "",
        embedding_model=b.embedding.label if b.embedding else "",
        cooccurrence_model_id=str(b.cooccurrence.id) if b.cooccurrence else "",
        cooccurrence_model=b.cooccurrence.version if b.cooccurrence else "",
        weight_config_id=str(wc.id), w_content=wc.w_content, w_metadata=wc.w_metadata,
        w_cooccurrence=wc.w_cooccurrence, lambda_mmr=wc.lambda_mmr,
        cf_model_id=str(b.cf.id) if b.cf else "", cf_model=b.cf.version if b.cf else "",
        w_collaborative=wc.w_collaborative, reranker=reranker)


def config_pb(c: WeightConfigRecord) -> pb.WeightConfig:
    return pb.WeightConfig(id=str(c.id), w_content=c.w_content, w_metadata=c.w_metadata,
                           w_cooccurrence=c.w_cooccurrence, lambda_mmr=c.lambda_mmr,
                           active=c.active, description=c.description,
                           created_at=timestamp(c.created_at),
                           w_collaborative=c.w_collaborative)


def cooc_pb(m: CooccurrenceModelRecord) -> pb.CooccurrenceModel:
    return pb.CooccurrenceModel(
        id=str(m.id), version=m.version, training_set_hash=m.training_set_hash,
        item_type=m.item_type, pairs=m.pairs, active=m.active, is_known_good=m.is_known_good,
        production_allowed=m.production_allowed, params_json=json.dumps(m.params),
        created_at=timestamp(m.created_at))


EVENT_TYPE_NAMES = {pb.EVENT_TYPE_PLAY: "play", pb.EVENT_TYPE_COMPLETE: "complete",
                    pb.EVENT_TYPE_SKIP: "skip", pb.EVENT_TYPE_LIKE: "like",
                    pb.EVENT_TYPE_DISLIKE: "dislike"}


def event_from_pb(e: pb.ListeningEvent) -> EventInput:
    return EventInput(
        user_id=e.user_id, item=e.item, type=EVENT_TYPE_NAMES.get(e.type, f"<{e.type}>"),
        occurred_at=e.occurred_at.ToDatetime(tzinfo=UTC) if e.HasField("occurred_at") else None,
        idempotency_key=e.idempotency_key, session_id=e.session_id, context=dict(e.context))


def cf_pb(m: CfModelRecord) -> pb.CfModel:
    return pb.CfModel(
        id=str(m.id), version=m.version, training_set_hash=m.training_set_hash,
        item_type=m.item_type, items=m.items, factors=m.factors, active=m.active,
        is_known_good=m.is_known_good, production_allowed=m.production_allowed,
        params_json=json.dumps(m.params), created_at=timestamp(m.created_at))


def profile_pb(p: Profile) -> pb.TasteProfile:
    return pb.TasteProfile(
        id=p.id, user_id=p.user_id, name=p.name,
        favourites=[common_pb2.ResourceSummary(
            type=type_to_proto(f.type), juke_id=f.juke_id, name=f.name, mbid=f.mbid,
            uri=f"juke:{f.type}:{f.juke_id}") for f in p.favourites],
        created_at=timestamp(p.created_at), updated_at=timestamp(p.updated_at))


def mix_pb(m: Mix, details: Details = _no_details) -> pb.DailyMix:
    return pb.DailyMix(index=m.index, title=m.title, top_tags=list(m.top_tags),
                       seeds=[_summary(t, i, n) for t, i, n in m.seeds],
                       items=result_pb(m.result, details).items)


def _weighted_pb(w: Weighted) -> pb.WeightedResource:
    return pb.WeightedResource(resource=_summary(w.type, w.id, w.name), weight=w.weight)


def taste_pb(t: TasteAnalysis) -> pb.GetTasteResponse:
    return pb.GetTasteResponse(
        user_id=t.user_id, qualifying_interactions=t.qualifying,
        top_genres=[_weighted_pb(w) for w in t.top_genres],
        top_tags=[pb.WeightedTag(tag=tag, weight=w) for tag, w in t.top_tags],
        top_artists=[_weighted_pb(w) for w in t.top_artists],
        audio_neighbourhood=[_weighted_pb(w) for w in t.neighbourhood],
        embedding_model=t.embedding_model, embedded_items=t.embedded_items,
        diversity=t.diversity, diversity_basis=t.diversity_basis)


def radio_session_pb(v: RadioView) -> pb.RadioSession:
    return pb.RadioSession(
        id=v.id, user_id=v.user_id, seeds=[_summary(t, i, n) for t, i, n in v.seeds],
        resource_type=type_to_proto(v.resource_type), artist_limit=v.artist_limit,
        artist_window=v.artist_window, served=v.served, skips=v.skips,
        created_at=timestamp(v.created_at))


def radio_page_pb(page: RadioPage, details: Details = _no_details) -> pb.NextRadioResponse:
    rec = Recommendation(items=page.items, seed_ids=(), out_types=(), weight_config_id=str(
        page.bundle.weight_config.id), empty_signals=(), silent_seeds={})
    return pb.NextRadioResponse(
        session=radio_session_pb(page.session), items=result_pb(Result(rec, page.bundle, ()),
                                                               details).items,
        bundle=result_bundle_pb(page.bundle), skipped_item_ids=list(page.skipped_item_ids))


class RankerServicer(ranker_pb2_grpc.RankerServiceServicer):
    def __init__(self, service: RankerService, stats: RequestStats | None = None,
                 recorder: HealthRecorder | None = None,
                 events: EventService | None = None,
                 personal: PersonalRecommender | None = None, *,
                 profiles: ProfileService | None = None,
                 mixes: DailyMixes | None = None,
                 taste: TasteAnalyser | None = None,
                 radio: RadioService | None = None,
                 registry: ModelRegistry | None = None) -> None:
        self._service = service
        self._models = registry
        self._radio = radio
        self._mixes = mixes
        self._taste = taste
        self._profiles = profiles
        self._events = events
        self._personal = personal
        self._stats = stats or RequestStats()
        self._recorder = recorder

    def _run(self, request: Any, mode: str) -> pb.RecommendResult:
        def call() -> pb.RecommendResult:
            return result_pb(self._service.recommend(query_from_pb(request.query), mode),
                             self._service.item_details)

        return timed(self._stats, mode, call)  # type: ignore[return-value]

    def Recommend(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.RecommendResponse(result=self._run(request, "hybrid"))

    def RecommendMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.RecommendMetadataResponse(result=self._run(request, "metadata"))

    def RecommendCooccurrence(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.RecommendCooccurrenceResponse(result=self._run(request, "cooccurrence"))

    def RecommendContent(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.RecommendContentResponse(result=self._run(request, "content"))

    def ListWeightConfigs(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListWeightConfigsResponse(
            configs=[config_pb(c) for c in self._service.list_weight_configs()])

    def CreateWeightConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        config = self._service.create_weight_config(
            request.w_content, request.w_metadata, request.w_cooccurrence, request.lambda_mmr,
            request.description, request.w_collaborative)
        return pb.CreateWeightConfigResponse(config=config_pb(config))

    def _registry(self) -> ModelRegistry:
        if self._models is None:
            raise Unimplemented("this ranker keeps no model registry")
        return self._models

    def ActivateWeightConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        config, previous = self._registry().activate_directly("weights", request.id,
                                                              request.requested_by)
        return pb.ActivateWeightConfigResponse(config=config_pb(config),
                                               previous_id=str(previous) if previous else "")

    def ListCooccurrenceModels(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListCooccurrenceModelsResponse(
            models=[cooc_pb(m) for m in self._service.list_cooccurrence_models()])

    def ActivateCooccurrenceModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        model, previous = self._registry().activate_directly("cooccurrence", request.id,
                                                             request.requested_by)
        return pb.ActivateCooccurrenceModelResponse(
            model=cooc_pb(model), previous_id=str(previous) if previous else "")

    def MarkCooccurrenceKnownGood(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.MarkCooccurrenceKnownGoodResponse(model=cooc_pb(
            self._registry().mark_known_good_directly("cooccurrence", request.id)))

    def RollbackCooccurrenceModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        restored, deactivated = self._registry().rollback("cooccurrence", request.requested_by)
        model = next(m for m in self._service.list_cooccurrence_models() if m.id == restored.id)
        return pb.RollbackCooccurrenceModelResponse(restored=cooc_pb(model),
                                                    deactivated_id=str(deactivated or ""))

    def RollbackModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        restored, deactivated = self._registry().rollback(request.kind, request.requested_by)
        return pb.RollbackModelResponse(restored=registry_model_pb(restored),
                                        deactivated_id=str(deactivated or ""))

    def ActivateRegistryModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        registry = self._registry()
        model, previous = registry.activate_directly(request.kind, request.id,
                                                     request.requested_by)
        found = registry.find(str(model.id))
        assert found is not None  # just activated
        return pb.ActivateRegistryModelResponse(model=registry_model_pb(found),
                                                previous_id=str(previous or ""))

    def ListRegistryModels(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListRegistryModelsResponse(models=[
            registry_model_pb(m) for m in self._registry().models(request.kind, request.state)])

    def GetModelHistory(self, request: Any, context: grpc.ServicerContext) -> Any:
        model, entries = self._registry().history(request.id)
        return pb.GetModelHistoryResponse(model=registry_model_pb(model),
                                          entries=[log_entry_pb(e) for e in entries])

    def RefreshFeatures(self, request: Any, context: grpc.ServicerContext) -> Any:
        size, version, seconds = self._service.refresh_features(rebuild=True)
        return pb.RefreshFeaturesResponse(resources=size, features_version=version,
                                          seconds=seconds)

    def RecordEvents(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._events is None:
            raise Unimplemented("this ranker does not take events")
        outcome = self._events.record([event_from_pb(e) for e in request.events])
        return pb.RecordEventsResponse(accepted=outcome.accepted, duplicates=outcome.duplicates,
                                       item_ids=outcome.item_ids)

    def RecommendForUser(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._personal is None:
            raise Unimplemented("this ranker does not serve personal recommendations")
        if not request.user_id.strip():
            raise InvalidArgument("user_id is empty")
        personal = self._personal
        served: PersonalResult = timed(  # type: ignore[assignment]
            self._stats, "user", lambda: personal.recommend(
                request.user_id.strip(), request.limit, request.genre.strip()))
        return pb.RecommendForUserResponse(
            result=result_pb(served.result, self._service.item_details), path=served.path,
            qualifying_interactions=served.qualifying, cf_model_id=served.cf_model_id)

    def ListCfModels(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._personal is None:
            raise Unimplemented("this ranker has no CF models")
        return pb.ListCfModelsResponse(models=[cf_pb(m) for m in self._personal.list_models()])

    def ActivateCfModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        model, previous = self._registry().activate_directly("cf", request.id,
                                                             request.requested_by)
        return pb.ActivateCfModelResponse(model=cf_pb(model),
                                          previous_id=str(previous) if previous else "")

    def _profile_service(self) -> ProfileService:
        if self._profiles is None:
            raise Unimplemented("this ranker keeps no taste profiles")
        return self._profiles

    def CreateTasteProfile(self, request: Any, context: grpc.ServicerContext) -> Any:
        profile = self._profile_service().create(request.user_id, request.name,
                                                 list(request.favourites))
        return pb.CreateTasteProfileResponse(profile=profile_pb(profile))

    def GetTasteProfile(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.GetTasteProfileResponse(
            profile=profile_pb(self._profile_service().get(request.id)))

    def UpdateTasteProfile(self, request: Any, context: grpc.ServicerContext) -> Any:
        profile = self._profile_service().update(request.id, request.name,
                                                 list(request.favourites))
        return pb.UpdateTasteProfileResponse(profile=profile_pb(profile))

    def ListTasteProfiles(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListTasteProfilesResponse(
            profiles=[profile_pb(p) for p in self._profile_service().of_user(request.user_id)])

    def DeleteTasteProfile(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._profile_service().delete(request.id)
        return pb.DeleteTasteProfileResponse()

    def GetDailyMixes(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._mixes is None:
            raise Unimplemented("this ranker does not make daily mixes")
        mixes = self._mixes
        served: MixesResult = timed(  # type: ignore[assignment]
            self._stats, "mixes",
            lambda: mixes.mixes(request.user_id, request.max_mixes, request.mix_size))
        return pb.GetDailyMixesResponse(
            mixes=[mix_pb(m, self._service.item_details) for m in served.mixes],
            bundle=result_bundle_pb(served.bundle),
            history_items=served.history_items)

    def GetTaste(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._taste is None:
            raise Unimplemented("this ranker does not analyse taste")
        taste = self._taste
        analysis: TasteAnalysis = timed(  # type: ignore[assignment]
            self._stats, "taste", lambda: taste.taste(request.user_id, request.limit))
        return taste_pb(analysis)

    def _radio_service(self) -> RadioService:
        if self._radio is None:
            raise Unimplemented("this ranker plays no radio")
        return self._radio

    def StartRadio(self, request: Any, context: grpc.ServicerContext) -> Any:
        kind = ""
        if request.resource_type:
            kind = type_from_proto(request.resource_type) or f"<{request.resource_type}>"
        session = self._radio_service().start(
            list(request.seed_item_ids), list(request.profile_ids), request.user_id, kind,
            request.artist_limit, request.artist_window)
        return pb.StartRadioResponse(session=radio_session_pb(session))

    def NextRadio(self, request: Any, context: grpc.ServicerContext) -> Any:
        radio = self._radio_service()
        page: RadioPage = timed(  # type: ignore[assignment]
            self._stats, "radio", lambda: radio.next(request.session_id, request.n))
        return radio_page_pb(page, self._service.item_details)

    def GetModelHealth(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._recorder is not None:
            self._recorder.snapshot()  # the feed is never older than this call
        bundle = result_bundle_pb(self._service.bundle())
        return pb.GetModelHealthResponse(bundle=bundle, metrics=[
            pb.HealthMetric(name=m.name, value=m.value, model_id=m.model_id,
                            metadata_json=json.dumps(m.metadata, default=str),
                            recorded_at=timestamp(m.recorded_at))
            for m in self._service.latest_health()])
