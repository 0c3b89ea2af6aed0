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

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_PLAY: _ClassVar[EventType]
    EVENT_TYPE_COMPLETE: _ClassVar[EventType]
    EVENT_TYPE_SKIP: _ClassVar[EventType]
    EVENT_TYPE_LIKE: _ClassVar[EventType]
    EVENT_TYPE_DISLIKE: _ClassVar[EventType]
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_PLAY: EventType
EVENT_TYPE_COMPLETE: EventType
EVENT_TYPE_SKIP: EventType
EVENT_TYPE_LIKE: EventType
EVENT_TYPE_DISLIKE: EventType

class RecommendQuery(_message.Message):
    __slots__ = ("seed_item_ids", "exclude_ids", "limit", "resource_types", "profile_ids")
    SEED_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_IDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    seed_item_ids: _containers.RepeatedScalarFieldContainer[str]
    exclude_ids: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    resource_types: _containers.RepeatedScalarFieldContainer[_common_pb2.ResourceType]
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, seed_item_ids: _Optional[_Iterable[str]] = ..., exclude_ids: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ..., resource_types: _Optional[_Iterable[_Union[_common_pb2.ResourceType, str]]] = ..., profile_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Contribution(_message.Message):
    __slots__ = ("signal", "rule", "raw", "normalised", "weight", "contribution", "reason", "seed_ids")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    NORMALISED_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SEED_IDS_FIELD_NUMBER: _ClassVar[int]
    signal: str
    rule: str
    raw: float
    normalised: float
    weight: float
    contribution: float
    reason: str
    seed_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, signal: _Optional[str] = ..., rule: _Optional[str] = ..., raw: _Optional[float] = ..., normalised: _Optional[float] = ..., weight: _Optional[float] = ..., contribution: _Optional[float] = ..., reason: _Optional[str] = ..., seed_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RecommendedItem(_message.Message):
    __slots__ = ("resource", "content_score", "metadata_score", "cooccurrence_score", "final_score", "model_version", "weight_config_id", "mmr_score", "explanation", "details", "collaborative_score")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SCORE_FIELD_NUMBER: _ClassVar[int]
    METADATA_SCORE_FIELD_NUMBER: _ClassVar[int]
    COOCCURRENCE_SCORE_FIELD_NUMBER: _ClassVar[int]
    FINAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_CONFIG_ID_FIELD_NUMBER: _ClassVar[int]
    MMR_SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    COLLABORATIVE_SCORE_FIELD_NUMBER: _ClassVar[int]
    resource: _common_pb2.ResourceSummary
    content_score: float
    metadata_score: float
    cooccurrence_score: float
    final_score: float
    model_version: str
    weight_config_id: str
    mmr_score: float
    explanation: _containers.RepeatedCompositeFieldContainer[Contribution]
    details: ItemDetails
    collaborative_score: float
    def __init__(self, resource: _Optional[_Union[_common_pb2.ResourceSummary, _Mapping]] = ..., content_score: _Optional[float] = ..., metadata_score: _Optional[float] = ..., cooccurrence_score: _Optional[float] = ..., final_score: _Optional[float] = ..., model_version: _Optional[str] = ..., weight_config_id: _Optional[str] = ..., mmr_score: _Optional[float] = ..., explanation: _Optional[_Iterable[_Union[Contribution, _Mapping]]] = ..., details: _Optional[_Union[ItemDetails, _Mapping]] = ..., collaborative_score: _Optional[float] = ...) -> None: ...

class ItemDetails(_message.Message):
    __slots__ = ("artist_names", "album_name", "duration_ms", "release_year")
    ARTIST_NAMES_FIELD_NUMBER: _ClassVar[int]
    ALBUM_NAME_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_YEAR_FIELD_NUMBER: _ClassVar[int]
    artist_names: _containers.RepeatedScalarFieldContainer[str]
    album_name: str
    duration_ms: int
    release_year: int
    def __init__(self, artist_names: _Optional[_Iterable[str]] = ..., album_name: _Optional[str] = ..., duration_ms: _Optional[int] = ..., release_year: _Optional[int] = ...) -> None: ...

class ModelBundle(_message.Message):
    __slots__ = ("embedding_model_id", "embedding_model", "cooccurrence_model_id", "cooccurrence_model", "weight_config_id", "w_content", "w_metadata", "w_cooccurrence", "lambda_mmr", "cf_model_id", "cf_model", "w_collaborative", "reranker")
    EMBEDDING_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    COOCCURRENCE_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    COOCCURRENCE_MODEL_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_CONFIG_ID_FIELD_NUMBER: _ClassVar[int]
    W_CONTENT_FIELD_NUMBER: _ClassVar[int]
    W_METADATA_FIELD_NUMBER: _ClassVar[int]
    W_COOCCURRENCE_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_MMR_FIELD_NUMBER: _ClassVar[int]
    CF_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    CF_MODEL_FIELD_NUMBER: _ClassVar[int]
    W_COLLABORATIVE_FIELD_NUMBER: _ClassVar[int]
    RERANKER_FIELD_NUMBER: _ClassVar[int]
    embedding_model_id: str
    embedding_model: str
    cooccurrence_model_id: str
    cooccurrence_model: str
    weight_config_id: str
    w_content: float
    w_metadata: float
    w_cooccurrence: float
    lambda_mmr: float
    cf_model_id: str
    cf_model: str
    w_collaborative: float
    reranker: str
    def __init__(self, embedding_model_id: _Optional[str] = ..., embedding_model: _Optional[str] = ..., cooccurrence_model_id: _Optional[str] = ..., cooccurrence_model: _Optional[str] = ..., weight_config_id: _Optional[str] = ..., w_content: _Optional[float] = ..., w_metadata: _Optional[float] = ..., w_cooccurrence: _Optional[float] = ..., lambda_mmr: _Optional[float] = ..., cf_model_id: _Optional[str] = ..., cf_model: _Optional[str] = ..., w_collaborative: _Optional[float] = ..., reranker: _Optional[str] = ...) -> None: ...

class RecommendResult(_message.Message):
    __slots__ = ("items", "bundle", "empty_signals", "seeds", "cached")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    EMPTY_SIGNALS_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RecommendedItem]
    bundle: ModelBundle
    empty_signals: _containers.RepeatedScalarFieldContainer[str]
    seeds: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceSummary]
    cached: bool
    def __init__(self, items: _Optional[_Iterable[_Union[RecommendedItem, _Mapping]]] = ..., bundle: _Optional[_Union[ModelBundle, _Mapping]] = ..., empty_signals: _Optional[_Iterable[str]] = ..., seeds: _Optional[_Iterable[_Union[_common_pb2.ResourceSummary, _Mapping]]] = ..., cached: _Optional[bool] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("query",)
    QUERY_FIELD_NUMBER: _ClassVar[int]
    query: RecommendQuery
    def __init__(self, query: _Optional[_Union[RecommendQuery, _Mapping]] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: RecommendResult
    def __init__(self, result: _Optional[_Union[RecommendResult, _Mapping]] = ...) -> None: ...

class RecommendMetadataRequest(_message.Message):
    __slots__ = ("query",)
    QUERY_FIELD_NUMBER: _ClassVar[int]
    query: RecommendQuery
    def __init__(self, query: _Optional[_Union[RecommendQuery, _Mapping]] = ...) -> None: ...

class RecommendMetadataResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: RecommendResult
    def __init__(self, result: _Optional[_Union[RecommendResult, _Mapping]] = ...) -> None: ...

class RecommendCooccurrenceRequest(_message.Message):
    __slots__ = ("query",)
    QUERY_FIELD_NUMBER: _ClassVar[int]
    query: RecommendQuery
    def __init__(self, query: _Optional[_Union[RecommendQuery, _Mapping]] = ...) -> None: ...

class RecommendCooccurrenceResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: RecommendResult
    def __init__(self, result: _Optional[_Union[RecommendResult, _Mapping]] = ...) -> None: ...

class RecommendContentRequest(_message.Message):
    __slots__ = ("query",)
    QUERY_FIELD_NUMBER: _ClassVar[int]
    query: RecommendQuery
    def __init__(self, query: _Optional[_Union[RecommendQuery, _Mapping]] = ...) -> None: ...

class RecommendContentResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: RecommendResult
    def __init__(self, result: _Optional[_Union[RecommendResult, _Mapping]] = ...) -> None: ...

class WeightConfig(_message.Message):
    __slots__ = ("id", "w_content", "w_metadata", "w_cooccurrence", "lambda_mmr", "active", "description", "created_at", "w_collaborative")
    ID_FIELD_NUMBER: _ClassVar[int]
    W_CONTENT_FIELD_NUMBER: _ClassVar[int]
    W_METADATA_FIELD_NUMBER: _ClassVar[int]
    W_COOCCURRENCE_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_MMR_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    W_COLLABORATIVE_FIELD_NUMBER: _ClassVar[int]
    id: str
    w_content: float
    w_metadata: float
    w_cooccurrence: float
    lambda_mmr: float
    active: bool
    description: str
    created_at: _timestamp_pb2.Timestamp
    w_collaborative: float
    def __init__(self, id: _Optional[str] = ..., w_content: _Optional[float] = ..., w_metadata: _Optional[float] = ..., w_cooccurrence: _Optional[float] = ..., lambda_mmr: _Optional[float] = ..., active: _Optional[bool] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., w_collaborative: _Optional[float] = ...) -> None: ...

class ListWeightConfigsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWeightConfigsResponse(_message.Message):
    __slots__ = ("configs",)
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    configs: _containers.RepeatedCompositeFieldContainer[WeightConfig]
    def __init__(self, configs: _Optional[_Iterable[_Union[WeightConfig, _Mapping]]] = ...) -> None: ...

class CreateWeightConfigRequest(_message.Message):
    __slots__ = ("w_content", "w_metadata", "w_cooccurrence", "lambda_mmr", "description", "w_collaborative")
    W_CONTENT_FIELD_NUMBER: _ClassVar[int]
    W_METADATA_FIELD_NUMBER: _ClassVar[int]
    W_COOCCURRENCE_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_MMR_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    W_COLLABORATIVE_FIELD_NUMBER: _ClassVar[int]
    w_content: float
    w_metadata: float
    w_cooccurrence: float
    lambda_mmr: float
    description: str
    w_collaborative: float
    def __init__(self, w_content: _Optional[float] = ..., w_metadata: _Optional[float] = ..., w_cooccurrence: _Optional[float] = ..., lambda_mmr: _Optional[float] = ..., description: _Optional[str] = ..., w_collaborative: _Optional[float] = ...) -> None: ...

class CreateWeightConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: WeightConfig
    def __init__(self, config: _Optional[_Union[WeightConfig, _Mapping]] = ...) -> None: ...

class ActivateWeightConfigRequest(_message.Message):
    __slots__ = ("id", "requested_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    requested_by: str
    def __init__(self, id: _Optional[str] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ActivateWeightConfigResponse(_message.Message):
    __slots__ = ("config", "previous_id")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ID_FIELD_NUMBER: _ClassVar[int]
    config: WeightConfig
    previous_id: str
    def __init__(self, config: _Optional[_Union[WeightConfig, _Mapping]] = ..., previous_id: _Optional[str] = ...) -> None: ...

class CooccurrenceModel(_message.Message):
    __slots__ = ("id", "version", "training_set_hash", "item_type", "pairs", "active", "is_known_good", "production_allowed", "params_json", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    ITEM_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    IS_KNOWN_GOOD_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: str
    training_set_hash: str
    item_type: str
    pairs: int
    active: bool
    is_known_good: bool
    production_allowed: bool
    params_json: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., version: _Optional[str] = ..., training_set_hash: _Optional[str] = ..., item_type: _Optional[str] = ..., pairs: _Optional[int] = ..., active: _Optional[bool] = ..., is_known_good: _Optional[bool] = ..., production_allowed: _Optional[bool] = ..., params_json: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCooccurrenceModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCooccurrenceModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[CooccurrenceModel]
    def __init__(self, models: _Optional[_Iterable[_Union[CooccurrenceModel, _Mapping]]] = ...) -> None: ...

class ActivateCooccurrenceModelRequest(_message.Message):
    __slots__ = ("id", "requested_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    requested_by: str
    def __init__(self, id: _Optional[str] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ActivateCooccurrenceModelResponse(_message.Message):
    __slots__ = ("model", "previous_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ID_FIELD_NUMBER: _ClassVar[int]
    model: CooccurrenceModel
    previous_id: str
    def __init__(self, model: _Optional[_Union[CooccurrenceModel, _Mapping]] = ..., previous_id: _Optional[str] = ...) -> None: ...

class RefreshFeaturesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RefreshFeaturesResponse(_message.Message):
    __slots__ = ("resources", "features_version", "seconds")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    FEATURES_VERSION_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    resources: int
    features_version: str
    seconds: float
    def __init__(self, resources: _Optional[int] = ..., features_version: _Optional[str] = ..., seconds: _Optional[float] = ...) -> None: ...

class MarkCooccurrenceKnownGoodRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class MarkCooccurrenceKnownGoodResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: CooccurrenceModel
    def __init__(self, model: _Optional[_Union[CooccurrenceModel, _Mapping]] = ...) -> None: ...

class RollbackCooccurrenceModelRequest(_message.Message):
    __slots__ = ("requested_by",)
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    requested_by: str
    def __init__(self, requested_by: _Optional[str] = ...) -> None: ...

class RollbackCooccurrenceModelResponse(_message.Message):
    __slots__ = ("restored", "deactivated_id")
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATED_ID_FIELD_NUMBER: _ClassVar[int]
    restored: CooccurrenceModel
    deactivated_id: str
    def __init__(self, restored: _Optional[_Union[CooccurrenceModel, _Mapping]] = ..., deactivated_id: _Optional[str] = ...) -> None: ...

class HealthMetric(_message.Message):
    __slots__ = ("name", "value", "model_id", "metadata_json", "recorded_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    model_id: str
    metadata_json: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., model_id: _Optional[str] = ..., metadata_json: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetModelHealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetModelHealthResponse(_message.Message):
    __slots__ = ("metrics", "bundle")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedCompositeFieldContainer[HealthMetric]
    bundle: ModelBundle
    def __init__(self, metrics: _Optional[_Iterable[_Union[HealthMetric, _Mapping]]] = ..., bundle: _Optional[_Union[ModelBundle, _Mapping]] = ...) -> None: ...

class ListeningEvent(_message.Message):
    __slots__ = ("user_id", "item", "type", "occurred_at", "idempotency_key", "session_id", "context")
    class ContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    item: str
    type: EventType
    occurred_at: _timestamp_pb2.Timestamp
    idempotency_key: str
    session_id: str
    context: _containers.ScalarMap[str, str]
    def __init__(self, user_id: _Optional[str] = ..., item: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., session_id: _Optional[str] = ..., context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RecordEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ListeningEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[ListeningEvent, _Mapping]]] = ...) -> None: ...

class RecordEventsResponse(_message.Message):
    __slots__ = ("accepted", "duplicates", "item_ids")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RecommendForUserRequest(_message.Message):
    __slots__ = ("user_id", "limit", "genre")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    limit: int
    genre: str
    def __init__(self, user_id: _Optional[str] = ..., limit: _Optional[int] = ..., genre: _Optional[str] = ...) -> None: ...

class RecommendForUserResponse(_message.Message):
    __slots__ = ("result", "path", "qualifying_interactions", "cf_model_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    QUALIFYING_INTERACTIONS_FIELD_NUMBER: _ClassVar[int]
    CF_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    result: RecommendResult
    path: str
    qualifying_interactions: int
    cf_model_id: str
    def __init__(self, result: _Optional[_Union[RecommendResult, _Mapping]] = ..., path: _Optional[str] = ..., qualifying_interactions: _Optional[int] = ..., cf_model_id: _Optional[str] = ...) -> None: ...

class CfModel(_message.Message):
    __slots__ = ("id", "version", "training_set_hash", "item_type", "items", "factors", "active", "is_known_good", "production_allowed", "params_json", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    ITEM_TYPE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    FACTORS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    IS_KNOWN_GOOD_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: str
    training_set_hash: str
    item_type: str
    items: int
    factors: int
    active: bool
    is_known_good: bool
    production_allowed: bool
    params_json: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., version: _Optional[str] = ..., training_set_hash: _Optional[str] = ..., item_type: _Optional[str] = ..., items: _Optional[int] = ..., factors: _Optional[int] = ..., active: _Optional[bool] = ..., is_known_good: _Optional[bool] = ..., production_allowed: _Optional[bool] = ..., params_json: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCfModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCfModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[CfModel]
    def __init__(self, models: _Optional[_Iterable[_Union[CfModel, _Mapping]]] = ...) -> None: ...

class ActivateCfModelRequest(_message.Message):
    __slots__ = ("id", "requested_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    requested_by: str
    def __init__(self, id: _Optional[str] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ActivateCfModelResponse(_message.Message):
    __slots__ = ("model", "previous_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ID_FIELD_NUMBER: _ClassVar[int]
    model: CfModel
    previous_id: str
    def __init__(self, model: _Optional[_Union[CfModel, _Mapping]] = ..., previous_id: _Optional[str] = ...) -> None: ...

class TasteProfile(_message.Message):
    __slots__ = ("id", "user_id", "name", "favourites", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FAVOURITES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    name: str
    favourites: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceSummary]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., name: _Optional[str] = ..., favourites: _Optional[_Iterable[_Union[_common_pb2.ResourceSummary, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTasteProfileRequest(_message.Message):
    __slots__ = ("user_id", "name", "favourites")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FAVOURITES_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    name: str
    favourites: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user_id: _Optional[str] = ..., name: _Optional[str] = ..., favourites: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateTasteProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: TasteProfile
    def __init__(self, profile: _Optional[_Union[TasteProfile, _Mapping]] = ...) -> None: ...

class GetTasteProfileRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTasteProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: TasteProfile
    def __init__(self, profile: _Optional[_Union[TasteProfile, _Mapping]] = ...) -> None: ...

class UpdateTasteProfileRequest(_message.Message):
    __slots__ = ("id", "name", "favourites")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FAVOURITES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    favourites: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., favourites: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateTasteProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: TasteProfile
    def __init__(self, profile: _Optional[_Union[TasteProfile, _Mapping]] = ...) -> None: ...

class ListTasteProfilesRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class ListTasteProfilesResponse(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[TasteProfile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[TasteProfile, _Mapping]]] = ...) -> None: ...

class DeleteTasteProfileRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteTasteProfileResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RadioSession(_message.Message):
    __slots__ = ("id", "user_id", "seeds", "resource_type", "artist_limit", "artist_window", "served", "skips", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ARTIST_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ARTIST_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SERVED_FIELD_NUMBER: _ClassVar[int]
    SKIPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    seeds: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceSummary]
    resource_type: _common_pb2.ResourceType
    artist_limit: int
    artist_window: int
    served: int
    skips: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., seeds: _Optional[_Iterable[_Union[_common_pb2.ResourceSummary, _Mapping]]] = ..., resource_type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., artist_limit: _Optional[int] = ..., artist_window: _Optional[int] = ..., served: _Optional[int] = ..., skips: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartRadioRequest(_message.Message):
    __slots__ = ("seed_item_ids", "profile_ids", "user_id", "resource_type", "artist_limit", "artist_window")
    SEED_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ARTIST_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ARTIST_WINDOW_FIELD_NUMBER: _ClassVar[int]
    seed_item_ids: _containers.RepeatedScalarFieldContainer[str]
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    user_id: str
    resource_type: _common_pb2.ResourceType
    artist_limit: int
    artist_window: int
    def __init__(self, seed_item_ids: _Optional[_Iterable[str]] = ..., profile_ids: _Optional[_Iterable[str]] = ..., user_id: _Optional[str] = ..., resource_type: _Optional[_Union[_common_pb2.ResourceType, str]] = ..., artist_limit: _Optional[int] = ..., artist_window: _Optional[int] = ...) -> None: ...

class StartRadioResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: RadioSession
    def __init__(self, session: _Optional[_Union[RadioSession, _Mapping]] = ...) -> None: ...

class NextRadioRequest(_message.Message):
    __slots__ = ("session_id", "n")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    n: int
    def __init__(self, session_id: _Optional[str] = ..., n: _Optional[int] = ...) -> None: ...

class NextRadioResponse(_message.Message):
    __slots__ = ("session", "items", "bundle", "skipped_item_ids")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    session: RadioSession
    items: _containers.RepeatedCompositeFieldContainer[RecommendedItem]
    bundle: ModelBundle
    skipped_item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session: _Optional[_Union[RadioSession, _Mapping]] = ..., items: _Optional[_Iterable[_Union[RecommendedItem, _Mapping]]] = ..., bundle: _Optional[_Union[ModelBundle, _Mapping]] = ..., skipped_item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DailyMix(_message.Message):
    __slots__ = ("index", "title", "top_tags", "seeds", "items")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TOP_TAGS_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    index: int
    title: str
    top_tags: _containers.RepeatedScalarFieldContainer[str]
    seeds: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceSummary]
    items: _containers.RepeatedCompositeFieldContainer[RecommendedItem]
    def __init__(self, index: _Optional[int] = ..., title: _Optional[str] = ..., top_tags: _Optional[_Iterable[str]] = ..., seeds: _Optional[_Iterable[_Union[_common_pb2.ResourceSummary, _Mapping]]] = ..., items: _Optional[_Iterable[_Union[RecommendedItem, _Mapping]]] = ...) -> None: ...

class GetDailyMixesRequest(_message.Message):
    __slots__ = ("user_id", "max_mixes", "mix_size")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_MIXES_FIELD_NUMBER: _ClassVar[int]
    MIX_SIZE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    max_mixes: int
    mix_size: int
    def __init__(self, user_id: _Optional[str] = ..., max_mixes: _Optional[int] = ..., mix_size: _Optional[int] = ...) -> None: ...

class GetDailyMixesResponse(_message.Message):
    __slots__ = ("mixes", "bundle", "history_items")
    MIXES_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ITEMS_FIELD_NUMBER: _ClassVar[int]
    mixes: _containers.RepeatedCompositeFieldContainer[DailyMix]
    bundle: ModelBundle
    history_items: int
    def __init__(self, mixes: _Optional[_Iterable[_Union[DailyMix, _Mapping]]] = ..., bundle: _Optional[_Union[ModelBundle, _Mapping]] = ..., history_items: _Optional[int] = ...) -> None: ...

class WeightedResource(_message.Message):
    __slots__ = ("resource", "weight")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    resource: _common_pb2.ResourceSummary
    weight: float
    def __init__(self, resource: _Optional[_Union[_common_pb2.ResourceSummary, _Mapping]] = ..., weight: _Optional[float] = ...) -> None: ...

class WeightedTag(_message.Message):
    __slots__ = ("tag", "weight")
    TAG_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    tag: str
    weight: float
    def __init__(self, tag: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class GetTasteRequest(_message.Message):
    __slots__ = ("user_id", "limit")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    limit: int
    def __init__(self, user_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class GetTasteResponse(_message.Message):
    __slots__ = ("user_id", "qualifying_interactions", "top_genres", "top_tags", "top_artists", "audio_neighbourhood", "embedding_model", "embedded_items", "diversity", "diversity_basis")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    QUALIFYING_INTERACTIONS_FIELD_NUMBER: _ClassVar[int]
    TOP_GENRES_FIELD_NUMBER: _ClassVar[int]
    TOP_TAGS_FIELD_NUMBER: _ClassVar[int]
    TOP_ARTISTS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_NEIGHBOURHOOD_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    DIVERSITY_FIELD_NUMBER: _ClassVar[int]
    DIVERSITY_BASIS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    qualifying_interactions: int
    top_genres: _containers.RepeatedCompositeFieldContainer[WeightedResource]
    top_tags: _containers.RepeatedCompositeFieldContainer[WeightedTag]
    top_artists: _containers.RepeatedCompositeFieldContainer[WeightedResource]
    audio_neighbourhood: _containers.RepeatedCompositeFieldContainer[WeightedResource]
    embedding_model: str
    embedded_items: int
    diversity: float
    diversity_basis: str
    def __init__(self, user_id: _Optional[str] = ..., qualifying_interactions: _Optional[int] = ..., top_genres: _Optional[_Iterable[_Union[WeightedResource, _Mapping]]] = ..., top_tags: _Optional[_Iterable[_Union[WeightedTag, _Mapping]]] = ..., top_artists: _Optional[_Iterable[_Union[WeightedResource, _Mapping]]] = ..., audio_neighbourhood: _Optional[_Iterable[_Union[WeightedResource, _Mapping]]] = ..., embedding_model: _Optional[str] = ..., embedded_items: _Optional[int] = ..., diversity: _Optional[float] = ..., diversity_basis: _Optional[str] = ...) -> None: ...

class ListRegistryModelsRequest(_message.Message):
    __slots__ = ("kind", "state")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    state: str
    def __init__(self, kind: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

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

class RollbackModelRequest(_message.Message):
    __slots__ = ("kind", "requested_by")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    kind: str
    requested_by: str
    def __init__(self, kind: _Optional[str] = ..., requested_by: _Optional[str] = ...) -> None: ...

class RollbackModelResponse(_message.Message):
    __slots__ = ("restored", "deactivated_id")
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATED_ID_FIELD_NUMBER: _ClassVar[int]
    restored: _common_pb2.RegistryModel
    deactivated_id: str
    def __init__(self, restored: _Optional[_Union[_common_pb2.RegistryModel, _Mapping]] = ..., deactivated_id: _Optional[str] = ...) -> None: ...

class ActivateRegistryModelRequest(_message.Message):
    __slots__ = ("kind", "id", "requested_by")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    kind: str
    id: str
    requested_by: str
    def __init__(self, kind: _Optional[str] = ..., id: _Optional[str] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ActivateRegistryModelResponse(_message.Message):
    __slots__ = ("model", "previous_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ID_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.RegistryModel
    previous_id: str
    def __init__(self, model: _Optional[_Union[_common_pb2.RegistryModel, _Mapping]] = ..., previous_id: _Optional[str] = ...) -> None: ...
