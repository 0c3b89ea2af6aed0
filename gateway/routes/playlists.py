"""Playlists: a user's named, ordered list of tracks, stored by the ranker. Items are given
in any ID form and resolved once, when written; a playlist reads back with its tracks as the
catalog names them now. JSPF (the JSON playlist format of ListenBrainz and troi) in and out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.auth import Role, requires
from gateway.schemas import ResourceSummary
from juke.ranker.v1 import playlists_pb2 as ppb

router = APIRouter(prefix="/api/v1", tags=["playlists"], dependencies=[requires(Role.READ)])
WRITE = [requires(Role.WRITE)]  # creating, changing and deleting a playlist is a user write

Ref = Annotated[str, Field(min_length=1, max_length=1000)]
ITEMS = ("tracks in order, each a juke_id, MBID, '<source>:<id>' adapter id or "
         "juke:track:<id> URI; a track may repeat. Each must resolve to a catalog track or "
         "nothing is stored (400 naming the ones that do not); at most JUKE_PLAYLIST_MAX_ITEMS")
PlaylistId = Annotated[str, Path(max_length=64, description="the playlist's id (a UUID)")]
UserId = Annotated[str, Path(max_length=256)]


class PlaylistIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    items: list[Ref] = Field(default_factory=list, description=ITEMS)


class PlaylistUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200,
                             description="absent: unchanged")
    description: str | None = Field(default=None, max_length=2000,
                                    description="absent: unchanged")
    items: list[Ref] | None = Field(default=None,
                                    description=f"replace the items; absent: unchanged. {ITEMS}")

    @model_validator(mode="after")
    def _changes_something(self) -> PlaylistUpdate:
        if self.name is None and self.description is None and self.items is None:
            raise ValueError("give a name, a description, items or several")
        return self


ACTIONS = {"append": ppb.ITEM_EDIT_APPEND, "insert": ppb.ITEM_EDIT_INSERT,
           "remove": ppb.ITEM_EDIT_REMOVE}


class ItemsEdit(BaseModel):
    action: Literal["append", "insert", "remove"] = Field(
        description="append: `items` at the end; insert: `items` before `position`; remove: "
        "the items at `positions`, or every occurrence of the tracks in `items`")
    items: list[Ref] = Field(default_factory=list, description=ITEMS)
    position: int = Field(default=0, ge=0, le=1_000_000,
                          description="insert: the place of the first new item (0: first)")
    positions: list[Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=list, description="remove: 0-based places of the items to remove")


class PlaylistOut(BaseModel):
    id: str
    user_id: str
    name: str
    description: str
    items: list[ResourceSummary]
    created_at: str
    updated_at: str

    @classmethod
    def from_pb(cls, p: Any) -> PlaylistOut:
        return cls(id=p.id, user_id=p.user_id, name=p.name, description=p.description,
                   items=[ResourceSummary.from_pb(i) for i in p.items],
                   created_at=p.created_at.ToJsonString(), updated_at=p.updated_at.ToJsonString())


class PlaylistsOut(BaseModel):
    playlists: list[PlaylistOut]


class JspfTrack(BaseModel):
    model_config = ConfigDict(extra="allow")
    identifier: list[str] | str | None = Field(
        default=None, description="URIs: MusicBrainz recording URLs, Spotify track URLs or "
        "URIs, juke:track:<id> URIs; the first the catalog knows picks the track")
    title: str | None = Field(default=None, description="with `creator`: matched by exact "
                              "name when no identifier resolves")
    creator: str | None = None
    album: str | None = None


class JspfPlaylist(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: str = Field(description="the playlist's name")
    creator: str | None = None
    annotation: str | None = Field(default=None, description="the playlist's description")
    identifier: str | None = None
    date: str | None = None
    track: list[JspfTrack] = Field(default_factory=list)


class JspfDocument(BaseModel):
    """A JSPF document (https://www.xspf.org/jspf)."""

    playlist: JspfPlaylist


@router.post("/playlists", response_model=PlaylistOut, status_code=201, dependencies=WRITE,
             summary="Create a playlist")
async def create_playlist(body: PlaylistIn, request: Request) -> PlaylistOut:
    """A new playlist of `user_id` with the resolved tracks, in the order given. An item
    that does not resolve to a track is a 400 naming it with its `index`; more items than
    the limit a 400 naming the limit; nothing is stored then."""
    reply = await request.app.state.clients.playlists.CreatePlaylist(ppb.CreatePlaylistRequest(
        user_id=body.user_id, name=body.name, description=body.description, items=body.items))
    return PlaylistOut.from_pb(reply.playlist)


@router.get("/playlists/{playlist_id}", response_model=PlaylistOut | JspfDocument,
            summary="Get a playlist, as JSON or JSPF")
async def get_playlist(playlist_id: PlaylistId, request: Request,
                       format: Annotated[str, Query(pattern="^(json|jspf)$",
                                                    description="jspf: as a JSPF document, "
                                                    "tracks identified by juke URI and "
                                                    "MusicBrainz recording URL")] = "json",
                       ) -> PlaylistOut | Response:
    """The playlist with its tracks as the catalog names them now; unknown id: 404."""
    playlists = request.app.state.clients.playlists
    if format == "jspf":
        reply = await playlists.ExportJspf(ppb.ExportJspfRequest(id=playlist_id))
        # The ranker's document as it wrote it: fields a track lacks stay absent (not null).
        return Response(content=reply.jspf, media_type="application/json")
    reply = await playlists.GetPlaylist(ppb.GetPlaylistRequest(id=playlist_id))
    return PlaylistOut.from_pb(reply.playlist)


@router.put("/playlists/{playlist_id}", response_model=PlaylistOut, dependencies=WRITE,
            summary="Rename a playlist, describe it, or replace its items")
async def update_playlist(playlist_id: PlaylistId, body: PlaylistUpdate,
                          request: Request) -> PlaylistOut:
    """What is given replaces what the playlist had (`items` resolved like on create, `[]`
    empties it); what is absent stays. Unknown id: 404."""
    update = ppb.UpdatePlaylistRequest(id=playlist_id, replace_items=body.items is not None,
                                       items=body.items or [])
    if body.name is not None:
        update.name = body.name
    if body.description is not None:
        update.description = body.description
    reply = await request.app.state.clients.playlists.UpdatePlaylist(update)
    return PlaylistOut.from_pb(reply.playlist)


@router.delete("/playlists/{playlist_id}", status_code=204, dependencies=WRITE,
               response_class=Response, summary="Delete a playlist")
async def delete_playlist(playlist_id: PlaylistId, request: Request) -> Response:
    """Deletes the playlist and its items; unknown id: 404."""
    await request.app.state.clients.playlists.DeletePlaylist(
        ppb.DeletePlaylistRequest(id=playlist_id))
    return Response(status_code=204)


@router.post("/playlists/{playlist_id}/items", response_model=PlaylistOut,
             dependencies=WRITE, summary="Append, insert or remove playlist items")
async def edit_items(playlist_id: PlaylistId, body: ItemsEdit, request: Request) -> PlaylistOut:
    """One edit, applied whole or not at all: a position outside the playlist, a track to
    remove it does not hold, or an item that does not resolve is a 400 naming it."""
    reply = await request.app.state.clients.playlists.EditPlaylistItems(
        ppb.EditPlaylistItemsRequest(id=playlist_id, edit=ACTIONS[body.action],
                                     items=body.items, position=body.position,
                                     positions=body.positions))
    return PlaylistOut.from_pb(reply.playlist)


@router.get("/users/{user_id}/playlists", response_model=PlaylistsOut,
            summary="A user's playlists")
async def user_playlists(user_id: UserId, request: Request) -> PlaylistsOut:
    """Every playlist of the user, oldest first (an empty list for an unknown user)."""
    reply = await request.app.state.clients.playlists.ListUserPlaylists(
        ppb.ListUserPlaylistsRequest(user_id=user_id))
    return PlaylistsOut(playlists=[PlaylistOut.from_pb(p) for p in reply.playlists])


@router.post("/users/{user_id}/playlists/jspf", response_model=PlaylistOut, status_code=201,
             dependencies=WRITE, summary="Import a JSPF playlist")
async def import_jspf(user_id: UserId, body: JspfDocument, request: Request) -> PlaylistOut:
    """A new playlist of the user from a JSPF document: each track by the first of its
    identifiers the catalog knows, else by its exact title and creator. Tracks found by
    neither are a 400 naming each of them, and nothing is stored."""
    reply = await request.app.state.clients.playlists.ImportJspf(ppb.ImportJspfRequest(
        user_id=user_id, jspf=body.model_dump_json(exclude_none=True)))
    return PlaylistOut.from_pb(reply.playlist)
