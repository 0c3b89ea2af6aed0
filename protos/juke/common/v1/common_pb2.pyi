import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOURCE_TYPE_UNSPECIFIED: _ClassVar[ResourceType]
    RESOURCE_TYPE_ARTIST: _ClassVar[ResourceType]
    RESOURCE_TYPE_ALBUM: _ClassVar[ResourceType]
    RESOURCE_TYPE_TRACK: _ClassVar[ResourceType]
    RESOURCE_TYPE_GENRE: _ClassVar[ResourceType]

class TagSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TAG_SOURCE_UNSPECIFIED: _ClassVar[TagSource]
    TAG_SOURCE_MUSICBRAINZ: _ClassVar[TagSource]
    TAG_SOURCE_INTERNAL: _ClassVar[TagSource]

class Environment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENVIRONMENT_UNSPECIFIED: _ClassVar[Environment]
    ENVIRONMENT_PRODUCTION: _ClassVar[Environment]
    ENVIRONMENT_RESEARCH: _ClassVar[Environment]
RESOURCE_TYPE_UNSPECIFIED: ResourceType
RESOURCE_TYPE_ARTIST: ResourceType
RESOURCE_TYPE_ALBUM: ResourceType
RESOURCE_TYPE_TRACK: ResourceType
RESOURCE_TYPE_GENRE: ResourceType
TAG_SOURCE_UNSPECIFIED: TagSource
TAG_SOURCE_MUSICBRAINZ: TagSource
TAG_SOURCE_INTERNAL: TagSource
ENVIRONMENT_UNSPECIFIED: Environment
ENVIRONMENT_PRODUCTION: Environment
ENVIRONMENT_RESEARCH: Environment

class ExternalId(_message.Message):
    __slots__ = ("source", "external_id")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    source: str
    external_id: str
    def __init__(self, source: _Optional[str] = ..., external_id: _Optional[str] = ...) -> None: ...

class Tag(_message.Message):
    __slots__ = ("name", "source", "weight", "dataset")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    name: str
    source: TagSource
    weight: float
    dataset: str
    def __init__(self, name: _Optional[str] = ..., source: _Optional[_Union[TagSource, str]] = ..., weight: _Optional[float] = ..., dataset: _Optional[str] = ...) -> None: ...

class ResourceSummary(_message.Message):
    __slots__ = ("type", "juke_id", "name", "uri", "mbid")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    JUKE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    MBID_FIELD_NUMBER: _ClassVar[int]
    type: ResourceType
    juke_id: str
    name: str
    uri: str
    mbid: str
    def __init__(self, type: _Optional[_Union[ResourceType, str]] = ..., juke_id: _Optional[str] = ..., name: _Optional[str] = ..., uri: _Optional[str] = ..., mbid: _Optional[str] = ...) -> None: ...

class PageRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class PageResponse(_message.Message):
    __slots__ = ("next_page_token", "total_size")
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    total_size: int
    def __init__(self, next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class RegistryModel(_message.Message):
    __slots__ = ("kind", "id", "label", "state", "active", "is_known_good", "training_set_hash", "production", "created_at", "activated_at", "training_data")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    IS_KNOWN_GOOD_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_FIELD_NUMBER: _ClassVar[int]
    kind: str
    id: str
    label: str
    state: str
    active: bool
    is_known_good: bool
    training_set_hash: str
    production: str
    created_at: _timestamp_pb2.Timestamp
    activated_at: _timestamp_pb2.Timestamp
    training_data: str
    def __init__(self, kind: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ..., state: _Optional[str] = ..., active: _Optional[bool] = ..., is_known_good: _Optional[bool] = ..., training_set_hash: _Optional[str] = ..., production: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., training_data: _Optional[str] = ...) -> None: ...

class ActivationLogEntry(_message.Message):
    __slots__ = ("kind", "model_id", "event", "path", "actor", "approved_by", "promotion_id", "gates_json", "training_set_hash", "previous_id", "detail", "recorded_at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_ID_FIELD_NUMBER: _ClassVar[int]
    GATES_JSON_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    model_id: str
    event: str
    path: str
    actor: str
    approved_by: str
    promotion_id: str
    gates_json: str
    training_set_hash: str
    previous_id: str
    detail: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[str] = ..., model_id: _Optional[str] = ..., event: _Optional[str] = ..., path: _Optional[str] = ..., actor: _Optional[str] = ..., approved_by: _Optional[str] = ..., promotion_id: _Optional[str] = ..., gates_json: _Optional[str] = ..., training_set_hash: _Optional[str] = ..., previous_id: _Optional[str] = ..., detail: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
