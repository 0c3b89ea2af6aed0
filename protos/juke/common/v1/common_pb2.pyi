from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
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
