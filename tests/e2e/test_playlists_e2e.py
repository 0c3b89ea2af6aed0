"""Playlists through the gateway and `juke playlists`: CRUD with roles and bad input, the
JSPF round trip (CLI import, REST export, REST import), and an MPD slice imported twice."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from tests.e2e.conftest import Mesh

RUN = uuid.uuid4().hex[:8]
USER = f"e2e-playlists-{RUN}"
MBID = str(uuid.uuid4())
MAX_ITEMS = 1000  # JUKE_PLAYLIST_MAX_ITEMS's default


@pytest.fixture(scope="module")
def catalog(mesh: Mesh) -> dict[str, str]:
    """Artists 0 and 1 with two tracks each (t0..t3); t0 has an MBID, each a Spotify id."""
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        identity = IdentityServiceStub(channel)
        artists = [r.juke_id for r in identity.UpsertArtists(ipb.UpsertArtistsRequest(
            artists=[ipb.ArtistInput(name=f"playlist artist {RUN} {n}") for n in range(2)])
        ).results]
        album = identity.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[ipb.AlbumInput(
            name=f"playlist album {RUN}", artist_refs=[artists[0]])])).results[0].juke_id
        tracks = [r.juke_id for r in identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
            ipb.TrackInput(name=f"playlist song {RUN} {n}", artist_refs=[artists[n // 2]],
                           album_ref=album if n < 2 else "", mbid=MBID if n == 0 else "",
                           external_ids=[common_pb2.ExternalId(
                               source="spotify", external_id=f"{RUN}{n:014d}")])
            for n in range(4)])).results]
    return {"artist0": artists[0], "album": album} | {f"t{n}": t for n, t in enumerate(tracks)}


def _ids(playlist: dict) -> list[str]:
    return [i["juke_id"] for i in playlist["items"]]


def test_playlists_crud_with_roles_and_bad_input(mesh: Mesh, catalog: dict[str, str]) -> None:
    body = {"user_id": USER, "name": "Road trip", "description": "long drives",
            "items": [f"juke:track:{catalog['t0']}", f"spotify:{RUN}{1:014d}",
                      f"musicbrainz:{MBID}", catalog["t2"]]}
    with mesh.http(None) as anonymous:
        assert anonymous.post("/api/v1/playlists", json=body).status_code == 401
    with mesh.http("read") as reader:
        denied = reader.post("/api/v1/playlists", json=body)
        assert denied.status_code == 403 and "needs role write" in denied.text
    with mesh.http("write") as writer:
        created = writer.post("/api/v1/playlists", json=body)
        assert created.status_code == 201, created.text
        playlist = created.json()
        assert uuid.UUID(playlist["id"]).version == 7
        assert _ids(playlist) == [catalog["t0"], catalog["t1"], catalog["t0"], catalog["t2"]]
        assert playlist["items"][0] == {
            "type": "track", "juke_id": catalog["t0"], "name": f"playlist song {RUN} 0",
            "uri": f"juke:track:{catalog['t0']}", "mbid": MBID}

        unknown = writer.post("/api/v1/playlists", json=body | {
            "items": [catalog["t0"], f"spotify:{RUN}nothing"]})
        assert unknown.status_code == 400, unknown.text
        assert unknown.json()["error"]["index"] == 1
        assert f"spotify:{RUN}nothing" in unknown.json()["error"]["message"]
        artist = writer.post("/api/v1/playlists", json=body | {
            "items": [f"juke:artist:{catalog['artist0']}"]})
        assert artist.status_code == 400 and catalog["artist0"] in artist.text
        for bad in (body | {"name": ""}, body | {"name": "   "}, body | {"user_id": ""},
                    {"name": "no user", "items": []}):
            reply = writer.post("/api/v1/playlists", json=bad)
            assert reply.status_code == 400, (bad, reply.text)
            assert reply.json()["error"]["code"] == "INVALID_ARGUMENT"
        too_many = writer.post("/api/v1/playlists",
                               json=body | {"items": [catalog["t0"]] * (MAX_ITEMS + 1)})
        assert too_many.status_code == 400
        assert f"exceed the limit of {MAX_ITEMS}" in too_many.json()["error"]["message"]
        too_big = writer.post("/api/v1/playlists", json=body | {"description": "x" * 2_000_000})
        assert too_big.status_code == 413

        path = f"/api/v1/playlists/{playlist['id']}"
        renamed = writer.put(path, json={"name": "Night drive"})
        assert renamed.status_code == 200, renamed.text
        assert (renamed.json()["name"], renamed.json()["description"]) == (
            "Night drive", "long drives")
        assert _ids(renamed.json()) == _ids(playlist)
        assert writer.put(path, json={}).status_code == 400
        replaced = writer.put(path, json={"items": [catalog["t3"]], "description": ""})
        assert (_ids(replaced.json()), replaced.json()["description"]) == ([catalog["t3"]], "")
        edits = [({"action": "append", "items": [catalog["t1"]]}, ["t3", "t1"]),
                 ({"action": "insert", "items": [catalog["t0"]], "position": 1},
                  ["t3", "t0", "t1"]),
                 ({"action": "remove", "positions": [0]}, ["t0", "t1"]),
                 ({"action": "remove", "items": [f"spotify:{RUN}{1:014d}"]}, ["t0"])]
        for edit, expected in edits:
            reply = writer.post(f"{path}/items", json=edit)
            assert reply.status_code == 200, (edit, reply.text)
            assert _ids(reply.json()) == [catalog[t] for t in expected], edit
        outside = writer.post(f"{path}/items",
                              json={"action": "insert", "items": [catalog["t1"]], "position": 5})
        assert outside.status_code == 400 and "position 5" in outside.text
        bad_action = writer.post(f"{path}/items", json={"action": "shuffle"})
        assert bad_action.status_code == 400
    with mesh.http("read") as reader:
        got = reader.get(path)
        assert got.status_code == 200 and _ids(got.json()) == [catalog["t0"]]
        listed = reader.get(f"/api/v1/users/{USER}/playlists").json()["playlists"]
        assert [p["id"] for p in listed] == [playlist["id"]]  # no refused one stored
        assert reader.delete(path).status_code == 403
        assert reader.post(f"{path}/items", json=edits[0][0]).status_code == 403
        assert reader.get("/api/v1/playlists/not-a-uuid").status_code == 400
        missing = reader.get(f"/api/v1/playlists/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    with mesh.http("write") as writer:
        assert writer.delete(path).status_code == 204
        assert writer.delete(path).status_code == 404
        assert writer.get(path).status_code == 404


def test_jspf_round_trip(mesh: Mesh, catalog: dict[str, str], tmp_path: Path) -> None:
    user = f"{USER}-jspf"
    document = {"playlist": {"title": "From ListenBrainz", "annotation": "troi made it",
                             "creator": "troi", "track": [
        {"identifier": [f"https://musicbrainz.org/recording/{MBID}"], "title": "whatever"},
        {"identifier": [f"https://open.spotify.com/track/{RUN}{3:014d}"]},
        {"title": f"Playlist Song {RUN} 1", "creator": f"playlist artist {RUN} 0"}]}}
    source = tmp_path / "troi.jspf"
    source.write_text(json.dumps(document))
    imported = mesh.juke("playlists", "import", str(source), "--user", user)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "with 3 tracks" in imported.stdout
    playlist_id = imported.stdout.split()[2]

    with mesh.http("read") as reader:
        exported = reader.get(f"/api/v1/playlists/{playlist_id}", params={"format": "jspf"})
        assert exported.status_code == 200, exported.text
        bad_format = reader.get(f"/api/v1/playlists/{playlist_id}", params={"format": "xml"})
        assert bad_format.status_code == 400
    jspf = exported.json()
    assert (jspf["playlist"]["title"], jspf["playlist"]["annotation"]) == (
        "From ListenBrainz", "troi made it")
    tracks = jspf["playlist"]["track"]
    assert [t["identifier"][0] for t in tracks] == [
        f"juke:track:{catalog[t]}" for t in ("t0", "t3", "t1")]
    assert tracks[0]["identifier"][1] == f"https://musicbrainz.org/recording/{MBID}"
    assert tracks[0]["album"] == f"playlist album {RUN}"
    assert tracks[2]["creator"] == f"playlist artist {RUN} 0"
    cli_export = mesh.juke("playlists", "export", playlist_id)
    assert cli_export.returncode == 0, cli_export.stderr
    assert json.loads(cli_export.stdout) == jspf

    with mesh.http("write") as writer:
        again = writer.post(f"/api/v1/users/{user}-copy/playlists/jspf", json=jspf)
        assert again.status_code == 201, again.text
        assert _ids(again.json()) == [catalog[t] for t in ("t0", "t3", "t1")]
        assert again.json()["name"] == "From ListenBrainz"
        unknown = {"playlist": {"title": "Half known", "track": [
            tracks[0], {"title": f"no such song {RUN}", "creator": "nobody"}]}}
        refused = writer.post(f"/api/v1/users/{user}-copy/playlists/jspf", json=unknown)
        assert refused.status_code == 400, refused.text
        assert f"track[1] 'no such song {RUN}' by 'nobody'" in refused.json()["error"]["message"]
        assert writer.post(f"/api/v1/users/{user}/playlists/jspf",
                           json={"playlist": {"track": []}}).status_code == 400
        assert len(writer.get(f"/api/v1/users/{user}-copy/playlists").json()["playlists"]) == 1
    source.write_text(json.dumps(unknown))
    cli_refused = mesh.juke("playlists", "import", str(source), "--user", user)
    assert cli_refused.returncode == 2 and f"no such song {RUN}" in cli_refused.stderr


def test_mpd_slice_import_creates_catalog_tracks_once(mesh: Mesh, tmp_path: Path) -> None:
    user = f"{USER}-mpd"

    def track(n: int, artist: str) -> dict[str, object]:
        return {"pos": n, "track_uri": f"spotify:track:{RUN}mpd{n:011d}",
                "track_name": f"mpd song {RUN} {n}", "artist_name": f"mpd artist {RUN} {artist}",
                "duration_ms": 1000 * n}
    slice_file = tmp_path / "mpd.slice.0-1.json"
    slice_file.write_text(json.dumps({"info": {"slice": "0-1"}, "playlists": [
        {"name": "Workout", "pid": 0, "tracks": [track(1, "a"), track(2, "b"), track(1, "a")]},
        {"name": "Chill", "pid": 1, "tracks": [track(3, "b")]}]}))
    first = mesh.juke("playlists", "import-mpd", str(slice_file), "--user", user)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "(2 new, 0 already known)" in first.stdout  # artists
    assert "(3 new, 0 already known)" in first.stdout  # tracks
    assert "(2 new with 4 items, 0 imported before)" in first.stdout
    second = mesh.juke("playlists", "import-mpd", str(slice_file), "--user", user)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "(0 new, 3 already known)" in second.stdout
    assert "(0 new with 0 items, 2 imported before)" in second.stdout
    with mesh.http("read") as reader:
        playlists = reader.get(f"/api/v1/users/{user}/playlists").json()["playlists"]
    assert [(p["name"], [i["name"] for i in p["items"]]) for p in playlists] == [
        ("Workout", [f"mpd song {RUN} 1", f"mpd song {RUN} 2", f"mpd song {RUN} 1"]),
        ("Chill", [f"mpd song {RUN} 3"])]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"playlists": [{"name": "x", "pid": 9, "tracks": [
        {"track_uri": "spotify:album:x", "track_name": "t", "artist_name": "a"}]}]}))
    refused = mesh.juke("playlists", "import-mpd", str(broken), "--user", user)
    assert refused.returncode == 2 and "tracks[0].track_uri 'spotify:album:x'" in refused.stderr
