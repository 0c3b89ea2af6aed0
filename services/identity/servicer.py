"""gRPC adapter of the identity service: proto in, proto out, nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import grpc

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2, identity_pb2_grpc
from services.common.proto_convert import (
    tag_source_from_proto,
    tag_source_to_proto,
    timestamp,
    type_from_proto,
    type_to_proto,
)
from services.identity.export import CatalogChunk, halves
from services.identity.repository import ResourceView, Summary
from services.identity.service import (
    IdentityService,
    Resolution,
    ResourceInput,
    TagInput,
    UpsertOutcome,
)


def summary_pb(s: Summary) -> common_pb2.ResourceSummary:
    return common_pb2.ResourceSummary(
        type=type_to_proto(s.type), juke_id=str(s.juke_id), name=s.name, uri=s.uri,
        mbid=str(s.mbid) if s.mbid else "",
    )


def resource_pb(v: ResourceView) -> identity_pb2.Resource:
    s = v.summary
    return identity_pb2.Resource(
        type=type_to_proto(s.type),
        juke_id=str(s.juke_id),
        mbid=str(s.mbid) if s.mbid else "",
        name=s.name,
        uri=s.uri,
        disambiguation=v.disambiguation,
        external_ids=[common_pb2.ExternalId(source=a, external_id=b) for a, b in v.external_ids],
        tags=[common_pb2.Tag(name=t.name, source=tag_source_to_proto(t.source), weight=t.weight,
                             dataset=t.dataset) for t in v.tags],
        artists=[summary_pb(a) for a in v.artists],
        album=summary_pb(v.album) if v.album else None,
        work_mbids=[str(w) for w in v.work_mbids],
        genres=[summary_pb(g) for g in v.genres],
        duration_ms=v.duration_ms,
        track_number=v.track_number,
        release_date=v.release_date,
        created_at=timestamp(v.created_at),
        updated_at=timestamp(v.updated_at),
    )


def _tags(tags: Iterable[Any]) -> list[TagInput]:
    return [TagInput(t.name, tag_source_from_proto(t.source), t.weight, t.dataset) for t in tags]


def _external(ids: Iterable[common_pb2.ExternalId]) -> list[tuple[str, str]]:
    return [(e.source, e.external_id) for e in ids]


def _results(outcomes: list[UpsertOutcome]) -> list[identity_pb2.UpsertResult]:
    return [
        identity_pb2.UpsertResult(juke_id=str(o.summary.juke_id), created=o.created,
                                  uri=o.summary.uri)
        for o in outcomes
    ]


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, service: IdentityService) -> None:
        self._service = service

    def GetResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        view = self._service.get(request.ref, type_from_proto(request.type))
        return identity_pb2.GetResourceResponse(resource=resource_pb(view))

    def BatchResolve(self, request: Any, context: grpc.ServicerContext) -> Any:
        refs = [(r.ref, type_from_proto(r.type)) for r in request.refs]
        results = [
            identity_pb2.ResolveResult(
                ref=r.ref, found=r.summary is not None,
                resource=summary_pb(r.summary) if r.summary else None,
                matched_by=r.matched_by, error=r.error, failure=_failure(r),
            )
            for r in self._service.batch_resolve(refs)
        ]
        return identity_pb2.BatchResolveResponse(results=results)

    def SearchResources(self, request: Any, context: grpc.ServicerContext) -> Any:
        types = [t for t in (type_from_proto(v) for v in request.types) if t]
        hits = self._service.search(request.query, types, request.limit)
        return identity_pb2.SearchResourcesResponse(
            hits=[identity_pb2.SearchHit(resource=summary_pb(h.summary), score=h.score,
                                         context=h.context) for h in hits]
        )

    def UpsertArtists(self, request: Any, context: grpc.ServicerContext) -> Any:
        inputs = [
            ResourceInput(type="artist", name=a.name, mbid=a.mbid, sort_name=a.sort_name,
                          disambiguation=a.disambiguation, external_ids=_external(a.external_ids),
                          tags=_tags(a.tags), genre_refs=list(a.genre_refs))
            for a in request.artists
        ]
        return identity_pb2.UpsertArtistsResponse(results=_results(self._service.upsert(inputs)))

    def UpsertAlbums(self, request: Any, context: grpc.ServicerContext) -> Any:
        inputs = [
            ResourceInput(type="album", name=a.name, mbid=a.mbid,
                          artist_refs=list(a.artist_refs), release_date=a.release_date,
                          disambiguation=a.disambiguation, external_ids=_external(a.external_ids),
                          tags=_tags(a.tags), genre_refs=list(a.genre_refs))
            for a in request.albums
        ]
        return identity_pb2.UpsertAlbumsResponse(results=_results(self._service.upsert(inputs)))

    def UpsertTracks(self, request: Any, context: grpc.ServicerContext) -> Any:
        inputs = [
            ResourceInput(type="track", name=t.name, mbid=t.mbid, album_ref=t.album_ref,
                          artist_refs=list(t.artist_refs), duration_ms=t.duration_ms,
                          track_number=t.track_number, work_mbids=list(t.work_mbids),
                          disambiguation=t.disambiguation, external_ids=_external(t.external_ids),
                          tags=_tags(t.tags), genre_refs=list(t.genre_refs))
            for t in request.tracks
        ]
        return identity_pb2.UpsertTracksResponse(results=_results(self._service.upsert(inputs)))

    def UpsertGenres(self, request: Any, context: grpc.ServicerContext) -> Any:
        inputs = [
            ResourceInput(type="genre", name=g.name, mbid=g.mbid,
                          disambiguation=g.disambiguation, external_ids=_external(g.external_ids))
            for g in request.genres
        ]
        return identity_pb2.UpsertGenresResponse(results=_results(self._service.upsert(inputs)))

    def AddTags(self, request: Any, context: grpc.ServicerContext) -> Any:
        items = [(i.ref, type_from_proto(i.type), _tags(i.tags)) for i in request.items]
        return identity_pb2.AddTagsResponse(tags_written=self._service.add_tags(items))

    def ListResources(self, request: Any, context: grpc.ServicerContext) -> Any:
        rtype = type_from_proto(request.type) or ""
        page = request.page
        views, token = self._service.list_page(rtype, page.page_token, page.page_size)
        return identity_pb2.ListResourcesResponse(
            resources=[resource_pb(v) for v in views],
            page=common_pb2.PageResponse(next_page_token=token),
        )

    def ExportCatalog(self, request: Any, context: grpc.ServicerContext) -> Iterable[Any]:
        for chunk in self._service.export(request.chunk_size):
            yield from _fitting_messages(chunk)

    def GetCatalogStats(self, request: Any, context: grpc.ServicerContext) -> Any:
        s = self._service.stats()
        return identity_pb2.GetCatalogStatsResponse(
            artists=s.artists, albums=s.albums, tracks=s.tracks, genres=s.genres,
            external_ids=s.external_ids, tags=s.tags, revision=s.revision,
            catalog_id=s.catalog_id,
        )


# Under gRPC's default 4 MiB receive limit, with room for the envelope.
MAX_CHUNK_BYTES = 3 * 1024 * 1024


def _fitting_messages(chunk: CatalogChunk) -> Iterator[Any]:
    """The chunk as one message, or halved until each half fits a client's receive limit."""
    message = identity_pb2.ExportCatalogResponse(chunk=catalog_chunk_pb(chunk))
    if message.ByteSize() <= MAX_CHUNK_BYTES or len(chunk.juke_ids) <= 1:
        yield message
        return
    for half in halves(chunk):
        yield from _fitting_messages(half)


def catalog_chunk_pb(c: CatalogChunk) -> Any:
    return identity_pb2.CatalogChunk(
        type=type_to_proto(c.type), juke_ids=c.juke_ids, names=c.names,
        duration_ms=c.duration_ms, release_dates=c.release_dates, album_ids=c.album_ids,
        artist_of=c.artist_of, artist_ids=c.artist_ids, work_of=c.work_of,
        work_mbids=c.work_mbids, genre_of=c.genre_of, genre_ids=c.genre_ids,
        tag_of=c.tag_of, tag_names=c.tag_names,
        tag_sources=[tag_source_to_proto(s) for s in c.tag_sources],
        tag_weights=c.tag_weights, tag_datasets=c.tag_datasets)


def _failure(r: Resolution) -> int:
    if r.summary is not None:
        return int(identity_pb2.RESOLVE_FAILURE_UNSPECIFIED)
    if r.malformed:
        return int(identity_pb2.RESOLVE_FAILURE_MALFORMED)
    return int(identity_pb2.RESOLVE_FAILURE_NOT_FOUND)
