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

class AllowedEnvs(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALLOWED_ENVS_UNSPECIFIED: _ClassVar[AllowedEnvs]
    ALLOWED_ENVS_PRODUCTION: _ClassVar[AllowedEnvs]
    ALLOWED_ENVS_RESEARCH: _ClassVar[AllowedEnvs]
    ALLOWED_ENVS_BOTH: _ClassVar[AllowedEnvs]
    ALLOWED_ENVS_NONE: _ClassVar[AllowedEnvs]

class EntryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_STATUS_UNSPECIFIED: _ClassVar[EntryStatus]
    ENTRY_STATUS_PRODUCTION_ELIGIBLE: _ClassVar[EntryStatus]
    ENTRY_STATUS_RESEARCH_ONLY: _ClassVar[EntryStatus]
    ENTRY_STATUS_EXCLUDED: _ClassVar[EntryStatus]
ALLOWED_ENVS_UNSPECIFIED: AllowedEnvs
ALLOWED_ENVS_PRODUCTION: AllowedEnvs
ALLOWED_ENVS_RESEARCH: AllowedEnvs
ALLOWED_ENVS_BOTH: AllowedEnvs
ALLOWED_ENVS_NONE: AllowedEnvs
ENTRY_STATUS_UNSPECIFIED: EntryStatus
ENTRY_STATUS_PRODUCTION_ELIGIBLE: EntryStatus
ENTRY_STATUS_RESEARCH_ONLY: EntryStatus
ENTRY_STATUS_EXCLUDED: EntryStatus

class Evidence(_message.Message):
    __slots__ = ("kind", "source_file", "locator", "license_raw", "expression", "license_spdx", "holders", "note")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FILE_FIELD_NUMBER: _ClassVar[int]
    LOCATOR_FIELD_NUMBER: _ClassVar[int]
    LICENSE_RAW_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    LICENSE_SPDX_FIELD_NUMBER: _ClassVar[int]
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    source_file: str
    locator: str
    license_raw: str
    expression: str
    license_spdx: str
    holders: _containers.RepeatedScalarFieldContainer[str]
    note: str
    def __init__(self, kind: _Optional[str] = ..., source_file: _Optional[str] = ..., locator: _Optional[str] = ..., license_raw: _Optional[str] = ..., expression: _Optional[str] = ..., license_spdx: _Optional[str] = ..., holders: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("code", "detail", "blocks", "evidence", "overridden")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    code: str
    detail: str
    blocks: _containers.RepeatedScalarFieldContainer[_common_pb2.Environment]
    evidence: _containers.RepeatedScalarFieldContainer[str]
    overridden: bool
    def __init__(self, code: _Optional[str] = ..., detail: _Optional[str] = ..., blocks: _Optional[_Iterable[_Union[_common_pb2.Environment, str]]] = ..., evidence: _Optional[_Iterable[str]] = ..., overridden: _Optional[bool] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("production", "research", "allowed_envs", "reasons", "license_expression", "obligations", "policy_version")
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    RESEARCH_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ENVS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    LICENSE_EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    production: bool
    research: bool
    allowed_envs: AllowedEnvs
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    license_expression: str
    obligations: _containers.RepeatedScalarFieldContainer[str]
    policy_version: str
    def __init__(self, production: _Optional[bool] = ..., research: _Optional[bool] = ..., allowed_envs: _Optional[_Union[AllowedEnvs, str]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., license_expression: _Optional[str] = ..., obligations: _Optional[_Iterable[str]] = ..., policy_version: _Optional[str] = ...) -> None: ...

class ManifestEntryInput(_message.Message):
    __slots__ = ("source", "track_path", "license", "license_url", "allowed_envs", "checksum", "duration_ms", "track_juke_id", "mbid_candidate", "fingerprint", "evidence")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRACK_PATH_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_URL_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ENVS_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TRACK_JUKE_ID_FIELD_NUMBER: _ClassVar[int]
    MBID_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    source: str
    track_path: str
    license: str
    license_url: str
    allowed_envs: AllowedEnvs
    checksum: str
    duration_ms: int
    track_juke_id: str
    mbid_candidate: str
    fingerprint: str
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    def __init__(self, source: _Optional[str] = ..., track_path: _Optional[str] = ..., license: _Optional[str] = ..., license_url: _Optional[str] = ..., allowed_envs: _Optional[_Union[AllowedEnvs, str]] = ..., checksum: _Optional[str] = ..., duration_ms: _Optional[int] = ..., track_juke_id: _Optional[str] = ..., mbid_candidate: _Optional[str] = ..., fingerprint: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ...) -> None: ...

class ManifestEntry(_message.Message):
    __slots__ = ("id", "source", "track_path", "license", "license_url", "declared_allowed_envs", "checksum", "duration_ms", "track_juke_id", "mbid_candidate", "fingerprint", "ingested_at", "evidence", "decision")
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRACK_PATH_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_URL_FIELD_NUMBER: _ClassVar[int]
    DECLARED_ALLOWED_ENVS_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TRACK_JUKE_ID_FIELD_NUMBER: _ClassVar[int]
    MBID_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    INGESTED_AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    source: str
    track_path: str
    license: str
    license_url: str
    declared_allowed_envs: AllowedEnvs
    checksum: str
    duration_ms: int
    track_juke_id: str
    mbid_candidate: str
    fingerprint: str
    ingested_at: _timestamp_pb2.Timestamp
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    decision: Decision
    def __init__(self, id: _Optional[str] = ..., source: _Optional[str] = ..., track_path: _Optional[str] = ..., license: _Optional[str] = ..., license_url: _Optional[str] = ..., declared_allowed_envs: _Optional[_Union[AllowedEnvs, str]] = ..., checksum: _Optional[str] = ..., duration_ms: _Optional[int] = ..., track_juke_id: _Optional[str] = ..., mbid_candidate: _Optional[str] = ..., fingerprint: _Optional[str] = ..., ingested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ..., decision: _Optional[_Union[Decision, _Mapping]] = ...) -> None: ...

class UpsertManifestEntriesRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ManifestEntryInput]
    def __init__(self, entries: _Optional[_Iterable[_Union[ManifestEntryInput, _Mapping]]] = ...) -> None: ...

class UpsertResult(_message.Message):
    __slots__ = ("id", "created", "decision")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    created: bool
    decision: Decision
    def __init__(self, id: _Optional[str] = ..., created: _Optional[bool] = ..., decision: _Optional[_Union[Decision, _Mapping]] = ...) -> None: ...

class UpsertManifestEntriesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[UpsertResult]
    def __init__(self, results: _Optional[_Iterable[_Union[UpsertResult, _Mapping]]] = ...) -> None: ...

class ListEligibleEntriesRequest(_message.Message):
    __slots__ = ("environment", "page", "source", "with_track_only")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WITH_TRACK_ONLY_FIELD_NUMBER: _ClassVar[int]
    environment: _common_pb2.Environment
    page: _common_pb2.PageRequest
    source: str
    with_track_only: bool
    def __init__(self, environment: _Optional[_Union[_common_pb2.Environment, str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., source: _Optional[str] = ..., with_track_only: _Optional[bool] = ...) -> None: ...

class ListEligibleEntriesResponse(_message.Message):
    __slots__ = ("entries", "page")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ManifestEntry]
    page: _common_pb2.PageResponse
    def __init__(self, entries: _Optional[_Iterable[_Union[ManifestEntry, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ListManifestEntriesRequest(_message.Message):
    __slots__ = ("page", "status", "reason_code", "source")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    status: EntryStatus
    reason_code: str
    source: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., status: _Optional[_Union[EntryStatus, str]] = ..., reason_code: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class ListManifestEntriesResponse(_message.Message):
    __slots__ = ("entries", "page")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ManifestEntry]
    page: _common_pb2.PageResponse
    def __init__(self, entries: _Optional[_Iterable[_Union[ManifestEntry, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetManifestEntryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetManifestEntryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: ManifestEntry
    def __init__(self, entry: _Optional[_Union[ManifestEntry, _Mapping]] = ...) -> None: ...

class CheckEligibilityRequest(_message.Message):
    __slots__ = ("environment", "entry_ids", "track_juke_ids")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_IDS_FIELD_NUMBER: _ClassVar[int]
    TRACK_JUKE_IDS_FIELD_NUMBER: _ClassVar[int]
    environment: _common_pb2.Environment
    entry_ids: _containers.RepeatedScalarFieldContainer[str]
    track_juke_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, environment: _Optional[_Union[_common_pb2.Environment, str]] = ..., entry_ids: _Optional[_Iterable[str]] = ..., track_juke_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class EligibilityResult(_message.Message):
    __slots__ = ("ref", "eligible", "entry_ids", "decision", "error")
    REF_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_IDS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ref: str
    eligible: bool
    entry_ids: _containers.RepeatedScalarFieldContainer[str]
    decision: Decision
    error: str
    def __init__(self, ref: _Optional[str] = ..., eligible: _Optional[bool] = ..., entry_ids: _Optional[_Iterable[str]] = ..., decision: _Optional[_Union[Decision, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class CheckEligibilityResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EligibilityResult]
    def __init__(self, results: _Optional[_Iterable[_Union[EligibilityResult, _Mapping]]] = ...) -> None: ...

class DatasetInput(_message.Message):
    __slots__ = ("name", "kind", "license", "license_url", "allowed_envs", "checksum", "location", "evidence", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_URL_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ENVS_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    license: str
    license_url: str
    allowed_envs: AllowedEnvs
    checksum: str
    location: str
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    description: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., license: _Optional[str] = ..., license_url: _Optional[str] = ..., allowed_envs: _Optional[_Union[AllowedEnvs, str]] = ..., checksum: _Optional[str] = ..., location: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ..., description: _Optional[str] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("id", "name", "kind", "license", "license_url", "declared_allowed_envs", "checksum", "location", "evidence", "decision", "registered_at", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_URL_FIELD_NUMBER: _ClassVar[int]
    DECLARED_ALLOWED_ENVS_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    kind: str
    license: str
    license_url: str
    declared_allowed_envs: AllowedEnvs
    checksum: str
    location: str
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    decision: Decision
    registered_at: _timestamp_pb2.Timestamp
    description: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., license: _Optional[str] = ..., license_url: _Optional[str] = ..., declared_allowed_envs: _Optional[_Union[AllowedEnvs, str]] = ..., checksum: _Optional[str] = ..., location: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ..., decision: _Optional[_Union[Decision, _Mapping]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., description: _Optional[str] = ...) -> None: ...

class RegisterDatasetRequest(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: DatasetInput
    def __init__(self, dataset: _Optional[_Union[DatasetInput, _Mapping]] = ...) -> None: ...

class RegisterDatasetResponse(_message.Message):
    __slots__ = ("dataset", "created")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    dataset: Dataset
    created: bool
    def __init__(self, dataset: _Optional[_Union[Dataset, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets",)
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ...) -> None: ...

class RegisterTrainingSetRequest(_message.Message):
    __slots__ = ("entry_ids", "dataset_ids", "description")
    ENTRY_IDS_FIELD_NUMBER: _ClassVar[int]
    DATASET_IDS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    entry_ids: _containers.RepeatedScalarFieldContainer[str]
    dataset_ids: _containers.RepeatedScalarFieldContainer[str]
    description: str
    def __init__(self, entry_ids: _Optional[_Iterable[str]] = ..., dataset_ids: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ...) -> None: ...

class RegisterTrainingSetResponse(_message.Message):
    __slots__ = ("training_set_hash", "entries", "datasets")
    TRAINING_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    training_set_hash: str
    entries: int
    datasets: int
    def __init__(self, training_set_hash: _Optional[str] = ..., entries: _Optional[int] = ..., datasets: _Optional[int] = ...) -> None: ...

class CheckTrainingSetRequest(_message.Message):
    __slots__ = ("environment", "training_set_hash", "entry_ids", "dataset_ids")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_IDS_FIELD_NUMBER: _ClassVar[int]
    DATASET_IDS_FIELD_NUMBER: _ClassVar[int]
    environment: _common_pb2.Environment
    training_set_hash: str
    entry_ids: _containers.RepeatedScalarFieldContainer[str]
    dataset_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, environment: _Optional[_Union[_common_pb2.Environment, str]] = ..., training_set_hash: _Optional[str] = ..., entry_ids: _Optional[_Iterable[str]] = ..., dataset_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class MemberDecision(_message.Message):
    __slots__ = ("member", "allowed", "reasons")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    member: str
    allowed: bool
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    def __init__(self, member: _Optional[str] = ..., allowed: _Optional[bool] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ...) -> None: ...

class CheckTrainingSetResponse(_message.Message):
    __slots__ = ("allowed", "training_set_hash", "blocking", "members", "summary")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCKING_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    training_set_hash: str
    blocking: _containers.RepeatedCompositeFieldContainer[MemberDecision]
    members: int
    summary: str
    def __init__(self, allowed: _Optional[bool] = ..., training_set_hash: _Optional[str] = ..., blocking: _Optional[_Iterable[_Union[MemberDecision, _Mapping]]] = ..., members: _Optional[int] = ..., summary: _Optional[str] = ...) -> None: ...

class LicenseInfo(_message.Message):
    __slots__ = ("spdx_id", "name", "production", "research", "aliases", "obligations")
    SPDX_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    RESEARCH_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_FIELD_NUMBER: _ClassVar[int]
    spdx_id: str
    name: str
    production: bool
    research: bool
    aliases: _containers.RepeatedScalarFieldContainer[str]
    obligations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, spdx_id: _Optional[str] = ..., name: _Optional[str] = ..., production: _Optional[bool] = ..., research: _Optional[bool] = ..., aliases: _Optional[_Iterable[str]] = ..., obligations: _Optional[_Iterable[str]] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ("licenses", "accepted_envs", "fail_closed", "environment", "policy_version")
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_ENVS_FIELD_NUMBER: _ClassVar[int]
    FAIL_CLOSED_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    licenses: _containers.RepeatedCompositeFieldContainer[LicenseInfo]
    accepted_envs: _containers.RepeatedScalarFieldContainer[str]
    fail_closed: bool
    environment: str
    policy_version: str
    def __init__(self, licenses: _Optional[_Iterable[_Union[LicenseInfo, _Mapping]]] = ..., accepted_envs: _Optional[_Iterable[str]] = ..., fail_closed: _Optional[bool] = ..., environment: _Optional[str] = ..., policy_version: _Optional[str] = ...) -> None: ...

class GetCorpusSummaryRequest(_message.Message):
    __slots__ = ("source",)
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    source: str
    def __init__(self, source: _Optional[str] = ...) -> None: ...

class ReasonCount(_message.Message):
    __slots__ = ("code", "count")
    CODE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    code: str
    count: int
    def __init__(self, code: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetCorpusSummaryResponse(_message.Message):
    __slots__ = ("total", "production_eligible", "research_only", "excluded", "top_reasons", "datasets")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    RESEARCH_ONLY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    TOP_REASONS_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    total: int
    production_eligible: int
    research_only: int
    excluded: int
    top_reasons: _containers.RepeatedCompositeFieldContainer[ReasonCount]
    datasets: int
    def __init__(self, total: _Optional[int] = ..., production_eligible: _Optional[int] = ..., research_only: _Optional[int] = ..., excluded: _Optional[int] = ..., top_reasons: _Optional[_Iterable[_Union[ReasonCount, _Mapping]]] = ..., datasets: _Optional[int] = ...) -> None: ...

class CheckModelRequest(_message.Message):
    __slots__ = ("environment", "name", "weights_license", "weights_sha256", "training_data", "training_data_license")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_LICENSE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SHA256_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_LICENSE_FIELD_NUMBER: _ClassVar[int]
    environment: _common_pb2.Environment
    name: str
    weights_license: str
    weights_sha256: str
    training_data: str
    training_data_license: str
    def __init__(self, environment: _Optional[_Union[_common_pb2.Environment, str]] = ..., name: _Optional[str] = ..., weights_license: _Optional[str] = ..., weights_sha256: _Optional[str] = ..., training_data: _Optional[str] = ..., training_data_license: _Optional[str] = ...) -> None: ...

class CheckModelResponse(_message.Message):
    __slots__ = ("allowed", "weights", "training_data", "training_data_enforced", "reasons", "summary")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_ENFORCED_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    weights: Decision
    training_data: Decision
    training_data_enforced: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    summary: str
    def __init__(self, allowed: _Optional[bool] = ..., weights: _Optional[_Union[Decision, _Mapping]] = ..., training_data: _Optional[_Union[Decision, _Mapping]] = ..., training_data_enforced: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ..., summary: _Optional[str] = ...) -> None: ...
