"""The model registry over REST and who may decide a promotion, through create_app with
fake gRPC and Temporal clients (no I/O)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, get_args

import grpc
import pytest
from fastapi.testclient import TestClient
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.app import create_app
from gateway.auth import Role, key_entry, new_key
from gateway.routes.models import Kind, State
from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.config import Settings
from services.common.promotion_contracts import KINDS
from services.common.registry import STATES
from services.ranker.workflows.promotion_contracts import Approval
from tests.api_keys import bearer

OWNER = "project-owner"
KEYS = {name: new_key() for name in (OWNER, "ops-admin", "reader")}
ENTRIES = ",".join([key_entry(OWNER, Role.ADMIN, KEYS[OWNER]),
                    key_entry("ops-admin", Role.ADMIN, KEYS["ops-admin"]),
                    key_entry("reader", Role.READ, KEYS["reader"])])
APPROVE = "/api/v1/promotions/m1/approve?kind=cf"


class FakeTemporal:
    def __init__(self) -> None:
        self.updates: list[tuple[str, Approval]] = []

    def get_workflow_handle(self, workflow_id: str) -> Any:
        async def execute_update(name: str, arg: Approval, **_: Any) -> str:
            self.updates.append((workflow_id, arg))
            return "approved" if arg.approve else "rejected"

        return SimpleNamespace(execute_update=execute_update)


class NotFound(grpc.aio.AioRpcError):
    def __init__(self) -> None:
        super().__init__(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(),
                         details="no such model")


def _model(kind: str, model_id: str, state: str) -> common_pb2.RegistryModel:
    return common_pb2.RegistryModel(kind=kind, id=model_id, label=f"{kind} model", state=state,
                                    activated_at=Timestamp(seconds=1_700_000_000))


class Stub:
    """Records each call's request; answers from `replies` (an exception is raised)."""

    def __init__(self, **replies: Any) -> None:
        self.requests: list[Any] = []
        self._replies = replies

    def __getattr__(self, name: str) -> Any:
        async def call(request: Any, *_: Any, **__: Any) -> Any:
            self.requests.append(request)
            reply = self._replies[name]
            if isinstance(reply, Exception):
                raise reply
            return reply

        return call


@pytest.fixture
def world() -> Iterator[tuple[TestClient, SimpleNamespace]]:
    temporal = FakeTemporal()
    entry = common_pb2.ActivationLogEntry(
        kind="embedding", model_id="e1", event="activated", path="promotion",
        approved_by=OWNER, gates_json='{"coverage": {"candidate": 0.5, "passed": true}}')

    async def connect() -> FakeTemporal:
        return temporal

    app = create_app(Settings.from_env({"JUKE_API_KEYS": ENTRIES}))
    clients = SimpleNamespace(
        temporal=connect, temporal_client=temporal,
        ranker=Stub(ListRegistryModels=rpb.ListRegistryModelsResponse(models=[
            _model("cf", "c1", "active"), _model("weights", "w1", "known_good")]),
            GetModelHistory=NotFound(),
            RollbackModel=rpb.RollbackModelResponse(restored=_model("cf", "c0", "known_good"),
                                                    deactivated_id="c1")),
        embedder=Stub(ListRegistryModels=epb.ListRegistryModelsResponse(models=[
            _model("embedding", "e1", "known_good")]),
            GetModelHistory=epb.GetModelHistoryResponse(
                model=_model("embedding", "e1", "known_good"), entries=[entry])))
    app.state.clients = clients
    yield TestClient(app), clients


def test_states_are_the_registrys() -> None:
    assert set(get_args(State)) == set(STATES)


def test_kinds_are_the_promotions() -> None:
    """Every kind the promotion takes (the reranker included) is one the routes accept."""
    assert set(get_args(Kind)) == set(KINDS)


def test_an_admin_key_that_is_not_the_owners_is_refused_although_it_names_the_owner(
        world: tuple[TestClient, SimpleNamespace]) -> None:
    client, clients = world
    for body in ({"approver": OWNER, "approve": True}, {"approve": True}):
        reply = client.post(APPROVE, json=body, headers=bearer(KEYS["ops-admin"]))
        assert reply.status_code == 403, reply.text
        error = reply.json()["error"]
        assert error["code"] == "PERMISSION_DENIED" and "'ops-admin' may not decide" in \
            error["message"]
    assert clients.temporal_client.updates == []  # nothing reached the workflow
    other = client.post(APPROVE, json={"approver": "someone-else"}, headers=bearer(KEYS[OWNER]))
    assert other.status_code == 400 and "not a name in the body" in other.text


def test_the_owners_key_decides_as_the_owner(
        world: tuple[TestClient, SimpleNamespace]) -> None:
    client, clients = world
    reply = client.post(APPROVE, json={"approve": True}, headers=bearer(KEYS[OWNER]))
    assert reply.status_code == 200 and reply.json()["outcome"] == "approved", reply.text
    assert clients.temporal_client.updates == [("promotion-cf-m1", Approval(OWNER, True, ""))]
    same = client.post(APPROVE, json={"approver": OWNER, "approve": False, "reason": "no"},
                       headers=bearer(KEYS[OWNER]))
    assert same.status_code == 200 and same.json()["outcome"] == "rejected"


def test_models_lists_every_kind_and_filters(
        world: tuple[TestClient, SimpleNamespace]) -> None:
    client, clients = world
    everything = client.get("/api/v1/models", headers=bearer(KEYS["reader"]))
    assert everything.status_code == 200, everything.text
    assert [(m["kind"], m["state"]) for m in everything.json()] == \
        [("embedding", "known_good"), ("cf", "active"), ("weights", "known_good")]
    assert everything.json()[0]["activated_at"].startswith("2023-11-14T")
    cf = client.get("/api/v1/models?kind=cf&state=active", headers=bearer(KEYS["reader"]))
    assert cf.status_code == 200
    assert clients.ranker.requests[-1] == rpb.ListRegistryModelsRequest(kind="cf",
                                                                       state="active")
    assert len(clients.embedder.requests) == 1  # only the first call asked the embedder
    bad = client.get("/api/v1/models?state=nope", headers=bearer(KEYS["reader"]))
    assert bad.status_code == 400 and "nope" in bad.text


def test_history_of_a_model_the_ranker_does_not_know_comes_from_the_embedder(
        world: tuple[TestClient, SimpleNamespace]) -> None:
    client, _ = world
    reply = client.get("/api/v1/models/e1/history", headers=bearer(KEYS["reader"]))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model"]["kind"] == "embedding"
    [entry] = body["entries"]
    assert (entry["event"], entry["path"], entry["approved_by"]) == \
        ("activated", "promotion", OWNER)
    assert entry["gates"] == {"coverage": {"candidate": 0.5, "passed": True}}


@pytest.mark.parametrize("kind", ["cf", "weights", "cooccurrence"])
def test_rollback_of_a_ranker_kind_names_the_kind_and_the_caller(
        world: tuple[TestClient, SimpleNamespace], kind: str) -> None:
    client, clients = world
    reply = client.post("/api/v1/models/rollback", json={"kind": kind},
                        headers=bearer(KEYS["ops-admin"]))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"kind": kind, "restored_id": "c0", "restored": "cf model",
                            "deactivated_id": "c1"}
    assert clients.ranker.requests[-1] == rpb.RollbackModelRequest(kind=kind,
                                                                  requested_by="ops-admin")
