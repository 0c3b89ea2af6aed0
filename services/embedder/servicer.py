"""gRPC adapter of the embedder service: proto in, proto out."""

from __future__ import annotations

import json
from typing import Any

import grpc

from juke.embedder.v1 import embedder_pb2 as pb
from juke.embedder.v1 import embedder_pb2_grpc
from services.common.errors import InvalidArgument
from services.common.proto_convert import (
    log_entry_pb,
    registry_model_pb,
    timestamp,
    type_from_proto,
    type_to_proto,
)
from services.embedder.service import EmbedderService, ModelView


def model_pb(view: ModelView) -> pb.EmbeddingModel:
    r = view.record
    return pb.EmbeddingModel(
        id=str(r.id), name=r.name, source_model=r.source_model, embedding_dim=r.embedding_dim,
        training_corpus_hash=r.training_corpus_hash, version=r.version, active=r.active,
        is_known_good=r.is_known_good, created_at=timestamp(r.created_at),
        weights_uri=r.weights_uri, weights_sha256=r.weights_sha256,
        weights_license=r.weights_license,
        frontend_params_json=json.dumps(r.frontend_params, sort_keys=True),
        available=view.available, unavailable_reason="" if view.available else view.reason,
        activated_at=timestamp(r.activated_at), artifact_hash=r.artifact_hash,
        training_data=r.training_data, training_data_license=r.training_data_license,
    )


class EmbedderServicer(embedder_pb2_grpc.EmbedderServiceServicer):
    def __init__(self, service: EmbedderService) -> None:
        self._service = service

    def ListModels(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListModelsResponse(models=[model_pb(v) for v in self._service.list_models()])

    def RegisterModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            frontend = json.loads(request.frontend_params_json or "{}")
        except json.JSONDecodeError as err:
            raise InvalidArgument(f"frontend_params_json is not JSON: {err}") from None
        view, created = self._service.register({
            "name": request.name, "source_model": request.source_model,
            "embedding_dim": request.embedding_dim, "version": request.version,
            "training_corpus_hash": request.training_corpus_hash,
            "weights_uri": request.weights_uri, "weights_sha256": request.weights_sha256,
            "weights_license": request.weights_license, "frontend_params": frontend,
            "training_data": request.training_data,
            "training_data_license": request.training_data_license,
        })
        return pb.RegisterModelResponse(model=model_pb(view), created=created)

    def ActivateModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        view, previous = self._service.activate(request.model_id, request.allow_unavailable,
                                                request.requested_by)
        return pb.ActivateModelResponse(model=model_pb(view),
                                        previous_model_id=str(previous) if previous else "")

    def MarkKnownGood(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.MarkKnownGoodResponse(model=model_pb(self._service.mark_known_good(
            request.model_id)))

    def RollbackModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        restored, deactivated = self._service.rollback(request.requested_by)
        return pb.RollbackModelResponse(restored=model_pb(restored),
                                        deactivated_model_id=str(deactivated or ""))

    def GetActiveModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.GetActiveModelResponse(model=model_pb(self._service.active()))

    def SearchNeighbors(self, request: Any, context: grpc.ServicerContext) -> Any:
        rtype = type_from_proto(request.resource_type) or "track"
        found = self._service.search_neighbors(
            list(request.seed_ids), rtype, request.k or 10, list(request.exclude_ids),
            request.model_id, list(request.query_vector))
        return pb.SearchNeighborsResponse(
            neighbors=[pb.Neighbor(juke_id=str(i), similarity=s,
                                   vector=v.tolist() if request.include_vectors else [])
                       for i, s, v in found.hits],
            model_id=str(found.model.id), seeds_without_vectors=found.seeds_without_vectors)

    def GetVectors(self, request: Any, context: grpc.ServicerContext) -> Any:
        model, found, missing = self._service.vectors(list(request.juke_ids), request.model_id)
        return pb.GetVectorsResponse(
            vectors=[pb.ResourceVector(juke_id=str(i), resource_type=type_to_proto(t),
                                       vector=v.tolist()) for i, (t, v) in found.items()],
            model_id=str(model.id), missing=missing)

    def GetCoverage(self, request: Any, context: grpc.ServicerContext) -> Any:
        model, c = self._service.coverage(request.model_id)
        return pb.GetCoverageResponse(model_id=str(model.id), track_embeddings=c.tracks,
                                      album_vectors=c.albums, artist_vectors=c.artists,
                                      index_built=c.index_built)

    def ExportArtifacts(self, request: Any, context: grpc.ServicerContext) -> Any:
        view, vectors, path = self._service.export_artifacts(request.model_id)
        return pb.ExportArtifactsResponse(model=model_pb(view), vectors=vectors, path=str(path))

    def ListRegistryModels(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListRegistryModelsResponse(models=[
            registry_model_pb(m) for m in self._service.registered_models(request.state)])

    def GetModelHistory(self, request: Any, context: grpc.ServicerContext) -> Any:
        model, entries = self._service.history(request.id)
        return pb.GetModelHistoryResponse(model=registry_model_pb(model),
                                          entries=[log_entry_pb(e) for e in entries])
