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

class ItemEdit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_EDIT_UNSPECIFIED: _ClassVar[ItemEdit]
    ITEM_EDIT_APPEND: _ClassVar[ItemEdit]
    ITEM_EDIT_INSERT: _ClassVar[ItemEdit]
    ITEM_EDIT_REMOVE: _ClassVar[ItemEdit]
ITEM_EDIT_UNSPECIFIED: ItemEdit
ITEM_EDIT_APPEND: ItemEdit
ITEM_EDIT_INSERT: ItemEdit
ITEM_EDIT_REMOVE: ItemEdit

class Playlist(_message.Message):
    __slots__ = ("id", "user_id", "name", "description", "items", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    name: str
    description: str
    items: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceSummary]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_common_pb2.ResourceSummary, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePlaylistRequest(_message.Message):
    __slots__ = ("user_id", "name", "description", "items", "source_key")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_KEY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    name: str
    description: str
    items: _containers.RepeatedScalarFieldContainer[str]
    source_key: str
    def __init__(self, user_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., items: _Optional[_Iterable[str]] = ..., source_key: _Optional[str] = ...) -> None: ...

class CreatePlaylistResponse(_message.Message):
    __slots__ = ("playlist", "created")
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    playlist: Playlist
    created: bool
    def __init__(self, playlist: _Optional[_Union[Playlist, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetPlaylistRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetPlaylistResponse(_message.Message):
    __slots__ = ("playlist",)
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    playlist: Playlist
    def __init__(self, playlist: _Optional[_Union[Playlist, _Mapping]] = ...) -> None: ...

class UpdatePlaylistRequest(_message.Message):
    __slots__ = ("id", "name", "description", "replace_items", "items")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REPLACE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    replace_items: bool
    items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., replace_items: _Optional[bool] = ..., items: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdatePlaylistResponse(_message.Message):
    __slots__ = ("playlist",)
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    playlist: Playlist
    def __init__(self, playlist: _Optional[_Union[Playlist, _Mapping]] = ...) -> None: ...

class DeletePlaylistRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeletePlaylistResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EditPlaylistItemsRequest(_message.Message):
    __slots__ = ("id", "edit", "items", "position", "positions")
    ID_FIELD_NUMBER: _ClassVar[int]
    EDIT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    edit: ItemEdit
    items: _containers.RepeatedScalarFieldContainer[str]
    position: int
    positions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[str] = ..., edit: _Optional[_Union[ItemEdit, str]] = ..., items: _Optional[_Iterable[str]] = ..., position: _Optional[int] = ..., positions: _Optional[_Iterable[int]] = ...) -> None: ...

class EditPlaylistItemsResponse(_message.Message):
    __slots__ = ("playlist",)
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    playlist: Playlist
    def __init__(self, playlist: _Optional[_Union[Playlist, _Mapping]] = ...) -> None: ...

class ListUserPlaylistsRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class ListUserPlaylistsResponse(_message.Message):
    __slots__ = ("playlists",)
    PLAYLISTS_FIELD_NUMBER: _ClassVar[int]
    playlists: _containers.RepeatedCompositeFieldContainer[Playlist]
    def __init__(self, playlists: _Optional[_Iterable[_Union[Playlist, _Mapping]]] = ...) -> None: ...

class ImportJspfRequest(_message.Message):
    __slots__ = ("user_id", "jspf")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    JSPF_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    jspf: str
    def __init__(self, user_id: _Optional[str] = ..., jspf: _Optional[str] = ...) -> None: ...

class ImportJspfResponse(_message.Message):
    __slots__ = ("playlist",)
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    playlist: Playlist
    def __init__(self, playlist: _Optional[_Union[Playlist, _Mapping]] = ...) -> None: ...

class ExportJspfRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExportJspfResponse(_message.Message):
    __slots__ = ("jspf",)
    JSPF_FIELD_NUMBER: _ClassVar[int]
    jspf: str
    def __init__(self, jspf: _Optional[str] = ...) -> None: ...
