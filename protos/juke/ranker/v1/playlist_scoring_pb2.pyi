from juke.ranker.v1 import ranker_pb2 as _ranker_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContinuePlaylistRequest(_message.Message):
    __slots__ = ("playlist_id", "limit")
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    limit: int
    def __init__(self, playlist_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SeedWeight(_message.Message):
    __slots__ = ("track_id", "weight")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    weight: float
    def __init__(self, track_id: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class ContinuePlaylistResponse(_message.Message):
    __slots__ = ("playlist_id", "items", "bundle", "seeds")
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    items: _containers.RepeatedCompositeFieldContainer[_ranker_pb2.RecommendedItem]
    bundle: _ranker_pb2.ModelBundle
    seeds: _containers.RepeatedCompositeFieldContainer[SeedWeight]
    def __init__(self, playlist_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_ranker_pb2.RecommendedItem, _Mapping]]] = ..., bundle: _Optional[_Union[_ranker_pb2.ModelBundle, _Mapping]] = ..., seeds: _Optional[_Iterable[_Union[SeedWeight, _Mapping]]] = ...) -> None: ...

class FitSignal(_message.Message):
    __slots__ = ("signal", "value", "weight", "counted", "contribution", "reason")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    signal: str
    value: float
    weight: float
    counted: bool
    contribution: float
    reason: str
    def __init__(self, signal: _Optional[str] = ..., value: _Optional[float] = ..., weight: _Optional[float] = ..., counted: _Optional[bool] = ..., contribution: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class MatchKey(_message.Message):
    __slots__ = ("profile_hash", "candidate_set_hash", "bundle_hash", "config_hash", "algorithm_version")
    PROFILE_HASH_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_SET_HASH_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_HASH_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    profile_hash: str
    candidate_set_hash: str
    bundle_hash: str
    config_hash: str
    algorithm_version: str
    def __init__(self, profile_hash: _Optional[str] = ..., candidate_set_hash: _Optional[str] = ..., bundle_hash: _Optional[str] = ..., config_hash: _Optional[str] = ..., algorithm_version: _Optional[str] = ...) -> None: ...

class TrackFit(_message.Message):
    __slots__ = ("track_id", "name", "score", "signals")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    name: str
    score: float
    signals: _containers.RepeatedCompositeFieldContainer[FitSignal]
    def __init__(self, track_id: _Optional[str] = ..., name: _Optional[str] = ..., score: _Optional[float] = ..., signals: _Optional[_Iterable[_Union[FitSignal, _Mapping]]] = ...) -> None: ...

class MatchTracksRequest(_message.Message):
    __slots__ = ("playlist_id", "track_refs")
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_REFS_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    track_refs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, playlist_id: _Optional[str] = ..., track_refs: _Optional[_Iterable[str]] = ...) -> None: ...

class MatchTracksResponse(_message.Message):
    __slots__ = ("match_id", "fits", "model_version", "bundle", "key", "cached")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FITS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    fits: _containers.RepeatedCompositeFieldContainer[TrackFit]
    model_version: str
    bundle: _ranker_pb2.ModelBundle
    key: MatchKey
    cached: bool
    def __init__(self, match_id: _Optional[str] = ..., fits: _Optional[_Iterable[_Union[TrackFit, _Mapping]]] = ..., model_version: _Optional[str] = ..., bundle: _Optional[_Union[_ranker_pb2.ModelBundle, _Mapping]] = ..., key: _Optional[_Union[MatchKey, _Mapping]] = ..., cached: _Optional[bool] = ...) -> None: ...

class PlaylistFit(_message.Message):
    __slots__ = ("playlist_id", "name", "profile_hash", "score", "signals")
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROFILE_HASH_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    name: str
    profile_hash: str
    score: float
    signals: _containers.RepeatedCompositeFieldContainer[FitSignal]
    def __init__(self, playlist_id: _Optional[str] = ..., name: _Optional[str] = ..., profile_hash: _Optional[str] = ..., score: _Optional[float] = ..., signals: _Optional[_Iterable[_Union[FitSignal, _Mapping]]] = ...) -> None: ...

class MatchPlaylistsRequest(_message.Message):
    __slots__ = ("user_id", "track_ref")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_REF_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    track_ref: str
    def __init__(self, user_id: _Optional[str] = ..., track_ref: _Optional[str] = ...) -> None: ...

class MatchPlaylistsResponse(_message.Message):
    __slots__ = ("match_id", "track_id", "playlists", "model_version", "bundle", "key", "cached")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYLISTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    track_id: str
    playlists: _containers.RepeatedCompositeFieldContainer[PlaylistFit]
    model_version: str
    bundle: _ranker_pb2.ModelBundle
    key: MatchKey
    cached: bool
    def __init__(self, match_id: _Optional[str] = ..., track_id: _Optional[str] = ..., playlists: _Optional[_Iterable[_Union[PlaylistFit, _Mapping]]] = ..., model_version: _Optional[str] = ..., bundle: _Optional[_Union[_ranker_pb2.ModelBundle, _Mapping]] = ..., key: _Optional[_Union[MatchKey, _Mapping]] = ..., cached: _Optional[bool] = ...) -> None: ...

class GetPlaylistProfileRequest(_message.Message):
    __slots__ = ("playlist_id",)
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    def __init__(self, playlist_id: _Optional[str] = ...) -> None: ...

class Weighted(_message.Message):
    __slots__ = ("name", "weight")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    name: str
    weight: float
    def __init__(self, name: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class PlaylistProfile(_message.Message):
    __slots__ = ("hash", "track_ids", "bundle_hash", "model_version", "algorithm_version", "centroid", "tags", "artists", "cooccurrence", "moods", "members", "with_vectors")
    HASH_FIELD_NUMBER: _ClassVar[int]
    TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_HASH_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    CENTROID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ARTISTS_FIELD_NUMBER: _ClassVar[int]
    COOCCURRENCE_FIELD_NUMBER: _ClassVar[int]
    MOODS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    WITH_VECTORS_FIELD_NUMBER: _ClassVar[int]
    hash: str
    track_ids: _containers.RepeatedScalarFieldContainer[str]
    bundle_hash: str
    model_version: str
    algorithm_version: str
    centroid: _containers.RepeatedScalarFieldContainer[float]
    tags: _containers.RepeatedCompositeFieldContainer[Weighted]
    artists: _containers.RepeatedCompositeFieldContainer[Weighted]
    cooccurrence: _containers.RepeatedCompositeFieldContainer[Weighted]
    moods: _containers.RepeatedCompositeFieldContainer[Weighted]
    members: int
    with_vectors: int
    def __init__(self, hash: _Optional[str] = ..., track_ids: _Optional[_Iterable[str]] = ..., bundle_hash: _Optional[str] = ..., model_version: _Optional[str] = ..., algorithm_version: _Optional[str] = ..., centroid: _Optional[_Iterable[float]] = ..., tags: _Optional[_Iterable[_Union[Weighted, _Mapping]]] = ..., artists: _Optional[_Iterable[_Union[Weighted, _Mapping]]] = ..., cooccurrence: _Optional[_Iterable[_Union[Weighted, _Mapping]]] = ..., moods: _Optional[_Iterable[_Union[Weighted, _Mapping]]] = ..., members: _Optional[int] = ..., with_vectors: _Optional[int] = ...) -> None: ...

class GetPlaylistProfileResponse(_message.Message):
    __slots__ = ("profile", "built")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    BUILT_FIELD_NUMBER: _ClassVar[int]
    profile: PlaylistProfile
    built: bool
    def __init__(self, profile: _Optional[_Union[PlaylistProfile, _Mapping]] = ..., built: _Optional[bool] = ...) -> None: ...
