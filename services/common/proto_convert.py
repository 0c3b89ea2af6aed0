"""Conversions between shared proto value types and plain Python values."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from juke.common.v1 import common_pb2

_TYPE_TO_PROTO = {
    "artist": common_pb2.RESOURCE_TYPE_ARTIST,
    "album": common_pb2.RESOURCE_TYPE_ALBUM,
    "track": common_pb2.RESOURCE_TYPE_TRACK,
    "genre": common_pb2.RESOURCE_TYPE_GENRE,
}
_PROTO_TO_TYPE = {v: k for k, v in _TYPE_TO_PROTO.items()}
_TAG_SOURCE_TO_PROTO = {
    "musicbrainz": common_pb2.TAG_SOURCE_MUSICBRAINZ,
    "internal": common_pb2.TAG_SOURCE_INTERNAL,
}
_PROTO_TO_TAG_SOURCE = {v: k for k, v in _TAG_SOURCE_TO_PROTO.items()}


def type_to_proto(rtype: str) -> int:
    return _TYPE_TO_PROTO[rtype]


def type_from_proto(value: int) -> str | None:
    """None for RESOURCE_TYPE_UNSPECIFIED (and any value this version does not know)."""
    return _PROTO_TO_TYPE.get(value)


def tag_source_to_proto(source: str) -> int:
    return _TAG_SOURCE_TO_PROTO.get(source, common_pb2.TAG_SOURCE_UNSPECIFIED)


def tag_source_from_proto(value: int) -> str:
    """Unspecified maps to '' so validation can name it."""
    return _PROTO_TO_TAG_SOURCE.get(value, "")


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts
