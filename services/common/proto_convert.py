"""Conversions between shared proto value types and plain Python values."""

from __future__ import annotations

import json
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from juke.common.v1 import common_pb2
from services.common.registry import LogEntry, RegisteredModel

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


def registry_model_pb(m: RegisteredModel) -> common_pb2.RegistryModel:
    production = "" if m.production_allowed is None else \
        ("allowed" if m.production_allowed else "refused")
    return common_pb2.RegistryModel(
        kind=m.kind, id=str(m.id), label=m.label, state=m.state, active=m.active,
        is_known_good=m.is_known_good, training_set_hash=m.training_set_hash,
        production=production, created_at=timestamp(m.created_at),
        activated_at=timestamp(m.activated_at), training_data=m.training_data)


def log_entry_pb(e: LogEntry) -> common_pb2.ActivationLogEntry:
    return common_pb2.ActivationLogEntry(
        kind=e.kind, model_id=str(e.model_id), event=e.event, path=e.path, actor=e.actor,
        approved_by=e.approved_by, promotion_id=e.promotion_id,
        gates_json=json.dumps(e.gates, sort_keys=True), training_set_hash=e.training_set_hash,
        previous_id=str(e.previous_id or ""), detail=e.detail,
        recorded_at=timestamp(e.recorded_at))
