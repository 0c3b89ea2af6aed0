"""The profile routes and `profiles` in recommendation requests, over fake gRPC stubs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient

from gateway.app import create_app
from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.config import Settings
from tests.api_keys import bearer, make_keys

KEYS, ENTRIES = make_keys()
ARTIST = common_pb2.ResourceSummary(type=common_pb2.RESOURCE_TYPE_ARTIST, juke_id="ar1",
                                    name="Nirvana", uri="juke:artist:ar1")


class _Recorder:
    """A stub whose every RPC records its request and answers from `replies`."""

    def __init__(self, **replies: Any) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._replies = replies

    def __getattr__(self, rpc: str) -> Any:
        async def call(request: Any, *_: Any, **__: Any) -> Any:
            self.calls.append((rpc, request))
            reply = self._replies[rpc]
            return reply(request) if callable(reply) else reply
        return call


def _resolve(request: ipb.BatchResolveRequest) -> ipb.BatchResolveResponse:
    known = {"juke:artist:ar1": ARTIST}
    return ipb.BatchResolveResponse(results=[
        ipb.ResolveResult(ref=r.ref, found=True, resource=known[r.ref]) if r.ref in known else
        ipb.ResolveResult(ref=r.ref, error="malformed reference", failure=MALFORMED)
        if " " in r.ref else
        ipb.ResolveResult(ref=r.ref, error=f"no resource matches {r.ref!r}", failure=NOT_FOUND)
        for r in request.refs])


MALFORMED, NOT_FOUND = ipb.RESOLVE_FAILURE_MALFORMED, ipb.RESOLVE_FAILURE_NOT_FOUND


def _client() -> tuple[TestClient, _Recorder, _Recorder]:
    app = create_app(Settings.from_env({"JUKE_API_KEYS": ENTRIES}))
    identity = _Recorder(BatchResolve=_resolve, SearchResources=ipb.SearchResourcesResponse(
        hits=[ipb.SearchHit(resource=ARTIST, score=1.0)]))
    profile = rpb.TasteProfile(id="p1", user_id="u1", name="Mine", favourites=[ARTIST])
    ranker = _Recorder(CreateTasteProfile=rpb.CreateTasteProfileResponse(profile=profile),
                       UpdateTasteProfile=rpb.UpdateTasteProfileResponse(profile=profile),
                       Recommend=rpb.RecommendResponse(result=rpb.RecommendResult()))
    app.state.clients = SimpleNamespace(identity=identity, ranker=ranker)
    return TestClient(app), identity, ranker


def test_favourite_names_resolve_like_seeds_before_the_ranker_sees_them() -> None:
    client, _, ranker = _client()
    reply = client.post("/api/v1/profiles", headers=bearer(KEYS["write"]), json={
        "user_id": "u1", "name": "Mine", "favourites": ["juke:artist:ar1", "Nir vana"]})
    assert reply.status_code == 201, reply.text
    assert reply.json()["favourites"] == [{"type": "artist", "juke_id": "ar1", "name": "Nirvana",
                                           "uri": "juke:artist:ar1", "mbid": None}]
    (rpc, sent), = ranker.calls
    assert rpc == "CreateTasteProfile" and list(sent.favourites) == ["ar1", "ar1"]


def test_an_unknown_favourite_is_400_with_its_index_and_reaches_no_ranker() -> None:
    client, _, ranker = _client()
    reply = client.post("/api/v1/profiles", headers=bearer(KEYS["write"]), json={
        "user_id": "u1", "name": "Mine", "favourites": ["juke:artist:ar1", "spotify:nope"]})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["index"] == 1 and "favourite 'spotify:nope'" in error["message"]
    assert not ranker.calls


def test_bad_bodies_and_roles() -> None:
    client, _, ranker = _client()
    write, read = bearer(KEYS["write"]), bearer(KEYS["read"])
    body = {"user_id": "u1", "name": "Mine", "favourites": ["juke:artist:ar1"]}
    assert client.post("/api/v1/profiles", headers=read, json=body).status_code == 403
    assert client.post("/api/v1/profiles", json=body).status_code == 401
    for bad in ({**body, "favourites": []}, {**body, "name": ""},
                {**body, "favourites": ["x"] * 101}, {"name": "n", "favourites": ["x"]}):
        reply = client.post("/api/v1/profiles", headers=write, json=bad)
        assert reply.status_code == 400 and reply.json()["error"]["code"] == "INVALID_ARGUMENT"
    empty = client.put("/api/v1/profiles/p1", headers=write, json={})
    assert empty.status_code == 400 and "give a name, favourites or both" in empty.text
    renamed = client.put("/api/v1/profiles/p1", headers=write, json={"name": "New"})
    assert renamed.status_code == 200, renamed.text
    assert ranker.calls[-1][1] == rpb.UpdateTasteProfileRequest(id="p1", name="New")


def test_recommendations_take_profiles_instead_of_seeds() -> None:
    client, identity, ranker = _client()
    read = bearer(KEYS["read"])
    neither = client.post("/api/v1/recommendations/", headers=read, json={"limit": 3})
    assert neither.status_code == 400
    assert "at least one of seed_items or profiles" in neither.json()["error"]["message"]
    reply = client.post("/api/v1/recommendations/", headers=read,
                        json={"profiles": ["p1"], "limit": 3})
    assert reply.status_code == 200, reply.text
    (rpc, sent), = ranker.calls
    assert rpc == "Recommend" and list(sent.query.profile_ids) == ["p1"]
    assert not sent.query.seed_item_ids and not identity.calls  # nothing to resolve
