"""Composition root of the embedder service: `python -m services.embedder`."""

from __future__ import annotations

import grpc

from juke.embedder.v1 import embedder_pb2, embedder_pb2_grpc
from services.common.config import Settings
from services.common.db import Database
from services.common.runner import run_service
from services.common.vector_artifacts import AnnParams
from services.embedder.model_tags import TagSink
from services.embedder.runtimes import builtin_models
from services.embedder.service import EmbedderService
from services.embedder.servicer import EmbedderServicer

SERVICE_NAME = embedder_pb2.DESCRIPTOR.services_by_name["EmbedderService"].full_name


def build_service(db: Database, settings: Settings, *, with_runtimes: bool = True,
                  tag_sink: TagSink | None = None) -> EmbedderService:
    """`with_runtimes=False`: a service over the stored vectors only, for tools that never
    embed audio (and so need no model weights). `tag_sink`: where the active model's tags go;
    the worker passes identity's (it runs backfills and promoted activations); the server
    calls no other service, so a model it activates directly or restores by rollback gets
    its tags from the next backfill (a restored known-good model's were sent when it was
    first activated)."""
    builtins = builtin_models(settings.musicnn_dir, settings.openl3_weights,
                              settings.openl3_mel128_weights) if with_runtimes else ()
    return EmbedderService(
        db, builtins, artifact_root=settings.artifact_dir,
        ann=AnnParams(settings.ann_connectivity, settings.ann_expansion_search),
        index_type=settings.vector_index_type, probes=settings.ivfflat_probes,
        environment=settings.environment, tag_sink=tag_sink)


def register(server: grpc.Server, db: Database, settings: Settings) -> None:
    service = build_service(db, settings)
    service.bootstrap()
    embedder_pb2_grpc.add_EmbedderServiceServicer_to_server(EmbedderServicer(service), server)


def main() -> None:
    run_service("embedder", [SERVICE_NAME], register, vectors=True)


if __name__ == "__main__":
    main()
