import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from juke.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmbeddingModel(_message.Message):
    __slots__ = ("id", "name", "source_model", "embedding_dim", "training_corpus_hash", "version", "active", "is_known_good", "created_at", "weights_uri", "weights_sha256", "weights_license", "frontend_params_json", "available", "unavailable_reason", "activated_at", "artifact_hash", "training_data", "training_data_license")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    TRAINING_CORPUS_HASH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    IS_KNOWN_GOOD_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_URI_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SHA256_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_LICENSE_FIELD_NUMBER: _ClassVar[int]
    FRONTEND_PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_HASH_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_LICENSE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    source_model: str
    embedding_dim: int
    training_corpus_hash: str
    version: str
    active: bool
    is_known_good: bool
    created_at: _timestamp_pb2.Timestamp
    weights_uri: str
    weights_sha256: str
    weights_license: str
    frontend_params_json: str
    available: bool
    unavailable_reason: str
    activated_at: _timestamp_pb2.Timestamp
    artifact_hash: str
    training_data: str
    training_data_license: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., source_model: _Optional[str] = ..., embedding_dim: _Optional[int] = ..., training_corpus_hash: _Optional[str] = ..., version: _Optional[str] = ..., active: _Optional[bool] = ..., is_known_good: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., weights_uri: _Optional[str] = ..., weights_sha256: _Optional[str] = ..., weights_license: _Optional[str] = ..., frontend_params_json: _Optional[str] = ..., available: _Optional[bool] = ..., unavailable_reason: _Optional[str] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., artifact_hash: _Optional[str] = ..., training_data: _Optional[str] = ..., training_data_license: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[EmbeddingModel]
    def __init__(self, models: _Optional[_Iterable[_Union[EmbeddingModel, _Mapping]]] = ...) -> None: ...

class RegisterModelRequest(_message.Message):
    __slots__ = ("name", "source_model", "embedding_dim", "version", "training_corpus_hash", "weights_uri", "weights_sha256", "weights_license", "frontend_params_json", "training_data", "training_data_license")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_CORPUS_HASH_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_URI_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SHA256_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_LICENSE_FIELD_NUMBER: _ClassVar[int]
    FRONTEND_PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_LICENSE_FIELD_NUMBER: _ClassVar[int]
    name: str
    source_model: str
    embedding_dim: int
    version: str
    training_corpus_hash: str
    weights_uri: str
    weights_sha256: str
    weights_license: str
    frontend_params_json: str
    training_data: str
    training_data_license: str
    def __init__(self, name: _Optional[str] = ..., source_model: _Optional[str] = ..., embedding_dim: _Optional[int] = ..., version: _Optional[str] = ..., training_corpus_hash: _Optional[str] = ..., weights_uri: _Optional[str] = ..., weights_sha256: _Optional[str] = ..., weights_license: _Optional[str] = ..., frontend_params_json: _Optional[str] = ..., training_data: _Optional[str] = ..., training_data_license: _Optional[str] = ...) -> None: ...

class RegisterModelResponse(_message.Message):
    __slots__ = ("model", "created")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    model: EmbeddingModel
    created: bool
    def __init__(self, model: _Optional[_Union[EmbeddingModel, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ActivateModelRequest(_message.Message):
    __slots__ = ("model_id", "allow_unavailable", "requested_by")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    allow_unavailable: bool
    requested_by: str
    def __init__(self, model_id: _Optional[str] = ..., allow_unavailable: _Optional[bool] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ActivateModelResponse(_message.Message):
    __slots__ = ("model", "previous_model_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model: EmbeddingModel
    previous_model_id: str
    def __init__(self, model: _Optional[_Union[EmbeddingModel, _Mapping]] = ..., previous_model_id: _Optional[str] = ...) -> None: ...

class GetActiveModelRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetActiveModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: EmbeddingModel
    def __init__(self, model: _Optional[_Union[EmbeddingModel, _Mapping]] = ...) -> None: ...

class SearchNeighborsRequest(_message.Message):
    __slots__ = ("seed_ids", "resource_type", "k", "exclude_ids", "model_id", "query_vector", "include_vectors")
    SEED_IDS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_VECTOR_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_VECTORS_FIELD_NUMBER: _ClassVar[int]
    seed_ids: _containers.RepeatedScalarFieldContainer[str]
    resource_type: _common_pb2.ResourceType
    k: int
    exclude_ids: _containers.RepeatedScalarFieldContainer[str]
    model_id: str
    query_vector: _containers.RepeatedScalarFieldContainer[float]
    include_vectors: bool
    def __init__(self, seed_ids: _Optional[_Iterable[str]] = ..., resource_type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., k: _Optional[int] = ..., exclude_ids: _Optional[_Iterable[str]] = ..., model_id: _Optional[str] = ..., query_vector: _Optional[_Iterable[float]] = ..., include_vectors: _Optional[bool] = ...) -> None: ...

class Neighbor(_message.Message):
    __slots__ = ("juke_id", "similarity", "vector")
    JUKE_ID_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    juke_id: str
    similarity: float
    vector: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, juke_id: _Optional[str] = ..., similarity: _Optional[float] = ..., vector: _Optional[_Iterable[float]] = ...) -> None: ...

class SearchNeighborsResponse(_message.Message):
    __slots__ = ("neighbors", "model_id", "seeds_without_vectors")
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    SEEDS_WITHOUT_VECTORS_FIELD_NUMBER: _ClassVar[int]
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    model_id: str
    seeds_without_vectors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ..., model_id: _Optional[str] = ..., seeds_without_vectors: _Optional[_Iterable[str]] = ...) -> None: ...

class GetVectorsRequest(_message.Message):
    __slots__ = ("juke_ids", "model_id")
    JUKE_IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    juke_ids: _containers.RepeatedScalarFieldContainer[str]
    model_id: str
    def __init__(self, juke_ids: _Optional[_Iterable[str]] = ..., model_id: _Optional[str] = ...) -> None: ...

class ResourceVector(_message.Message):
    __slots__ = ("juke_id", "resource_type", "vector")
    JUKE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    juke_id: str
    resource_type: _common_pb2.ResourceType
    vector: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, juke_id: _Optional[str] = ..., resource_type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., vector: _Optional[_Iterable[float]] = ...) -> None: ...

class GetVectorsResponse(_message.Message):
    __slots__ = ("vectors", "model_id", "missing")
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    vectors: _containers.RepeatedCompositeFieldContainer[ResourceVector]
    model_id: str
    missing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, vectors: _Optional[_Iterable[_Union[ResourceVector, _Mapping]]] = ..., model_id: _Optional[str] = ..., missing: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCoverageRequest(_message.Message):
    __slots__ = ("model_id",)
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    def __init__(self, model_id: _Optional[str] = ...) -> None: ...

class GetCoverageResponse(_message.Message):
    __slots__ = ("model_id", "track_embeddings", "album_vectors", "artist_vectors", "index_built")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    ALBUM_VECTORS_FIELD_NUMBER: _ClassVar[int]
    ARTIST_VECTORS_FIELD_NUMBER: _ClassVar[int]
    INDEX_BUILT_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    track_embeddings: int
    album_vectors: int
    artist_vectors: int
    index_built: bool
    def __init__(self, model_id: _Optional[str] = ..., track_embeddings: _Optional[int] = ..., album_vectors: _Optional[int] = ..., artist_vectors: _Optional[int] = ..., index_built: _Optional[bool] = ...) -> None: ...

class MarkKnownGoodRequest(_message.Message):
    __slots__ = ("model_id",)
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    def __init__(self, model_id: _Optional[str] = ...) -> None: ...

class MarkKnownGoodResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: EmbeddingModel
    def __init__(self, model: _Optional[_Union[EmbeddingModel, _Mapping]] = ...) -> None: ...

class RollbackModelRequest(_message.Message):
    __slots__ = ("requested_by",)
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    requested_by: str
    def __init__(self, requested_by: _Optional[str] = ...) -> None: ...

class RollbackModelResponse(_message.Message):
    __slots__ = ("restored", "deactivated_model_id")
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATED_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    restored: EmbeddingModel
    deactivated_model_id: str
    def __init__(self, restored: _Optional[_Union[EmbeddingModel, _Mapping]] = ..., deactivated_model_id: _Optional[str] = ...) -> None: ...

class ExportArtifactsRequest(_message.Message):
    __slots__ = ("model_id",)
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    def __init__(self, model_id: _Optional[str] = ...) -> None: ...

class ExportArtifactsResponse(_message.Message):
    __slots__ = ("model", "vectors", "path")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    model: EmbeddingModel
    vectors: int
    path: str
    def __init__(self, model: _Optional[_Union[EmbeddingModel, _Mapping]] = ..., vectors: _Optional[int] = ..., path: _Optional[str] = ...) -> None: ...

class ListRegistryModelsRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: str
    def __init__(self, state: _Optional[str] = ...) -> None: ...

class ListRegistryModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.RegistryModel]
    def __init__(self, models: _Optional[_Iterable[_Union[_common_pb2.RegistryModel, _Mapping]]] = ...) -> None: ...

class GetModelHistoryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetModelHistoryResponse(_message.Message):
    __slots__ = ("model", "entries")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.RegistryModel
    entries: _containers.RepeatedCompositeFieldContainer[_common_pb2.ActivationLogEntry]
    def __init__(self, model: _Optional[_Union[_common_pb2.RegistryModel, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[_common_pb2.ActivationLogEntry, _Mapping]]] = ...) -> None: ...
