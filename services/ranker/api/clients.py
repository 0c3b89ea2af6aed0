"""What the ranker needs from identity (catalog rows, ref resolution) and the embedder
(vectors, neighbours), over gRPC. Plain data out, so the domain logic stays gRPC-free."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

import grpc
import numpy as np

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.identity_calls import list_resources, resolve_in_chunks
from services.common.proto_convert import (
    tag_source_from_proto,
    type_from_proto,
    type_to_proto,
)
from services.common.resource_types import RESOURCE_TYPES
from services.ranker.core.features import ResourceRow, TagRow
from services.ranker.serving.ports import ActiveEmbedding, Candidates, CatalogSummary

# A whole-catalog export is one stream; at a million tracks it runs for minutes.
EXPORT_TIMEOUT_S = 900.0


class IdentityClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = IdentityServiceStub(channel)

    def stats(self) -> tuple[int, ...]:
        s = self._stub.GetCatalogStats(ipb.GetCatalogStatsRequest())
        catalog = uuid.UUID(s.catalog_id).int if s.catalog_id else 0
        return (s.artists, s.albums, s.tracks, s.genres, s.external_ids, s.tags, s.revision,
                catalog)

    def rows(self, allowed_datasets: Collection[str]) -> list[ResourceRow]:
        """Every resource; tags derived from a data set only if that set is allowed. Read
        in bulk (ExportCatalog); an identity without it is paged through instead."""
        allowed = frozenset(allowed_datasets)
        try:
            return [row for reply in self._stub.ExportCatalog(
                        ipb.ExportCatalogRequest(), timeout=EXPORT_TIMEOUT_S)
                    for row in chunk_rows(reply.chunk, allowed)]
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        return [_row(rtype, r, allowed) for rtype in RESOURCE_TYPES
                for r in list_resources(self._stub, type_to_proto(rtype))]

    def resolve(self, refs: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        """ref -> (juke_id or None, error)."""
        return {ref: (r.resource.juke_id if r.found else None, r.error)
                for ref, r in resolve_in_chunks(self._stub, refs)}

    def summaries(self, refs: Sequence[str]
                  ) -> dict[str, tuple[CatalogSummary | None, str]]:
        """ref -> (the resource, or None with identity's reason why it did not resolve)."""
        return {ref: (CatalogSummary(type_from_proto(r.resource.type) or "",
                                     r.resource.juke_id, r.resource.name,
                                     r.resource.mbid) if r.found else None,
                      r.error or "not in the catalog")
                for ref, r in resolve_in_chunks(self._stub, refs)}

    def resolve_items(self, refs: Sequence[str]) -> dict[str, tuple[str, str] | None]:
        """ref -> (juke_id, resource type), or None when the catalog has no such item."""
        return {ref: (r.resource.juke_id, type_from_proto(r.resource.type) or "")
                if r.found else None for ref, r in resolve_in_chunks(self._stub, refs)}


def chunk_rows(chunk: ipb.CatalogChunk, allowed: frozenset[str]) -> list[ResourceRow]:
    """The resources of one export chunk (tags of data sets not `allowed` left out)."""
    rtype = type_from_proto(chunk.type)
    if rtype is None:
        raise ValueError(f"catalog chunk of unknown resource type {chunk.type}")
    ids = list(chunk.juke_ids)
    artists = _grouped(len(ids), chunk.artist_of, chunk.artist_ids)
    works = _grouped(len(ids), chunk.work_of, chunk.work_mbids)
    genres = _grouped(len(ids), chunk.genre_of, chunk.genre_ids)
    tags: list[list[TagRow]] = [[] for _ in ids]
    for of, name, source, weight, dataset in zip(chunk.tag_of, chunk.tag_names,
                                                 chunk.tag_sources, chunk.tag_weights,
                                                 chunk.tag_datasets, strict=True):
        if not dataset or dataset in allowed:
            tags[of].append(TagRow(name, tag_source_from_proto(source) or "internal",
                                   min(1.0, max(0.0, weight))))
    durations = list(chunk.duration_ms) or [0] * len(ids)
    dates = list(chunk.release_dates) or [""] * len(ids)
    albums = list(chunk.album_ids) or [""] * len(ids)
    return [ResourceRow(id=juke_id, type=rtype, name=name, artist_ids=tuple(artists[k]),
                        album_id=albums[k] or None, work_ids=tuple(works[k]),
                        genre_ids=tuple(genres[k]), tags=tuple(tags[k]),
                        duration_ms=int(durations[k]), release_date=dates[k])
            for k, (juke_id, name) in enumerate(zip(ids, chunk.names, strict=True))]


def _grouped(size: int, owners: Sequence[int], values: Sequence[str]) -> list[list[str]]:
    out: list[list[str]] = [[] for _ in range(size)]
    for of, value in zip(owners, values, strict=True):
        out[of].append(value)
    return out


def _row(rtype: str, r: ipb.Resource, allowed: frozenset[str]) -> ResourceRow:
    tags = tuple(TagRow(t.name, tag_source_from_proto(t.source) or "internal",
                        min(1.0, max(0.0, t.weight)))
                 for t in r.tags if not t.dataset or t.dataset in allowed)
    return ResourceRow(
        id=r.juke_id, type=rtype, name=r.name,
        artist_ids=tuple(a.juke_id for a in r.artists),
        album_id=r.album.juke_id or None if r.HasField("album") else None,
        work_ids=tuple(r.work_mbids), genre_ids=tuple(g.juke_id for g in r.genres), tags=tags,
        duration_ms=r.duration_ms, release_date=r.release_date)


class GovernanceClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = GovernanceServiceStub(channel)

    def allowed_datasets(self, environment: str) -> set[str]:
        """Data sets whose derived data may be used in `environment` (fail closed)."""
        datasets = self._stub.ListDatasets(gpb.ListDatasetsRequest()).datasets
        if environment == "production":
            return {d.name for d in datasets if d.decision.production}
        return {d.name for d in datasets if d.decision.research or d.decision.production}

    def production_eligible_rows(self) -> int:
        return int(self._stub.GetCorpusSummary(gpb.GetCorpusSummaryRequest()).production_eligible)


class EmbedderClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = EmbedderServiceStub(channel)

    def active(self) -> ActiveEmbedding | None:
        try:
            m = self._stub.GetActiveModel(epb.GetActiveModelRequest()).model
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                return None
            raise
        return ActiveEmbedding(m.id, f"{m.name}@{m.version}", m.embedding_dim,
                               m.artifact_hash)

    def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        reply = self._stub.GetVectors(epb.GetVectorsRequest(juke_ids=list(ids),
                                                            model_id=model_id))
        return {v.juke_id: np.asarray(v.vector, dtype=np.float32) for v in reply.vectors}

    def coverage(self, model_id: str) -> tuple[int, bool]:
        """(track embeddings, index built) under a model."""
        reply = self._stub.GetCoverage(epb.GetCoverageRequest(model_id=model_id))
        return reply.track_embeddings, reply.index_built

    def neighbors(self, query: np.ndarray, k: int, model_id: str,
                  exclude: Sequence[str]) -> Candidates:
        reply = self._stub.SearchNeighbors(epb.SearchNeighborsRequest(
            query_vector=query.astype(np.float32).tolist(), k=k, model_id=model_id,
            exclude_ids=list(exclude), include_vectors=True,
            resource_type=common_pb2.RESOURCE_TYPE_TRACK))
        ids = [n.juke_id for n in reply.neighbors]
        vectors = (np.stack([np.asarray(n.vector, dtype=np.float32) for n in reply.neighbors])
                   if ids else np.zeros((0, query.shape[0]), dtype=np.float32))
        return Candidates(ids, vectors)
