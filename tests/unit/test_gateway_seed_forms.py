"""Seeds in an ID form reach the ranker as given (it resolves them from its catalog
snapshot); only names and other forms cost the gateway a call to identity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from fastapi.testclient import TestClient

from gateway.app import create_app
from juke.ranker.v1 import ranker_pb2 as rpb
from services.common.config import Settings
from tests.api_keys import bearer, make_keys
from tests.grpc_fakes import down_target, serving

KEYS, ENTRIES = make_keys()
JUKE_ID = "0190a000-0000-7000-8000-000000000001"
URI = "juke:track:0190a000-0000-7000-8000-000000000002"


@contextmanager
def mesh(tmp_path: Path, seen: list[list[str]]) -> Iterator[TestClient]:
    def recommend(request: rpb.RecommendRequest,
                  context: grpc.ServicerContext) -> rpb.RecommendResponse:
        seen.append(list(request.query.seed_item_ids))
        return rpb.RecommendResponse()

    with serving("juke.ranker.v1.RankerService", {"Recommend": recommend}, name="ranker",
                 request_deserializer=rpb.RecommendRequest.FromString,
                 response_serializer=rpb.RecommendResponse.SerializeToString) as ranker:
        # Identity is down: any call the gateway made to it would be a 503.
        settings = Settings.from_env({"JUKE_HOME": str(tmp_path / "home"),
                                      "JUKE_API_KEYS": ENTRIES, "JUKE_RANKER_TARGET": ranker,
                                      "JUKE_IDENTITY_TARGET": down_target()})
        with TestClient(create_app(settings), headers=bearer(KEYS["read"])) as client:
            yield client


def test_id_seeds_go_to_the_ranker_without_identity(tmp_path: Path) -> None:
    seen: list[list[str]] = []
    with mesh(tmp_path, seen) as client:
        reply = client.post("/api/v1/recommendations/", json={"seed_items": [URI, JUKE_ID]})
    assert reply.status_code == 200, reply.text
    assert seen == [[URI, JUKE_ID]]  # request order kept


def test_a_name_among_the_seeds_still_asks_identity(tmp_path: Path) -> None:
    seen: list[list[str]] = []
    with mesh(tmp_path, seen) as client:
        reply = client.post("/api/v1/recommendations/",
                            json={"seed_items": [JUKE_ID, "Smells Like Teen Spirit"]})
    assert reply.status_code == 503, reply.text
    assert reply.json()["error"]["dependency"] == "identity"
    assert seen == []
