"""Playlists over real PostgreSQL: the repository, and PlaylistService over real gRPC."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import playlists_pb2 as ppb
from juke.ranker.v1 import playlists_pb2_grpc
from juke.ranker.v1.playlists_pb2_grpc import PlaylistServiceStub
from services.common.db import Database
from services.ranker.api.playlists import PlaylistServicer
from services.ranker.api.track_catalog import GrpcTrackCatalog
from services.ranker.core.features import ItemDetails
from services.ranker.playlists.jspf import ExportTrack
from services.ranker.playlists.service import PlaylistService
from services.ranker.store.playlists import PlaylistRepository
from tests.integration.ranker_data import migration_differences

TAG = f"pl{uuid.uuid4().hex[:8]}"
USER = f"user-{TAG}"
PLAYLIST_SERVICE = ppb.DESCRIPTOR.services_by_name["PlaylistService"].full_name


def test_the_migration_matches_the_playlist_models(database: Database) -> None:
    assert migration_differences(database, {"playlist", "playlist_item"}) == []


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def test_repository_keeps_order_repeats_and_the_read_side(database: Database) -> None:
    repo = PlaylistRepository(database)
    tracks = _ids(3)
    ordered = [tracks[2], tracks[0], tracks[2], tracks[1]]
    record, created = repo.create(USER, "Road trip", "long drives", ordered)
    assert created
    assert record.track_ids == tuple(ordered)
    assert (record.user_id, record.name, record.description) == (USER, "Road trip", "long drives")
    assert repo.get(record.id) == record
    assert record.id in repo.all_ids()
    assert [r.id for r in repo.list_for_user(USER)][-1] == record.id
    assert repo.get(str(uuid.uuid4())) is None
    assert repo.get("not-a-uuid") is None


def test_update_edit_and_delete(database: Database) -> None:
    repo = PlaylistRepository(database)
    a, b, c = _ids(3)
    record, _ = repo.create(USER, "Edits", "", [a, b])
    renamed = repo.update(record.id, "Edited", None, None)
    assert renamed is not None
    assert (renamed.name, renamed.description, renamed.track_ids) == ("Edited", "", (a, b))
    assert renamed.updated_at >= record.updated_at
    edited = repo.edit_items(record.id, lambda current: [*current, c])
    assert edited is not None and edited.track_ids == (a, b, c)

    def refuse(current: tuple[str, ...]) -> list[str]:
        raise ValueError("refused")
    with pytest.raises(ValueError):
        repo.edit_items(record.id, refuse)
    after = repo.get(record.id)
    assert after is not None and after.track_ids == (a, b, c)  # nothing half-written
    assert repo.update(record.id, None, "new words", []) is not None
    emptied = repo.get(record.id)
    assert emptied is not None and (emptied.description, emptied.track_ids) == ("new words", ())
    assert repo.delete(record.id)
    assert not repo.delete(record.id)
    assert repo.get(record.id) is None
    assert repo.update(record.id, "x", None, None) is None


def test_an_import_key_creates_one_playlist_per_user(database: Database) -> None:
    repo = PlaylistRepository(database)
    tracks = _ids(2)
    first, created = repo.create(USER, "MPD 7", "", tracks, source_key=f"mpd:{TAG}:7")
    again, created_again = repo.create(USER, "MPD 7 again", "", tracks[:1],
                                       source_key=f"mpd:{TAG}:7")
    assert created and not created_again
    assert again == first
    other, created_other = repo.create(f"{USER}-2", "MPD 7", "", tracks,
                                       source_key=f"mpd:{TAG}:7")
    assert created_other and other.id != first.id
    assert repo.find_by_source(USER, f"mpd:{TAG}:7") == first


# --- PlaylistService over gRPC ---------------------------------------------------------------

MAX_ITEMS = 6


@dataclass
class World:
    playlists: PlaylistServiceStub
    identity: IdentityServiceStub
    ids: dict[str, str]
    mbids: dict[str, str]


def _catalog(identity: IdentityServiceStub) -> tuple[dict[str, str], dict[str, str]]:
    """Artists A and B; tracks a1, a2 (album X, by A) and b1 (by B, no album); a1 and b1
    have MBIDs, every track a Spotify adapter id."""
    a, b = (r.juke_id for r in identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"Artist A {TAG}"), ipb.ArtistInput(name=f"Artist B {TAG}")])
    ).results)
    x = identity.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
        ipb.AlbumInput(name=f"X {TAG}", artist_refs=[a])])).results[0].juke_id
    mbids = {"a1": str(uuid.uuid4()), "b1": str(uuid.uuid4())}
    specs = [("a1", x, a), ("a2", x, a), ("b1", "", b)]
    results = identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"Song {n} {TAG}", album_ref=album, artist_refs=[artist],
                       mbid=mbids.get(n, ""), external_ids=[common_pb2.ExternalId(
                           source="spotify", external_id=f"{TAG}{n}")])
        for n, album, artist in specs])).results
    return {"A": a, "B": b, "X": x} | {
        n: r.juke_id for (n, _, _), r in zip(specs, results, strict=True)}, mbids


@pytest.fixture(scope="module")
def world(start_server: Callable[..., grpc.Channel],
          identity_channel: grpc.Channel) -> World:
    identity = IdentityServiceStub(identity_channel)
    ids, mbids = _catalog(identity)

    def register(server: grpc.Server, db: Database) -> None:
        service = PlaylistService(PlaylistRepository(db), GrpcTrackCatalog(identity_channel),
                                  MAX_ITEMS)
        playlists_pb2_grpc.add_PlaylistServiceServicer_to_server(PlaylistServicer(service),
                                                                 server)

    channel = start_server("ranker", [PLAYLIST_SERVICE], register)
    return World(PlaylistServiceStub(channel), identity, ids, mbids)


def _error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def _create(world: World, items: list[str], name: str = "Mix", user: str = USER
            ) -> ppb.Playlist:
    return world.playlists.CreatePlaylist(ppb.CreatePlaylistRequest(
        user_id=user, name=name, description="for testing", items=items)).playlist


def _track_ids(playlist: ppb.Playlist) -> list[str]:
    return [i.juke_id for i in playlist.items]


def test_create_resolves_any_id_form_once_and_shows_current_names(world: World) -> None:
    ids, mbids = world.ids, world.mbids
    created = _create(world, [f"juke:track:{ids['a1']}", f"spotify:{TAG}b1",
                              f"musicbrainz:{mbids['a1']}", ids["a2"]])
    assert uuid.UUID(created.id).version == 7
    assert _track_ids(created) == [ids["a1"], ids["b1"], ids["a1"], ids["a2"]]
    assert [(i.name, i.uri, i.mbid) for i in created.items[:2]] == [
        (f"Song a1 {TAG}", f"juke:track:{ids['a1']}", mbids["a1"]),
        (f"Song b1 {TAG}", f"juke:track:{ids['b1']}", mbids["b1"])]
    got = world.playlists.GetPlaylist(ppb.GetPlaylistRequest(id=created.id)).playlist
    assert got == created
    listed = world.playlists.ListUserPlaylists(ppb.ListUserPlaylistsRequest(user_id=USER))
    assert created.id in [p.id for p in listed.playlists]


def test_bad_input_names_the_value_and_stores_nothing(world: World,
                                                      database: Database) -> None:
    user = f"{USER}-bad"
    unknown = f"spotify:{TAG}nothing"
    err = _error(lambda: _create(world, [world.ids["a1"], unknown], user=user))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert unknown in (err.details() or "") and "items[1]" in (err.details() or "")
    err = _error(lambda: _create(world, [f"juke:artist:{world.ids['A']}"], user=user))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert world.ids["A"] in (err.details() or "")
    err = _error(lambda: _create(world, [world.ids["a1"]], name="  ", user=user))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "name" in (err.details() or "")
    err = _error(lambda: _create(world, [world.ids["a1"]] * (MAX_ITEMS + 1), user=user))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"limit of {MAX_ITEMS}" in (err.details() or "")
    assert PlaylistRepository(database).list_for_user(user) == []
    missing = str(uuid.uuid4())
    err = _error(lambda: world.playlists.GetPlaylist(ppb.GetPlaylistRequest(id=missing)))
    assert err.code() == grpc.StatusCode.NOT_FOUND and missing in (err.details() or "")
    err = _error(lambda: world.playlists.DeletePlaylist(ppb.DeletePlaylistRequest(id="x")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_update_edit_items_and_delete(world: World) -> None:
    ids = world.ids
    playlist = _create(world, [ids["a1"], ids["a2"]], name="Edits")
    stub = world.playlists

    def edit(**fields: object) -> ppb.Playlist:
        return stub.EditPlaylistItems(ppb.EditPlaylistItemsRequest(id=playlist.id, **fields)
                                      ).playlist
    assert _track_ids(edit(edit=ppb.ITEM_EDIT_APPEND, items=[ids["b1"]])) == [
        ids["a1"], ids["a2"], ids["b1"]]
    assert _track_ids(edit(edit=ppb.ITEM_EDIT_INSERT, items=[ids["b1"]], position=0)) == [
        ids["b1"], ids["a1"], ids["a2"], ids["b1"]]
    assert _track_ids(edit(edit=ppb.ITEM_EDIT_REMOVE, positions=[1])) == [
        ids["b1"], ids["a2"], ids["b1"]]
    assert _track_ids(edit(edit=ppb.ITEM_EDIT_REMOVE, items=[f"spotify:{TAG}b1"])) == [
        ids["a2"]]
    for bad, named in [({"edit": ppb.ITEM_EDIT_INSERT, "items": [ids["a1"]], "position": 5},
                        "position 5"),
                       ({"edit": ppb.ITEM_EDIT_REMOVE, "positions": [3]}, "[3]"),
                       ({"edit": ppb.ITEM_EDIT_REMOVE, "items": [ids["b1"]]}, ids["b1"]),
                       ({"edit": ppb.ITEM_EDIT_APPEND, "items": [ids["a1"]] * MAX_ITEMS},
                        f"limit of {MAX_ITEMS}"),
                       ({"edit": ppb.ITEM_EDIT_UNSPECIFIED, "items": [ids["a1"]]}, "edit 0")]:
        err = _error(lambda bad=bad: edit(**bad))  # type: ignore[misc]
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert named in (err.details() or ""), (bad, err.details())
    assert _track_ids(stub.GetPlaylist(ppb.GetPlaylistRequest(id=playlist.id)).playlist) == [
        ids["a2"]]  # refused edits wrote nothing
    renamed = stub.UpdatePlaylist(ppb.UpdatePlaylistRequest(id=playlist.id, name="Renamed"))
    assert (renamed.playlist.name, renamed.playlist.description,
            _track_ids(renamed.playlist)) == ("Renamed", "for testing", [ids["a2"]])
    emptied = stub.UpdatePlaylist(ppb.UpdatePlaylistRequest(
        id=playlist.id, description="", replace_items=True)).playlist
    assert (emptied.name, emptied.description, list(emptied.items)) == ("Renamed", "", [])
    stub.DeletePlaylist(ppb.DeletePlaylistRequest(id=playlist.id))
    err = _error(lambda: stub.GetPlaylist(ppb.GetPlaylistRequest(id=playlist.id)))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_a_source_key_makes_creation_idempotent(world: World) -> None:
    request = ppb.CreatePlaylistRequest(user_id=USER, name="MPD 1", items=[world.ids["a1"]],
                                        source_key=f"mpd:{TAG}:1")
    first = world.playlists.CreatePlaylist(request)
    again = world.playlists.CreatePlaylist(request)
    assert first.created and not again.created
    assert again.playlist == first.playlist


def test_jspf_import_by_identifier_or_name_and_round_trip(world: World) -> None:
    ids, mbids = world.ids, world.mbids
    document = {"playlist": {
        "title": "From ListenBrainz", "creator": "someone", "annotation": "imported",
        "track": [
            {"identifier": [f"https://musicbrainz.org/recording/{mbids['b1']}"],
             "title": "ignored when the identifier resolves"},
            {"identifier": "https://example.org/unknown", "title": f"song a2 {TAG}",
             "creator": f"ARTIST A {TAG}"},
            {"title": f"Song a1 {TAG}", "creator": f"Artist A {TAG}", "album": f"X {TAG}"},
        ]}}
    imported = world.playlists.ImportJspf(ppb.ImportJspfRequest(
        user_id=USER, jspf=json.dumps(document))).playlist
    assert (imported.name, imported.description) == ("From ListenBrainz", "imported")
    assert _track_ids(imported) == [ids["b1"], ids["a2"], ids["a1"]]

    exported = json.loads(world.playlists.ExportJspf(ppb.ExportJspfRequest(
        id=imported.id)).jspf)["playlist"]
    assert exported["title"] == "From ListenBrainz"
    assert exported["track"][2] == {
        "identifier": [f"juke:track:{ids['a1']}",
                       f"https://musicbrainz.org/recording/{mbids['a1']}"],
        "title": f"Song a1 {TAG}", "creator": f"Artist A {TAG}", "album": f"X {TAG}"}
    assert exported["track"][1]["identifier"] == [f"juke:track:{ids['a2']}"]
    again = world.playlists.ImportJspf(ppb.ImportJspfRequest(
        user_id=f"{USER}-2", jspf=json.dumps({"playlist": exported}))).playlist
    assert _track_ids(again) == _track_ids(imported) and again.id != imported.id


def test_jspf_import_names_every_unresolvable_track(world: World, database: Database) -> None:
    user = f"{USER}-jspf-bad"
    document = {"playlist": {"title": "Half known", "track": [
        {"title": f"Song a1 {TAG}", "creator": f"Artist A {TAG}"},
        {"title": f"Song a1 {TAG}", "creator": f"Artist B {TAG}"},
        {"identifier": [f"https://musicbrainz.org/recording/{uuid.uuid4()}"],
         "title": "Nowhere"}]}}
    err = _error(lambda: world.playlists.ImportJspf(ppb.ImportJspfRequest(
        user_id=user, jspf=json.dumps(document))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.details() or ""
    assert "track[1]" in details and f"by 'Artist B {TAG}'" in details
    assert "track[2] 'Nowhere'" in details and "track[0]" not in details
    for bad in ["not json", json.dumps({"playlist": {"title": "", "track": []}}),
                json.dumps({"playlist": {"title": "x", "track": [{}]}})]:
        err = _error(lambda bad=bad: world.playlists.ImportJspf(  # type: ignore[misc]
            ppb.ImportJspfRequest(user_id=user, jspf=bad)))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
    assert PlaylistRepository(database).list_for_user(user) == []


def test_export_details_come_from_the_snapshot_else_from_identity(
        world: World, identity_channel: grpc.Channel) -> None:
    ids, mbids = world.ids, world.mbids

    def snapshot(juke_id: str) -> ItemDetails:
        return ItemDetails(("Snapshot artist",), "Snapshot album") if juke_id == ids["a1"] \
            else ItemDetails()
    gone = str(uuid.uuid4())
    details = GrpcTrackCatalog(identity_channel, details=snapshot).track_details(
        [ids["a1"], ids["b1"], gone])
    assert details == {
        ids["a1"]: ExportTrack(ids["a1"], f"Song a1 {TAG}", "Snapshot artist",
                               "Snapshot album", mbids["a1"]),
        ids["b1"]: ExportTrack(ids["b1"], f"Song b1 {TAG}", f"Artist B {TAG}", "",
                               mbids["b1"])}


def test_concurrent_item_edits_all_land(database: Database) -> None:
    """Edits lock the playlist row: without the lock two appends read the same items and
    one overwrites the other (or both collide on a position)."""
    repo = PlaylistRepository(database)
    record, _ = repo.create(USER, "Busy", "", [])
    added = _ids(8)

    def append(track_id: str) -> None:
        repo.edit_items(record.id, lambda current: [*current, track_id])
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, added))
    final = repo.get(record.id)
    assert final is not None and sorted(final.track_ids) == sorted(added)
