"""What a REST client sees when a service behind the gateway is stalled, down, comes back,
or is up but its own dependency is down: 504 or 503 with Retry-After, JSON naming the
service, never a hang or a 500. Only status codes and bodies are asserted, never timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth import Role, key_entry, new_key
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.config import Settings
from services.common.grpc_client import service_channel
from tests.api_keys import bearer, make_keys
from tests.conftest import free_port
from tests.grpc_fakes import down_target, serving, stalled_target

RANKER = "juke.ranker.v1.RankerService"
HEALTH = "/api/v1/health/models"  # one call to the ranker, nothing else
KEYS, ENTRIES = make_keys()
GENEROUS_S = 60  # the overall bound: the gateway must answer, however slowly


@contextmanager
def gateway(tmp_path: Path, **env: str) -> Iterator[TestClient]:
    settings = Settings.from_env({"JUKE_HOME": str(tmp_path / "home"), "JUKE_API_KEYS": ENTRIES,
                                  **env})  # env may replace the keys
    with TestClient(create_app(settings), headers=bearer(KEYS["admin"])) as client:
        yield client


def answered(request: Callable[[], httpx.Response]) -> httpx.Response:
    """The response, or a failure if the gateway hangs."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(request).result(timeout=GENEROUS_S)


def model_health(request: rpb.GetModelHealthRequest,
                 context: grpc.ServicerContext) -> rpb.GetModelHealthResponse:
    return rpb.GetModelHealthResponse()


@contextmanager
def ranker(handler: Callable[..., rpb.GetModelHealthResponse],
           port: int | None = None) -> Iterator[str]:
    with serving(RANKER, {"GetModelHealth": handler}, name="ranker", port=port,
                 request_deserializer=rpb.GetModelHealthRequest.FromString,
                 response_serializer=rpb.GetModelHealthResponse.SerializeToString) as target:
        yield target


def test_a_stalled_service_is_a_504_naming_it(tmp_path: Path) -> None:
    with stalled_target() as target, \
            gateway(tmp_path, JUKE_RANKER_TARGET=target, JUKE_GRPC_DEADLINE_S="0.5") as client:
        reply = answered(lambda: client.get(HEALTH))
    assert reply.status_code == 504, reply.text
    assert reply.json()["error"]["code"] == "DEADLINE_EXCEEDED"
    assert reply.json()["error"]["dependency"] == "ranker"
    assert "the ranker service did not answer" in reply.json()["error"]["message"]


def test_a_service_that_is_down_is_a_503_with_retry_after(tmp_path: Path) -> None:
    with gateway(tmp_path, JUKE_RANKER_TARGET=down_target()) as client:
        reply = answered(lambda: client.get(HEALTH))
    assert reply.status_code == 503, reply.text
    assert int(reply.headers["retry-after"]) > 0
    assert reply.json() == {"error": {"code": "UNAVAILABLE", "dependency": "ranker",
                                      "message": "the ranker service is unavailable"}}


def test_the_gateway_uses_a_service_again_once_it_is_back(tmp_path: Path) -> None:
    port = free_port()
    with gateway(tmp_path, JUKE_RANKER_TARGET=f"127.0.0.1:{port}") as client:
        assert answered(lambda: client.get(HEALTH)).status_code == 503
        with ranker(model_health, port=port):
            deadline = time.monotonic() + GENEROUS_S
            while (reply := answered(lambda: client.get(HEALTH))).status_code != 200:
                assert reply.status_code == 503, reply.text
                assert time.monotonic() < deadline, "the gateway never reconnected"
                time.sleep(0.2)


def test_a_dependency_of_the_service_called_is_named(tmp_path: Path) -> None:
    """The ranker is up, identity (which it calls) is down: 503 naming identity."""
    settings = Settings.from_env({"JUKE_HOME": str(tmp_path / "home"),
                                  "JUKE_IDENTITY_TARGET": down_target()})
    identity = service_channel("identity", settings)

    def needs_identity(request: rpb.GetModelHealthRequest,
                       context: grpc.ServicerContext) -> rpb.GetModelHealthResponse:
        identity.unary_unary("/juke.identity.v1.IdentityService/GetCatalogStats")(b"")
        return rpb.GetModelHealthResponse()

    with ranker(needs_identity) as target, \
            gateway(tmp_path, JUKE_RANKER_TARGET=target) as client:
        reply = answered(lambda: client.get(HEALTH))
    identity.close()
    assert reply.status_code == 503, reply.text
    assert "retry-after" in reply.headers
    assert reply.json()["error"] == {"code": "UNAVAILABLE", "dependency": "identity",
                                     "message": "the identity service is unavailable"}


def test_temporal_down_is_a_503_naming_it(tmp_path: Path) -> None:
    owner = new_key()  # only the approver's own key gets as far as Temporal
    with gateway(tmp_path, JUKE_TEMPORAL_ADDRESS=down_target(),
                 JUKE_API_KEYS=f"{ENTRIES},{key_entry('project-owner', Role.ADMIN, owner)}",
                 ) as client:
        reply = answered(lambda: client.post(
            "/api/v1/promotions/0190a000-0000-7000-8000-000000000000/approve",
            headers=bearer(owner), json={}))
    assert reply.status_code == 503, reply.text
    assert "retry-after" in reply.headers
    assert reply.json()["error"]["dependency"] == "temporal"


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_a_service_refusing_the_gateways_token_is_a_500(tmp_path: Path,
                                                        token: str | None) -> None:
    """The client's key was fine; the gateway's own credentials were not: our fault."""
    from services.common.internal_auth import TokenCheck, caller_entry, parse_caller

    accepted = parse_caller(caller_entry("gateway", "the-token"), "test")
    with serving(RANKER, {"GetModelHealth": model_health}, name="ranker",
                 interceptors=[TokenCheck([accepted])]) as target, \
            gateway(tmp_path, JUKE_RANKER_TARGET=target,
                    **({"JUKE_INTERNAL_TOKEN": token} if token else {})) as client:
        reply = answered(lambda: client.get(HEALTH))
    assert reply.status_code == 500, reply.text
    assert reply.json()["error"]["code"] == "INTERNAL"
