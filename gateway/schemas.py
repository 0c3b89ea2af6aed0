"""JSON shapes of the public API (also what /docs shows), built from the gRPC messages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from juke.common.v1 import common_pb2
from services.common.proto_convert import tag_source_from_proto, type_from_proto


class ResourceSummary(BaseModel):
    type: str
    juke_id: str
    name: str
    uri: str
    mbid: str | None = None

    @classmethod
    def from_pb(cls, pb: common_pb2.ResourceSummary) -> ResourceSummary:
        return cls(type=type_from_proto(pb.type) or "", juke_id=pb.juke_id, name=pb.name,
                   uri=pb.uri, mbid=pb.mbid or None)


class ExternalId(BaseModel):
    source: str
    external_id: str


class Tag(BaseModel):
    name: str
    source: str
    weight: float


class Resource(BaseModel):
    type: str
    juke_id: str
    mbid: str | None
    name: str
    uri: str
    disambiguation: str = ""
    external_ids: list[ExternalId] = []
    tags: list[Tag] = []
    artists: list[ResourceSummary] = []
    album: ResourceSummary | None = None
    work_mbids: list[str] = []
    genres: list[ResourceSummary] = []
    duration_ms: int | None = None
    track_number: int | None = None
    release_date: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @classmethod
    def from_pb(cls, pb: Any) -> Resource:
        rtype = type_from_proto(pb.type) or ""
        return cls(
            type=rtype, juke_id=pb.juke_id, mbid=pb.mbid or None, name=pb.name, uri=pb.uri,
            disambiguation=pb.disambiguation,
            external_ids=[ExternalId(source=e.source, external_id=e.external_id)
                          for e in pb.external_ids],
            tags=[Tag(name=t.name, source=tag_source_from_proto(t.source), weight=t.weight)
                  for t in pb.tags],
            artists=[ResourceSummary.from_pb(a) for a in pb.artists],
            album=ResourceSummary.from_pb(pb.album) if pb.HasField("album") else None,
            work_mbids=list(pb.work_mbids),
            genres=[ResourceSummary.from_pb(g) for g in pb.genres],
            duration_ms=pb.duration_ms if rtype == "track" else None,
            track_number=pb.track_number if rtype == "track" else None,
            release_date=pb.release_date if rtype == "album" else None,
            created_at=pb.created_at.ToJsonString() if pb.HasField("created_at") else None,
            updated_at=pb.updated_at.ToJsonString() if pb.HasField("updated_at") else None,
        )


class ResolveRef(BaseModel):
    ref: str = Field(description="juke_id, MBID, '<source>:<external_id>' or juke:<type>:<id>")
    type: str | None = Field(default=None, description="artist|album|track|genre (optional)")


class ResolveRequest(BaseModel):
    refs: list[ResolveRef | str] = Field(max_length=1000)


class ResolveResult(BaseModel):
    ref: str
    found: bool
    resource: ResourceSummary | None = None
    matched_by: str | None = None
    error: str | None = None


class ResolveResponse(BaseModel):
    results: list[ResolveResult]


class SearchHit(BaseModel):
    resource: ResourceSummary
    score: float
    context: str = ""


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]
