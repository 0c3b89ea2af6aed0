"""Requests the fuzz test (tests/e2e/test_openapi_fuzz_e2e.py) once answered with 500: text
holding NUL, a body not sent as JSON, an event time outside what a timestamp can hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from juke.identity.v1 import identity_pb2 as ipb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.config import Settings
from services.common.grpc_server import ServiceServer
from services.common.nul_text import find_nul_text
from tests.api_keys import bearer, make_keys
from tests.conftest import free_port

SERVICE = "juke.test.v1.FailingService"
KEYS, ENTRIES = make_keys()


def test_find_nul_text_names_the_field_holding_it() -> None:
    events = rpb.RecordEventsRequest(events=[
        rpb.ListeningEvent(user_id="u1", context={"app": "web"}),
        rpb.ListeningEvent(user_id="u2", context={"app": "a\x00b"})])
    assert find_nul_text(events) == ("events[1].context['app']", "a\x00b")
    key = rpb.RecordEventsRequest(events=[rpb.ListeningEvent(context={"\x00": "v"})])
    assert find_nul_text(key) == ("events[0].context key", "\x00")
    seeds = rpb.RecommendRequest(query=rpb.RecommendQuery(seed_item_ids=["t1", "t\x002"]))
    assert find_nul_text(seeds) == ("query.seed_item_ids[1]", "t\x002")
    assert find_nul_text(rpb.RecommendRequest(query=rpb.RecommendQuery(
        seed_item_ids=["t1"], limit=3))) is None
    assert find_nul_text(b"\x00 raw bytes are not a message") is None


@pytest.fixture
def failing_search() -> Iterator[grpc.Channel]:
    """A ServiceServer whose one method fails the way the database fails on NUL text."""

    def search(request: ipb.SearchResourcesRequest, context: grpc.ServicerContext) -> Any:
        raise RuntimeError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Search": grpc.unary_unary_rpc_method_handler(
            search, request_deserializer=ipb.SearchResourcesRequest.FromString)})
    server = ServiceServer("failing", f"127.0.0.1:{free_port()}", service_names=[SERVICE],
                           register=lambda s: s.add_generic_rpc_handlers((handler,)),
                           ready_check=lambda: None, workers=2)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield channel
    finally:
        channel.close()
        server.stop(grace=0)


def test_a_failure_on_nul_text_is_the_callers_invalid_argument(
    failing_search: grpc.Channel,
) -> None:
    call = failing_search.unary_unary(f"/{SERVICE}/Search",
                                      request_serializer=ipb.SearchResourcesRequest.SerializeToString)
    with pytest.raises(grpc.RpcError) as nul:
        call(ipb.SearchResourcesRequest(query="a\x00b", limit=3))
    assert nul.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert nul.value.details() == r"query 'a\x00b': text may not contain NUL (\x00) characters"
    with pytest.raises(grpc.RpcError) as other:  # the same failure without NUL: our bug
        call(ipb.SearchResourcesRequest(query="ab", limit=3))
    assert other.value.code() == grpc.StatusCode.INTERNAL


@pytest.fixture
def gateway() -> TestClient:
    app = create_app(Settings.from_env({"JUKE_API_KEYS": ENTRIES}))
    recorded: list[rpb.RecordEventsRequest] = []

    async def record(request: rpb.RecordEventsRequest, **_: Any) -> rpb.RecordEventsResponse:
        recorded.append(request)
        return rpb.RecordEventsResponse(accepted=len(request.events))

    app.state.clients = SimpleNamespace(ranker=SimpleNamespace(RecordEvents=record))
    app.state.recorded = recorded
    return TestClient(app, headers=bearer(KEYS["write"]))


def _event(timestamp: str) -> dict[str, str]:
    return {"user_id": "u1", "item": "juke:track:t1", "type": "play", "timestamp": timestamp}


def test_an_event_time_no_timestamp_can_hold_is_400_naming_it(gateway: TestClient) -> None:
    now = datetime.now(UTC).isoformat()
    reply = gateway.post("/api/v1/events", json={"events": [
        _event(now), _event("0001-01-01T00:00:00+00:01")]})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["index"] == 1
    assert error["message"] == "events[1]: timestamp 0001-01-01T00:00:00+00:01 is out of range"
    assert gateway.app.state.recorded == []  # nothing of the batch went on
    assert gateway.post("/api/v1/events", json={"events": [_event(now)]}).status_code == 200


def test_a_body_not_sent_as_json_is_415_naming_its_content_type(gateway: TestClient) -> None:
    reply = gateway.post("/api/v1/events", content=b'{"events": []}',
                         headers={"Content-Type": "text/plain"})
    assert reply.status_code == 415, reply.text
    assert reply.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "'text/plain'" in reply.json()["error"]["message"]


def test_an_invalid_input_json_cannot_spell_is_shown_as_text(gateway: TestClient) -> None:
    # Python's JSON parser takes NaN, which a JSON answer cannot carry back.
    reply = gateway.post("/api/v1/events", content=b'{"events": [NaN]}',
                         headers={"Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["details"][0]["input"] == "nan"
