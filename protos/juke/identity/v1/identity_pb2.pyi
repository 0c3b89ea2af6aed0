import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from juke.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResolveFailure(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOLVE_FAILURE_UNSPECIFIED: _ClassVar[ResolveFailure]
    RESOLVE_FAILURE_MALFORMED: _ClassVar[ResolveFailure]
    RESOLVE_FAILURE_NOT_FOUND: _ClassVar[ResolveFailure]
RESOLVE_FAILURE_UNSPECIFIED: ResolveFailure
RESOLVE_FAILURE_MALFORMED: ResolveFailure
RESOLVE_FAILURE_NOT_FOUND: ResolveFailure

class Resource(_message.Message):
    __slots__ = ("type", "juke_id", "mbid", "name", "uri", "disambiguation", "external_ids", "tags", "artists", "album", "work_mbids", "genres", "duration_ms", "track_number", "release_date", "created_at", "updated_at")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    JUKE_ID_FIELD_NUMBER: _ClassVar[int]
    MBID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    DISAMBIGUATION_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ARTISTS_FIELD_NUMBER: _ClassVar[int]
    ALBUM_FIELD_NUMBER: _ClassVar[int]
    WORK_MBIDS_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TRACK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RELEASE_DATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    type: _common_pb2.ResourceType
    juke_id: str
    mbid: str
    name: str
    uri: str
    disambiguation: str
    external_ids: _containers.RepeatedCompositeFieldContainer[_common_pb2.ExternalId]
    tags: _containers.RepeatedCompositeFieldContainer[_common_pb2.Tag]
    artists: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceSummary]
    album: _common_pb2.ResourceSummary
    work_mbids: _containers.RepeatedScalarFieldContainer[str]
    genres: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceSummary]
    duration_ms: int
    track_number: int
    release_date: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., juke_id: _Optional[str] = ..., mbid: _Optional[str] = ..., name: _Optional[str] = ..., uri: _Optional[str] = ..., disambiguation: _Optional[str] = ..., external_ids: _Optional[_Iterable[_Union[_common_pb2.ExternalId, _Mapping]]] = ..., tags: _Optional[_Iterable[_Union[_common_pb2.Tag, _Mapping]]] = ..., artists: _Optional[_Iterable[_Union[_common_pb2.ResourceSummary, _Mapping]]] = ..., album: _Optional[_Union[_common_pb2.ResourceSummary, _Mapping]] = ..., work_mbids: _Optional[_Iterable[str]] = ..., genres: _Optional[_Iterable[_Union[_common_pb2.ResourceSummary, _Mapping]]] = ..., duration_ms: _Optional[int] = ..., track_number: _Optional[int] = ..., release_date: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetResourceRequest(_message.Message):
    __slots__ = ("type", "ref")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    type: _common_pb2.ResourceType
    ref: str
    def __init__(self, type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., ref: _Optional[str] = ...) -> None: ...

class GetResourceResponse(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ...) -> None: ...

class ResolveRef(_message.Message):
    __slots__ = ("ref", "type")
    REF_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ref: str
    type: _common_pb2.ResourceType
    def __init__(self, ref: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.ResourceType, str]] = ...) -> None: ...

class ResolveResult(_message.Message):
    __slots__ = ("ref", "found", "resource", "matched_by", "error", "failure")
    REF_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_BY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    ref: str
    found: bool
    resource: _common_pb2.ResourceSummary
    matched_by: str
    error: str
    failure: ResolveFailure
    def __init__(self, ref: _Optional[str] = ..., found: _Optional[bool] = ..., resource: _Optional[_Union[_common_pb2.ResourceSummary, _Mapping]] = ..., matched_by: _Optional[str] = ..., error: _Optional[str] = ..., failure: _Optional[_Union[ResolveFailure, str]] = ...) -> None: ...

class BatchResolveRequest(_message.Message):
    __slots__ = ("refs",)
    REFS_FIELD_NUMBER: _ClassVar[int]
    refs: _containers.RepeatedCompositeFieldContainer[ResolveRef]
    def __init__(self, refs: _Optional[_Iterable[_Union[ResolveRef, _Mapping]]] = ...) -> None: ...

class BatchResolveResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ResolveResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ResolveResult, _Mapping]]] = ...) -> None: ...

class SearchResourcesRequest(_message.Message):
    __slots__ = ("query", "types", "limit")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    query: str
    types: _containers.RepeatedScalarFieldContainer[_common_pb2.ResourceType]
    limit: int
    def __init__(self, query: _Optional[str] = ..., types: _Optional[_Iterable[_Union[_common_pb2.ResourceType, str]]] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("resource", "score", "context")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    resource: _common_pb2.ResourceSummary
    score: float
    context: str
    def __init__(self, resource: _Optional[_Union[_common_pb2.ResourceSummary, _Mapping]] = ..., score: _Optional[float] = ..., context: _Optional[str] = ...) -> None: ...

class SearchResourcesResponse(_message.Message):
    __slots__ = ("hits",)
    HITS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ...) -> None: ...

class TagInput(_message.Message):
    __slots__ = ("name", "source", "weight", "dataset")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    name: str
    source: _common_pb2.TagSource
    weight: float
    dataset: str
    def __init__(self, name: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.TagSource, str]] = ..., weight: _Optional[float] = ..., dataset: _Optional[str] = ...) -> None: ...

class ArtistInput(_message.Message):
    __slots__ = ("mbid", "name", "sort_name", "disambiguation", "external_ids", "tags", "genre_refs")
    MBID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SORT_NAME_FIELD_NUMBER: _ClassVar[int]
    DISAMBIGUATION_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GENRE_REFS_FIELD_NUMBER: _ClassVar[int]
    mbid: str
    name: str
    sort_name: str
    disambiguation: str
    external_ids: _containers.RepeatedCompositeFieldContainer[_common_pb2.ExternalId]
    tags: _containers.RepeatedCompositeFieldContainer[TagInput]
    genre_refs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mbid: _Optional[str] = ..., name: _Optional[str] = ..., sort_name: _Optional[str] = ..., disambiguation: _Optional[str] = ..., external_ids: _Optional[_Iterable[_Union[_common_pb2.ExternalId, _Mapping]]] = ..., tags: _Optional[_Iterable[_Union[TagInput, _Mapping]]] = ..., genre_refs: _Optional[_Iterable[str]] = ...) -> None: ...

class AlbumInput(_message.Message):
    __slots__ = ("mbid", "name", "artist_refs", "release_date", "disambiguation", "external_ids", "tags", "genre_refs")
    MBID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARTIST_REFS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_DATE_FIELD_NUMBER: _ClassVar[int]
    DISAMBIGUATION_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GENRE_REFS_FIELD_NUMBER: _ClassVar[int]
    mbid: str
    name: str
    artist_refs: _containers.RepeatedScalarFieldContainer[str]
    release_date: str
    disambiguation: str
    external_ids: _containers.RepeatedCompositeFieldContainer[_common_pb2.ExternalId]
    tags: _containers.RepeatedCompositeFieldContainer[TagInput]
    genre_refs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mbid: _Optional[str] = ..., name: _Optional[str] = ..., artist_refs: _Optional[_Iterable[str]] = ..., release_date: _Optional[str] = ..., disambiguation: _Optional[str] = ..., external_ids: _Optional[_Iterable[_Union[_common_pb2.ExternalId, _Mapping]]] = ..., tags: _Optional[_Iterable[_Union[TagInput, _Mapping]]] = ..., genre_refs: _Optional[_Iterable[str]] = ...) -> None: ...

class TrackInput(_message.Message):
    __slots__ = ("mbid", "name", "album_ref", "artist_refs", "duration_ms", "track_number", "work_mbids", "disambiguation", "external_ids", "tags", "genre_refs")
    MBID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALBUM_REF_FIELD_NUMBER: _ClassVar[int]
    ARTIST_REFS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TRACK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    WORK_MBIDS_FIELD_NUMBER: _ClassVar[int]
    DISAMBIGUATION_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GENRE_REFS_FIELD_NUMBER: _ClassVar[int]
    mbid: str
    name: str
    album_ref: str
    artist_refs: _containers.RepeatedScalarFieldContainer[str]
    duration_ms: int
    track_number: int
    work_mbids: _containers.RepeatedScalarFieldContainer[str]
    disambiguation: str
    external_ids: _containers.RepeatedCompositeFieldContainer[_common_pb2.ExternalId]
    tags: _containers.RepeatedCompositeFieldContainer[TagInput]
    genre_refs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mbid: _Optional[str] = ..., name: _Optional[str] = ..., album_ref: _Optional[str] = ..., artist_refs: _Optional[_Iterable[str]] = ..., duration_ms: _Optional[int] = ..., track_number: _Optional[int] = ..., work_mbids: _Optional[_Iterable[str]] = ..., disambiguation: _Optional[str] = ..., external_ids: _Optional[_Iterable[_Union[_common_pb2.ExternalId, _Mapping]]] = ..., tags: _Optional[_Iterable[_Union[TagInput, _Mapping]]] = ..., genre_refs: _Optional[_Iterable[str]] = ...) -> None: ...

class GenreInput(_message.Message):
    __slots__ = ("mbid", "name", "disambiguation", "external_ids")
    MBID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISAMBIGUATION_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    mbid: str
    name: str
    disambiguation: str
    external_ids: _containers.RepeatedCompositeFieldContainer[_common_pb2.ExternalId]
    def __init__(self, mbid: _Optional[str] = ..., name: _Optional[str] = ..., disambiguation: _Optional[str] = ..., external_ids: _Optional[_Iterable[_Union[_common_pb2.ExternalId, _Mapping]]] = ...) -> None: ...

class UpsertResult(_message.Message):
    __slots__ = ("juke_id", "created", "uri")
    JUKE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    juke_id: str
    created: bool
    uri: str
    def __init__(self, juke_id: _Optional[str] = ..., created: _Optional[bool] = ..., uri: _Optional[str] = ...) -> None: ...

class UpsertArtistsRequest(_message.Message):
    __slots__ = ("artists",)
    ARTISTS_FIELD_NUMBER: _ClassVar[int]
    artists: _containers.RepeatedCompositeFieldContainer[ArtistInput]
    def __init__(self, artists: _Optional[_Iterable[_Union[ArtistInput, _Mapping]]] = ...) -> None: ...

class UpsertArtistsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[UpsertResult]
    def __init__(self, results: _Optional[_Iterable[_Union[UpsertResult, _Mapping]]] = ...) -> None: ...

class UpsertAlbumsRequest(_message.Message):
    __slots__ = ("albums",)
    ALBUMS_FIELD_NUMBER: _ClassVar[int]
    albums: _containers.RepeatedCompositeFieldContainer[AlbumInput]
    def __init__(self, albums: _Optional[_Iterable[_Union[AlbumInput, _Mapping]]] = ...) -> None: ...

class UpsertAlbumsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[UpsertResult]
    def __init__(self, results: _Optional[_Iterable[_Union[UpsertResult, _Mapping]]] = ...) -> None: ...

class UpsertTracksRequest(_message.Message):
    __slots__ = ("tracks",)
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    tracks: _containers.RepeatedCompositeFieldContainer[TrackInput]
    def __init__(self, tracks: _Optional[_Iterable[_Union[TrackInput, _Mapping]]] = ...) -> None: ...

class UpsertTracksResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[UpsertResult]
    def __init__(self, results: _Optional[_Iterable[_Union[UpsertResult, _Mapping]]] = ...) -> None: ...

class UpsertGenresRequest(_message.Message):
    __slots__ = ("genres",)
    GENRES_FIELD_NUMBER: _ClassVar[int]
    genres: _containers.RepeatedCompositeFieldContainer[GenreInput]
    def __init__(self, genres: _Optional[_Iterable[_Union[GenreInput, _Mapping]]] = ...) -> None: ...

class UpsertGenresResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[UpsertResult]
    def __init__(self, results: _Optional[_Iterable[_Union[UpsertResult, _Mapping]]] = ...) -> None: ...

class ResourceTags(_message.Message):
    __slots__ = ("ref", "type", "tags")
    REF_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    type: _common_pb2.ResourceType
    tags: _containers.RepeatedCompositeFieldContainer[TagInput]
    def __init__(self, ref: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., tags: _Optional[_Iterable[_Union[TagInput, _Mapping]]] = ...) -> None: ...

class AddTagsRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ResourceTags]
    def __init__(self, items: _Optional[_Iterable[_Union[ResourceTags, _Mapping]]] = ...) -> None: ...

class AddTagsResponse(_message.Message):
    __slots__ = ("tags_written",)
    TAGS_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    tags_written: int
    def __init__(self, tags_written: _Optional[int] = ...) -> None: ...

class ExportCatalogRequest(_message.Message):
    __slots__ = ("chunk_size",)
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    chunk_size: int
    def __init__(self, chunk_size: _Optional[int] = ...) -> None: ...

class ExportCatalogResponse(_message.Message):
    __slots__ = ("chunk",)
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    chunk: CatalogChunk
    def __init__(self, chunk: _Optional[_Union[CatalogChunk, _Mapping]] = ...) -> None: ...

class CatalogChunk(_message.Message):
    __slots__ = ("type", "juke_ids", "names", "duration_ms", "release_dates", "album_ids", "artist_of", "artist_ids", "work_of", "work_mbids", "genre_of", "genre_ids", "tag_of", "tag_names", "tag_sources", "tag_weights", "tag_datasets")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    JUKE_IDS_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_DATES_FIELD_NUMBER: _ClassVar[int]
    ALBUM_IDS_FIELD_NUMBER: _ClassVar[int]
    ARTIST_OF_FIELD_NUMBER: _ClassVar[int]
    ARTIST_IDS_FIELD_NUMBER: _ClassVar[int]
    WORK_OF_FIELD_NUMBER: _ClassVar[int]
    WORK_MBIDS_FIELD_NUMBER: _ClassVar[int]
    GENRE_OF_FIELD_NUMBER: _ClassVar[int]
    GENRE_IDS_FIELD_NUMBER: _ClassVar[int]
    TAG_OF_FIELD_NUMBER: _ClassVar[int]
    TAG_NAMES_FIELD_NUMBER: _ClassVar[int]
    TAG_SOURCES_FIELD_NUMBER: _ClassVar[int]
    TAG_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    TAG_DATASETS_FIELD_NUMBER: _ClassVar[int]
    type: _common_pb2.ResourceType
    juke_ids: _containers.RepeatedScalarFieldContainer[str]
    names: _containers.RepeatedScalarFieldContainer[str]
    duration_ms: _containers.RepeatedScalarFieldContainer[int]
    release_dates: _containers.RepeatedScalarFieldContainer[str]
    album_ids: _containers.RepeatedScalarFieldContainer[str]
    artist_of: _containers.RepeatedScalarFieldContainer[int]
    artist_ids: _containers.RepeatedScalarFieldContainer[str]
    work_of: _containers.RepeatedScalarFieldContainer[int]
    work_mbids: _containers.RepeatedScalarFieldContainer[str]
    genre_of: _containers.RepeatedScalarFieldContainer[int]
    genre_ids: _containers.RepeatedScalarFieldContainer[str]
    tag_of: _containers.RepeatedScalarFieldContainer[int]
    tag_names: _containers.RepeatedScalarFieldContainer[str]
    tag_sources: _containers.RepeatedScalarFieldContainer[_common_pb2.TagSource]
    tag_weights: _containers.RepeatedScalarFieldContainer[float]
    tag_datasets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., juke_ids: _Optional[_Iterable[str]] = ..., names: _Optional[_Iterable[str]] = ..., duration_ms: _Optional[_Iterable[int]] = ..., release_dates: _Optional[_Iterable[str]] = ..., album_ids: _Optional[_Iterable[str]] = ..., artist_of: _Optional[_Iterable[int]] = ..., artist_ids: _Optional[_Iterable[str]] = ..., work_of: _Optional[_Iterable[int]] = ..., work_mbids: _Optional[_Iterable[str]] = ..., genre_of: _Optional[_Iterable[int]] = ..., genre_ids: _Optional[_Iterable[str]] = ..., tag_of: _Optional[_Iterable[int]] = ..., tag_names: _Optional[_Iterable[str]] = ..., tag_sources: _Optional[_Iterable[_Union[_common_pb2.TagSource, str]]] = ..., tag_weights: _Optional[_Iterable[float]] = ..., tag_datasets: _Optional[_Iterable[str]] = ...) -> None: ...

class ListResourcesRequest(_message.Message):
    __slots__ = ("type", "page")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    type: _common_pb2.ResourceType
    page: _common_pb2.PageRequest
    def __init__(self, type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListResourcesResponse(_message.Message):
    __slots__ = ("resources", "page")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[Resource]
    page: _common_pb2.PageResponse
    def __init__(self, resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetCatalogStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCatalogStatsResponse(_message.Message):
    __slots__ = ("artists", "albums", "tracks", "genres", "external_ids", "tags", "revision", "catalog_id")
    ARTISTS_FIELD_NUMBER: _ClassVar[int]
    ALBUMS_FIELD_NUMBER: _ClassVar[int]
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CATALOG_ID_FIELD_NUMBER: _ClassVar[int]
    artists: int
    albums: int
    tracks: int
    genres: int
    external_ids: int
    tags: int
    revision: int
    catalog_id: str
    def __init__(self, artists: _Optional[int] = ..., albums: _Optional[int] = ..., tracks: _Optional[int] = ..., genres: _Optional[int] = ..., external_ids: _Optional[int] = ..., tags: _Optional[int] = ..., revision: _Optional[int] = ..., catalog_id: _Optional[str] = ...) -> None: ...
