"""Taste profiles through the gateway, `profiles` in recommendation requests, and `juke
recommend` against the running mesh (online) and from its database alone (--offline)."""

from __future__ import annotations

import json
import time
import uuid

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from tests.e2e.conftest import Mesh

RUN = uuid.uuid4().hex[:8]
USER = f"e2e-profiles-{RUN}"


@pytest.fixture(scope="module")
def catalog(mesh: Mesh) -> dict[str, str]:
    """Two artists with an album of four tracks each; the first track of each is tagged."""
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        identity = IdentityServiceStub(channel)
        artists = [r.juke_id for r in identity.UpsertArtists(ipb.UpsertArtistsRequest(
            artists=[ipb.ArtistInput(name=f"profile artist {RUN} {n}") for n in range(2)])
        ).results]
        albums = [r.juke_id for r in identity.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
            ipb.AlbumInput(name=f"profile album {RUN} {n}", artist_refs=[artists[n]])
            for n in range(2)])).results]
        tracks = [r.juke_id for r in identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
            ipb.TrackInput(
                name=f"profile song {RUN} {n}", artist_refs=[artists[n // 4]],
                album_ref=albums[n // 4],
                tags=[ipb.TagInput(name=f"mood{RUN}", source=common_pb2.TAG_SOURCE_INTERNAL,
                                   weight=1.0)] if n % 4 == 0 else [],
                external_ids=[common_pb2.ExternalId(source="spotify",
                                                    external_id=f"prof{RUN}{n}")])
            for n in range(8)])).results]
    mesh.refresh_rankers()
    return {"artist0": artists[0], "artist1": artists[1], "album1": albums[1]} | {
        f"t{n}": t for n, t in enumerate(tracks)}


def _body(favourites: list[str], name: str = "Evening") -> dict[str, object]:
    return {"user_id": USER, "name": name, "favourites": favourites}


def test_profiles_crud_with_roles_and_bad_input(mesh: Mesh, catalog: dict[str, str]) -> None:
    body = _body([f"juke:artist:{catalog['artist0']}", f"profile song {RUN} 5",
                  f"spotify:prof{RUN}6"])
    with mesh.http(None) as anonymous:
        assert anonymous.post("/api/v1/profiles", json=body).status_code == 401
        assert anonymous.get(f"/api/v1/users/{USER}/profiles").status_code == 401
    with mesh.http("read") as reader:
        denied = reader.post("/api/v1/profiles", json=body)
        assert denied.status_code == 403, denied.text
        assert "needs role write" in denied.json()["error"]["message"]
    with mesh.http("write") as writer:
        created = writer.post("/api/v1/profiles", json=body)
        assert created.status_code == 201, created.text
        profile = created.json()
        assert uuid.UUID(profile["id"]).version == 7
        assert [(f["type"], f["juke_id"]) for f in profile["favourites"]] == [
            ("artist", catalog["artist0"]), ("track", catalog["t5"]), ("track", catalog["t6"])]
        assert profile["favourites"][1]["name"] == f"profile song {RUN} 5"  # a plain name

        unknown = writer.post("/api/v1/profiles", json=_body([catalog["t1"], "spotify:nope"]))
        assert unknown.status_code == 400 and unknown.json()["error"]["index"] == 1
        assert "spotify:nope" in unknown.json()["error"]["message"]
        for bad in (_body([]), _body(["x"] * 101), _body([catalog["t1"]], name=""),
                    {"name": "n", "favourites": [catalog["t1"]]},
                    _body(["Nir\x00vana"])):  # a name PostgreSQL cannot search: shared check
            reply = writer.post("/api/v1/profiles", json=bad)
            assert reply.status_code == 400, (bad, reply.text)
            assert reply.json()["error"]["code"] == "INVALID_ARGUMENT"

        renamed = writer.put(f"/api/v1/profiles/{profile['id']}", json={"name": "Night"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "Night"
        assert renamed.json()["favourites"] == profile["favourites"]
        replaced = writer.put(f"/api/v1/profiles/{profile['id']}",
                              json={"favourites": [f"juke:album:{catalog['album1']}"]})
        assert [f["juke_id"] for f in replaced.json()["favourites"]] == [catalog["album1"]]
        assert writer.put(f"/api/v1/profiles/{profile['id']}", json={}).status_code == 400
        other = writer.post("/api/v1/profiles", json=_body([catalog["t0"]], name="Other"))
        assert other.status_code == 201
    with mesh.http("read") as reader:
        got = reader.get(f"/api/v1/profiles/{profile['id']}")
        assert got.status_code == 200 and got.json()["name"] == "Night"
        listed = reader.get(f"/api/v1/users/{USER}/profiles").json()["profiles"]
        assert [p["id"] for p in listed] == [profile["id"], other.json()["id"]]  # no failed one
        assert reader.delete(f"/api/v1/profiles/{profile['id']}").status_code == 403
        assert reader.get("/api/v1/profiles/not-a-uuid").status_code == 400
        missing = reader.get(f"/api/v1/profiles/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    with mesh.http("write") as writer:
        assert writer.delete(f"/api/v1/profiles/{other.json()['id']}").status_code == 204
        assert writer.delete(f"/api/v1/profiles/{other.json()['id']}").status_code == 404
    with mesh.http("read") as reader:
        assert [p["id"] for p in reader.get(f"/api/v1/users/{USER}/profiles").json()[
            "profiles"]] == [profile["id"]]


@pytest.fixture(scope="module")
def profile_id(mesh: Mesh, catalog: dict[str, str]) -> str:
    with mesh.http("write") as writer:
        reply = writer.post("/api/v1/profiles", json=_body(
            [catalog["artist1"], catalog["t0"]], name="For recommendations"))
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def _scored(body: dict) -> list[tuple[str, float]]:
    return [(i["resource"]["juke_id"], i["final_score"]) for i in body["items"]]


def test_recommendations_with_profiles(mesh: Mesh, catalog: dict[str, str],
                                       profile_id: str) -> None:
    with mesh.http("read") as reader:
        by_profile = reader.post("/api/v1/recommendations/",
                                 json={"profiles": [profile_id], "limit": 5})
        by_seeds = reader.post("/api/v1/recommendations/", json={
            "seed_items": [catalog["artist1"], catalog["t0"]], "limit": 5})
        joined = reader.post("/api/v1/recommendations/metadata", json={
            "seed_items": [f"spotify:prof{RUN}1"], "profiles": [profile_id], "limit": 5})
        neither = reader.post("/api/v1/recommendations/", json={"limit": 5})
        unknown = reader.post("/api/v1/recommendations/",
                              json={"profiles": [str(uuid.uuid4())]})
    assert by_profile.status_code == 200, by_profile.text
    assert _scored(by_profile.json()) and _scored(by_profile.json()) == _scored(by_seeds.json())
    assert [s["juke_id"] for s in by_profile.json()["seeds"]] == [catalog["artist1"],
                                                                  catalog["t0"]]
    served = {i for i, _ in _scored(by_profile.json())}
    assert catalog["t4"] in served and catalog["t0"] not in served  # artist1's, not the seed
    assert joined.status_code == 200, joined.text
    assert [s["juke_id"] for s in joined.json()["seeds"]] == [
        catalog["t1"], catalog["artist1"], catalog["t0"]]
    assert neither.status_code == 400 and "seed_items or profiles" in neither.text
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"


def test_juke_recommend_online_and_offline_agree(mesh: Mesh, catalog: dict[str, str],
                                                 profile_id: str) -> None:
    mesh.refresh_rankers()
    args = ["recommend", "--seeds", f"profile song {RUN} 1", f"juke:track:{catalog['t2']}",
            "--profile", profile_id, "--types", "tracks", "albums", "--limit", "6"]
    started = time.perf_counter()
    online = mesh.juke(*args, "--json")
    online_s = time.perf_counter() - started
    started = time.perf_counter()
    offline = mesh.juke(*args, "--json", "--offline")
    offline_s = time.perf_counter() - started
    assert online.returncode == 0, online.stdout + online.stderr
    assert offline.returncode == 0, offline.stdout + offline.stderr
    served, local = json.loads(online.stdout), json.loads(offline.stdout)
    assert served["items"] and served["items"] == local["items"]
    assert served["seeds"] == local["seeds"] and served["model_bundle"] == local["model_bundle"]
    assert [s["uri"] for s in served["seeds"]] == [
        f"juke:track:{catalog['t1']}", f"juke:track:{catalog['t2']}",
        f"juke:artist:{catalog['artist1']}", f"juke:track:{catalog['t0']}"]
    print(f"juke recommend: online {online_s:.2f} s, offline {offline_s:.2f} s "
          f"({len(served['items'])} items)")

    table = mesh.juke(*args)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("rank"))
    assert lines[header].split() == ["rank", "name", "type", "final", "content", "metadata",
                                     "cooccurrence", "uri"]
    first = served["items"][0]
    assert lines[header + 1].split()[0] == "1" and lines[header + 1].endswith(first["uri"])
    assert f"{first['final_score']:.4f}" in lines[header + 1]

    bad = mesh.juke("recommend", "--seeds", "spotify:no-such-song", "--offline")
    assert bad.returncode == 2 and "spotify:no-such-song" in bad.stderr, bad.stderr
    bad = mesh.juke("recommend", "--profile", str(uuid.uuid4()))
    assert bad.returncode == 2 and "unknown taste profiles" in bad.stderr, bad.stderr
