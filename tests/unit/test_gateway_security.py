"""The gateway's API keys, roles and limits, through create_app with fake gRPC clients."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth import Role, install_security, is_api, requires, route_role, served_routes
from gateway.errors import install_error_handlers
from juke.embedder.v1 import embedder_pb2 as epb
from juke.identity.v1 import identity_pb2 as ipb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.config import Settings
from tests.api_keys import bearer, make_keys

# Every /api route and the least role it needs. A new route fails
# test_every_api_route_declares_its_role until it is listed here (and declares a role).
ROLES = {
    ("POST", "/api/v1/catalog/resolve"): "read",
    ("GET", "/api/v1/catalog/search"): "read",
    ("GET", "/api/v1/catalog/{rtype}/{ref:path}"): "read",
    ("GET", "/api/v1/corpus"): "read",
    ("GET", "/api/v1/corpus/{entry_id}/eligibility"): "read",
    ("POST", "/api/v1/training-sets/check"): "read",
    ("POST", "/api/v1/recommendations/"): "read",
    ("POST", "/api/v1/recommendations/metadata"): "read",
    ("POST", "/api/v1/recommendations/cooccurrence"): "read",
    ("POST", "/api/v1/recommendations/content"): "read",
    ("GET", "/api/v1/health/models"): "read",
    ("GET", "/api/v1/users/{user_id}/recommendations"): "read",
    ("GET", "/api/v1/users/{user_id}/daily-mixes"): "read",
    ("GET", "/api/v1/users/{user_id}/taste"): "read",
    ("GET", "/api/v1/{kind}/{item_id}/similar"): "read",
    ("POST", "/api/v1/radio"): "read",
    ("GET", "/api/v1/radio/{session_id}/next"): "read",
    ("POST", "/api/v1/events"): "write",
    ("POST", "/api/v1/profiles"): "write",
    ("GET", "/api/v1/profiles/{profile_id}"): "read",
    ("PUT", "/api/v1/profiles/{profile_id}"): "write",
    ("DELETE", "/api/v1/profiles/{profile_id}"): "write",
    ("GET", "/api/v1/users/{user_id}/profiles"): "read",
    ("POST", "/api/v1/playlists"): "write",
    ("GET", "/api/v1/playlists/{playlist_id}"): "read",
    ("PUT", "/api/v1/playlists/{playlist_id}"): "write",
    ("DELETE", "/api/v1/playlists/{playlist_id}"): "write",
    ("POST", "/api/v1/playlists/{playlist_id}/items"): "write",
    ("GET", "/api/v1/users/{user_id}/playlists"): "read",
    ("POST", "/api/v1/users/{user_id}/playlists/jspf"): "write",
    ("GET", "/api/v1/playlists/{playlist_id}/continuation"): "read",
    ("POST", "/api/v1/playlists/{playlist_id}/match"): "read",
    ("POST", "/api/v1/users/{user_id}/playlists/match"): "read",
    ("POST", "/api/v1/promotions/{candidate_id}/approve"): "admin",
    ("POST", "/api/v1/models/rollback"): "admin",
    ("GET", "/api/v1/models"): "read",
    ("GET", "/api/v1/models/{model_id}/history"): "read",
}
KEYS, ENTRIES = make_keys()
SEARCH = "/api/v1/catalog/search?q=x"
ROLLBACK = "/api/v1/models/rollback"


def _stub(**replies: Any) -> SimpleNamespace:
    async def reply_with(value: Any, *_: Any, **__: Any) -> Any:
        return value

    return SimpleNamespace(**{name: (lambda *a, v=value, **k: reply_with(v, *a, **k))
                              for name, value in replies.items()})


def _app(**env: str) -> FastAPI:
    app = create_app(Settings.from_env(env))
    app.state.clients = SimpleNamespace(  # what the lifespan would connect (not run here)
        identity=_stub(SearchResources=ipb.SearchResourcesResponse()),
        ranker=_stub(RecordEvents=rpb.RecordEventsResponse(accepted=1, item_ids=["t1"])),
        embedder=_stub(RollbackModel=epb.RollbackModelResponse(
            restored=epb.EmbeddingModel(id="m1", name="msd-musicnn", version="0.1.0"))),
    )
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    yield TestClient(_app(JUKE_API_KEYS=ENTRIES))


def _error(reply: Any, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["error"]["code"] == code
    return str(reply.json()["error"]["message"])


def _event() -> dict[str, object]:
    return {"events": [{"user_id": "u1", "item": "juke:track:t1", "type": "play",
                        "timestamp": datetime.now(UTC).isoformat()}]}


def test_every_api_route_declares_its_role() -> None:
    app = create_app(Settings.from_env({}))
    declared: dict[tuple[str, str], str] = {}
    for route in served_routes(app):  # app.routes, routers' routes included
        if is_api(route):
            role = route_role(route)
            assert role is not None, f"{route} declares no role"
            for method in getattr(route, "methods", ()):
                declared[(method, str(getattr(route, "path", "")))] = str(role)
        else:
            assert route_role(route) is None, f"{route} is open but declares a role"
    assert declared == ROLES


def test_a_route_without_a_role_refuses_to_start() -> None:
    app = FastAPI()
    app.include_router(APIRouter(prefix="/api/v1", dependencies=[requires(Role.READ)]))
    open_router = APIRouter(prefix="/api/v1")
    open_router.add_api_route("/open", lambda: {}, methods=["POST"])
    app.include_router(open_router)
    with pytest.raises(RuntimeError, match=r"without a role .*\['POST'\] /api/v1/open"):
        install_security(app, Settings.from_env({}))

    late = FastAPI()  # included after install_security: refused when the app starts
    install_security(late, Settings.from_env({}))
    late.include_router(open_router)
    with pytest.raises(RuntimeError, match="/api/v1/open"), TestClient(late):
        pass


def test_missing_key_is_401_with_a_challenge(client: TestClient) -> None:
    reply = client.get(SEARCH)
    assert "missing API key" in _error(reply, 401, "UNAUTHENTICATED")
    assert reply.headers["www-authenticate"] == 'Bearer realm="juke"'
    basic = client.get(SEARCH, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert "must be `Bearer <API key>`" in _error(basic, 401, "UNAUTHENTICATED")


def test_wrong_key_is_401(client: TestClient) -> None:
    for headers in (bearer("not-a-key"), {"X-API-Key": KEYS["admin"] + "x"},
                    {**bearer(KEYS["read"]), "X-API-Key": KEYS["admin"]}):
        reply = client.get(SEARCH, headers=headers)
        _error(reply, 401, "UNAUTHENTICATED")
        assert 'error="invalid_token"' in reply.headers["www-authenticate"]


def test_insufficient_role_is_403_naming_the_role(client: TestClient) -> None:
    reply = client.post(ROLLBACK, json={"kind": "embedding"}, headers=bearer(KEYS["read"]))
    message = _error(reply, 403, "PERMISSION_DENIED")
    assert message == ("API key 'test-read' has role read; POST /api/v1/models/rollback needs "
                       "role admin")
    assert reply.json()["error"]["required_role"] == "admin"
    write = client.post(ROLLBACK, json={"kind": "embedding"}, headers=bearer(KEYS["write"]))
    _error(write, 403, "PERMISSION_DENIED")
    events = client.post("/api/v1/events", json=_event(), headers=bearer(KEYS["read"]))
    assert "needs role write" in _error(events, 403, "PERMISSION_DENIED")


def test_the_right_key_passes_and_roles_are_cumulative(client: TestClient) -> None:
    for role in ("read", "write", "admin"):
        assert client.get(SEARCH, headers=bearer(KEYS[role])).status_code == 200
        assert client.get(SEARCH, headers={"X-API-Key": KEYS[role]}).status_code == 200
    for role in ("write", "admin"):
        reply = client.post("/api/v1/events", json=_event(), headers=bearer(KEYS[role]))
        assert reply.status_code == 200 and reply.json()["accepted"] == 1
    rolled = client.post(ROLLBACK, json={"kind": "embedding"}, headers=bearer(KEYS["admin"]))
    assert rolled.status_code == 200 and rolled.json()["restored_id"] == "m1"
    both = client.get(SEARCH, headers={**bearer(KEYS["read"]), "X-API-Key": KEYS["read"]})
    assert both.status_code == 200


def test_no_keys_configured_refuses_every_api_request_but_not_health_or_docs() -> None:
    client = TestClient(_app())
    for headers in ({}, bearer(KEYS["admin"])):
        message = _error(client.get(SEARCH, headers=headers), 401, "UNAUTHENTICATED")
        assert "no API keys are configured" in message and "JUKE_API_KEYS_FILE" in message
    assert client.get("/healthz").status_code == 200
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])
    assert schema["paths"]["/api/v1/models/rollback"]["post"]["security"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_an_oversized_body_is_413() -> None:
    client = TestClient(_app(JUKE_API_KEYS=ENTRIES, JUKE_MAX_REQUEST_BYTES="2048"))
    headers = bearer(KEYS["write"])
    small = client.post("/api/v1/events", json=_event(), headers=headers)
    assert small.status_code == 200, small.text
    big = {"events": _event()["events"] * 40}  # type: ignore[operator]
    declared = client.post("/api/v1/events", json=big, headers=headers)
    assert "declared Content-Length" in _error(declared, 413, "PAYLOAD_TOO_LARGE")
    assert "2048 bytes" in declared.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes are counted
        yield b'{"events": ['
        for _ in range(100):
            yield b'{"user_id": "u1", "item": "x", "type": "play"},'

    streamed = client.post("/api/v1/events", content=chunks(),
                           headers={**headers, "content-type": "application/json"})
    assert "bytes sent" in _error(streamed, 413, "PAYLOAD_TOO_LARGE")
    unauthenticated = client.post("/api/v1/events", json=big)  # refused before reading it
    _error(unauthenticated, 413, "PAYLOAD_TOO_LARGE")


def test_over_the_rate_is_429_with_retry_after() -> None:
    client = TestClient(_app(JUKE_API_KEYS=ENTRIES, JUKE_RATE_LIMIT_PER_MINUTE="3"))
    assert [client.get(SEARCH, headers=bearer(KEYS["read"])).status_code
            for _ in range(3)] == [200, 200, 200]
    reply = client.get(SEARCH, headers=bearer(KEYS["read"]))
    message = _error(reply, 429, "RESOURCE_EXHAUSTED")
    assert "'test-read' is over its limit of 3 requests a minute" in message
    assert 1 <= int(reply.headers["retry-after"]) <= 20
    assert client.get(SEARCH, headers=bearer(KEYS["admin"])).status_code == 200  # per key
    assert client.get("/healthz").status_code == 200


def test_router_and_route_roles_combine_and_a_request_takes_one_token() -> None:
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(prefix="/api/v1", dependencies=[requires(Role.READ)])
    router.add_api_route("/x", lambda: {}, methods=["POST"],
                         dependencies=[requires(Role.ADMIN)])
    app.include_router(router)
    install_security(app, Settings.from_env({"JUKE_API_KEYS": ENTRIES,
                                             "JUKE_RATE_LIMIT_PER_MINUTE": "3"}))
    client = TestClient(app)
    assert route_role(next(r for r in served_routes(app) if is_api(r))) is Role.ADMIN
    _error(client.post("/api/v1/x", headers=bearer(KEYS["write"])), 403, "PERMISSION_DENIED")
    assert [client.post("/api/v1/x", headers=bearer(KEYS["admin"])).status_code
            for _ in range(4)] == [200, 200, 200, 429]
