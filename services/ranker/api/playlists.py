"""gRPC adapter of playlists (PlaylistService): proto in, proto out. Domain errors become
statuses in the shared error interceptor."""

from __future__ import annotations

from typing import Any

import grpc

from juke.common.v1 import common_pb2
from juke.ranker.v1 import playlists_pb2 as pb
from juke.ranker.v1 import playlists_pb2_grpc
from services.common.errors import InvalidArgument
from services.common.proto_convert import timestamp, type_to_proto
from services.ranker.playlists.service import ItemEdit, Playlist, PlaylistService

EDITS = {pb.ITEM_EDIT_APPEND: ItemEdit.APPEND, pb.ITEM_EDIT_INSERT: ItemEdit.INSERT,
         pb.ITEM_EDIT_REMOVE: ItemEdit.REMOVE}


def playlist_pb(p: Playlist) -> pb.Playlist:
    return pb.Playlist(
        id=p.id, user_id=p.user_id, name=p.name, description=p.description,
        items=[common_pb2.ResourceSummary(type=type_to_proto(t.type), juke_id=t.juke_id,
                                          name=t.name, mbid=t.mbid,
                                          uri=f"juke:{t.type}:{t.juke_id}") for t in p.items],
        created_at=timestamp(p.created_at), updated_at=timestamp(p.updated_at))


class PlaylistServicer(playlists_pb2_grpc.PlaylistServiceServicer):
    def __init__(self, playlists: PlaylistService) -> None:
        self._playlists = playlists

    def CreatePlaylist(self, request: Any, context: grpc.ServicerContext) -> Any:
        playlist, created = self._playlists.create(
            request.user_id, request.name, request.description, list(request.items),
            request.source_key)
        return pb.CreatePlaylistResponse(playlist=playlist_pb(playlist), created=created)

    def GetPlaylist(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.GetPlaylistResponse(playlist=playlist_pb(self._playlists.get(request.id)))

    def UpdatePlaylist(self, request: Any, context: grpc.ServicerContext) -> Any:
        playlist = self._playlists.update(
            request.id,
            request.name if request.HasField("name") else None,
            request.description if request.HasField("description") else None,
            list(request.items) if request.replace_items else None)
        return pb.UpdatePlaylistResponse(playlist=playlist_pb(playlist))

    def DeletePlaylist(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._playlists.delete(request.id)
        return pb.DeletePlaylistResponse()

    def EditPlaylistItems(self, request: Any, context: grpc.ServicerContext) -> Any:
        edit = EDITS.get(request.edit)
        if edit is None:
            raise InvalidArgument(f"edit {request.edit} is not append, insert or remove")
        playlist = self._playlists.edit_items(request.id, edit, list(request.items),
                                              request.position, list(request.positions))
        return pb.EditPlaylistItemsResponse(playlist=playlist_pb(playlist))

    def ListUserPlaylists(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListUserPlaylistsResponse(
            playlists=[playlist_pb(p) for p in self._playlists.of_user(request.user_id)])

    def ImportJspf(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ImportJspfResponse(
            playlist=playlist_pb(self._playlists.import_jspf(request.user_id, request.jspf)))

    def ExportJspf(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ExportJspfResponse(jspf=self._playlists.export_jspf(request.id))
