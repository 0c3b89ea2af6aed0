"""REST catalog endpoints against a real identity service (gateway in-process)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import grpc
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1 import identity_pb2_grpc
from services.common.config import Settings
from services.common.db import Database
from services.identity.__main__ import SERVICE_NAME
from services.identity.service import IdentityService
from services.identity.servicer import IdentityServicer
from tests.api_keys import bearer, make_keys


@pytest.fixture(scope="module")
def identity_target(start_server: Callable[..., grpc.Channel]) -> str:
    def register(server: grpc.Server, db: Database) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(IdentityService(db)), server)

    channel = start_server("identity", [SERVICE_NAME], register)
    return channel._channel.target().decode()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def client(identity_target: str) -> Iterator[TestClient]:
    keys, entries = make_keys()
    settings = Settings.from_env({"JUKE_IDENTITY_TARGET": identity_target,
                                  "JUKE_API_KEYS": entries})
    with TestClient(create_app(settings), headers=bearer(keys["read"])) as c:
        yield c


@pytest.fixture(scope="module")
def recording(identity_target: str) -> dict[str, str]:
    with grpc.insecure_channel(identity_target) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        artist = stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[
            pb.ArtistInput(mbid=str(uuid.uuid4()), name="Lhasa de Sela")])).results[0]
        mbid, isrc = str(uuid.uuid4()), f"isrc-{uuid.uuid4().hex[:10]}"
        track = stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[pb.TrackInput(
            mbid=mbid, name="La Llorona", artist_refs=[artist.uri],
            external_ids=[common_pb2.ExternalId(source="isrc", external_id=isrc)])])).results[0]
    return {"juke_id": track.juke_id, "mbid": mbid, "isrc": isrc, "uri": track.uri}


def test_every_id_form_returns_the_same_track(client: TestClient, recording) -> None:
    refs = [recording["juke_id"], recording["mbid"], f"isrc:{recording['isrc']}",
            recording["uri"], f"juke:track:isrc:{recording['isrc']}"]
    for ref in refs:
        reply = client.get(f"/api/v1/catalog/track/{ref}")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["juke_id"] == recording["juke_id"]
        assert body["type"] == "track" and body["artists"][0]["name"] == "Lhasa de Sela"


def test_batch_resolve(client: TestClient, recording) -> None:
    reply = client.post("/api/v1/catalog/resolve", json={"refs": [
        recording["uri"], {"ref": recording["mbid"], "type": "track"}, "bogus"]})
    assert reply.status_code == 200
    results = reply.json()["results"]
    assert [r["found"] for r in results] == [True, True, False]
    assert results[1]["matched_by"] == "mbid"
    assert "bogus" in results[2]["error"]


def test_search(client: TestClient, recording) -> None:
    reply = client.get("/api/v1/catalog/search", params={"q": "la llorona", "types": ["track"]})
    assert reply.status_code == 200
    assert reply.json()["hits"][0]["resource"]["juke_id"] == recording["juke_id"]


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/api/v1/catalog/song/123", 400, "'song'"),
        ("/api/v1/catalog/track/not-an-id", 400, "'not-an-id'"),
        ("/api/v1/catalog/track/juke:track:", 400, "juke:track:"),
        (f"/api/v1/catalog/track/{uuid.UUID(int=7)}", 404, str(uuid.UUID(int=7))),
        ("/api/v1/catalog/search?q=", 400, "q"),
        ("/api/v1/catalog/search?q=x&limit=1000", 400, "limit"),
    ],
)
def test_bad_input_is_a_4xx_json_error(client: TestClient, path: str, status: int,
                                       needle: str) -> None:
    reply = client.get(path)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert needle in error["message"]
    assert error["code"] in ("INVALID_ARGUMENT", "NOT_FOUND")


def test_conflicting_write_maps_to_409(identity_target: str, recording) -> None:
    with grpc.insecure_channel(identity_target) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[pb.TrackInput(
                mbid=str(uuid.uuid4()), name="x", external_ids=[
                    common_pb2.ExternalId(source="isrc", external_id=recording["isrc"])])]))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_openapi_documents_the_catalog(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/catalog/resolve", "/api/v1/catalog/search",
            "/api/v1/catalog/{rtype}/{ref}"} <= set(paths)
    assert client.get("/docs").status_code == 200
