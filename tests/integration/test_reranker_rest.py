"""The learned second stage through REST: a reranker model registered and activated in the
registry (directly: a development ranker), served from the ranker's bundle, the gateway in
process, real identity and PostgreSQL."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from gateway.app import create_app
from juke.ranker.v1 import ranker_pb2_grpc
from services.common.config import Settings
from services.common.db import Database
from services.common.vector_artifacts import AnnParams
from services.ranker.__main__ import SERVICE_NAME
from services.ranker.api.clients import EmbedderClient, GovernanceClient, IdentityClient
from services.ranker.api.servicer import RankerServicer
from services.ranker.core.rerank import (
    BIAS,
    FEATURE_NAMES,
    FEATURES,
    GROUPS,
    RankingSet,
    Reranker,
    TrainingParams,
)
from services.ranker.registry.service import ModelRegistry
from services.ranker.serving.content import LocalContent
from services.ranker.serving.rerank import RerankerArtifact
from services.ranker.serving.service import Query, RankerService
from services.ranker.store.models import RerankerModel
from services.ranker.store.rerankers import save_reranker_model
from tests.api_keys import bearer, make_keys
from tests.integration.conftest import channel_target
from tests.integration.ranker_data import album_of_four

TAG = f"rr{uuid.uuid4().hex[:8]}"
U64 = 2.0**-53


def _trained() -> Reranker:
    """A small model that learned to favour the metadata score (any model over FEATURES
    serves the same way)."""
    rng = np.random.default_rng(3)
    queries, per = 30, 20
    x = rng.random((queries * per, len(FEATURES)))
    metadata = x[:, FEATURE_NAMES.index("metadata_score")]
    labels = (metadata + 0.2 * rng.random(len(x)) > 0.9).astype(float)
    data = RankingSet(x, labels, np.full(queries, per))
    return Reranker.train(data, TrainingParams(rounds=20, min_data_in_leaf=5))


@pytest.fixture(scope="module")
def catalog(identity_channel: grpc.Channel) -> dict[str, str]:
    """An artist with an album of four tracks, two of them sharing a tag with a fifth."""
    return album_of_four(identity_channel, TAG)


@pytest.fixture(scope="module")
def artifact(database: Database) -> Iterator[RerankerArtifact]:
    """Registered as a reranker model and activated directly (allowed outside production,
    logged as ungated); deactivated afterwards, as the database is the session's."""
    artifact = RerankerArtifact(_trained(), {}, candidates=50, training={"data": "synthetic"})
    with database.transaction() as session:
        model_id = save_reranker_model(
            session, version=artifact.version, training_set_hash="f" * 64,
            production_allowed=False, datasets=["synthetic"], candidates=artifact.candidates,
            params={}, artifact=artifact.to_json())
    ModelRegistry(database, "development").activate_directly("reranker", str(model_id),
                                                             "test")
    yield artifact
    with database.transaction() as session:
        session.execute(update(RerankerModel).where(RerankerModel.id == model_id)
                        .values(active=False))


def _service(db: Database, identity: grpc.Channel, embedder: grpc.Channel,
             governance: grpc.Channel, artifact_root: Path) -> RankerService:
    service = RankerService(
        db, IdentityClient(identity),
        LocalContent(EmbedderClient(embedder), artifact_root, AnnParams()),
        GovernanceClient(governance))
    service.refresh_features()
    return service


@pytest.fixture(scope="module")
def client(start_server: Callable[..., grpc.Channel], identity_channel: grpc.Channel,
           embedder_channel: grpc.Channel, governance_channel: grpc.Channel,
           artifact_root: Path, catalog: dict[str, str], artifact: RerankerArtifact
           ) -> Iterator[TestClient]:
    def register(server: grpc.Server, db: Database) -> None:
        service = _service(db, identity_channel, embedder_channel, governance_channel,
                           artifact_root)
        ranker_pb2_grpc.add_RankerServiceServicer_to_server(RankerServicer(service), server)

    ranker = start_server("ranker-rerank", [SERVICE_NAME], register)
    keys, entries = make_keys()
    settings = Settings.from_env({"JUKE_RANKER_TARGET": channel_target(ranker),
                                  "JUKE_IDENTITY_TARGET": channel_target(identity_channel),
                                  "JUKE_API_KEYS": entries})
    with TestClient(create_app(settings), headers=bearer(keys["read"])) as c:
        yield c


def test_reranked_items_are_explained_exactly_and_name_the_reranker(
        client: TestClient, catalog: dict[str, str], artifact: RerankerArtifact) -> None:
    reply = client.post("/api/v1/recommendations/",
                        json={"seed_items": [catalog["t1"]], "limit": 3})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model_bundle"]["reranker"] == artifact.version
    items = body["items"]
    assert len(items) == 3 and catalog["t1"] not in {i["resource"]["juke_id"] for i in items}
    finals = [i["final_score"] for i in items]
    assert finals == sorted(finals, reverse=True)
    for item in items:
        assert item["model_version"].endswith(f"+rerank:{artifact.version}")
        terms = [c["contribution"] for c in item["explanation"]]
        assert [c["signal"] for c in item["explanation"]] == [*GROUPS, BIAS]
        assert all(artifact.version in c["reason"] for c in item["explanation"])
        # final_score is the float64 sum of the terms; JSON carries each float exactly
        # (shortest repr), so only the summation order can differ: n - 1 roundings
        bound = (len(terms) * U64 / (1 - len(terms) * U64)) * sum(abs(t) for t in terms)
        assert math.fsum(terms) == pytest.approx(item["final_score"], abs=bound, rel=0)


def test_single_signal_modes_are_not_reranked(client: TestClient,
                                              catalog: dict[str, str]) -> None:
    reply = client.post("/api/v1/recommendations/metadata",
                        json={"seed_items": [catalog["t1"]], "limit": 3})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model_bundle"]["reranker"] is None
    assert all("+rerank:" not in i["model_version"] for i in body["items"])


def test_a_shortlist_under_a_reranker_is_its_order_and_explains_only_the_picks(
        database: Database, identity_channel: grpc.Channel, embedder_channel: grpc.Channel,
        governance_channel: grpc.Channel, artifact_root: Path, catalog: dict[str, str],
        artifact: RerankerArtifact) -> None:
    """What a playlist continuation picks from while a reranker is active."""
    service = _service(database, identity_channel, embedder_channel, governance_channel,
                       artifact_root)
    first = service.shortlist(Query(seeds=(catalog["t1"],), limit=3))
    assert first.reranker == artifact.version and 0 < len(first.items) <= 3
    relevance = [i.final_score for i in first.items]
    assert relevance[0] == 1.0 and all(0 < r <= 1 for r in relevance)   # pickable scores
    assert all(not i.explanation or not i.explanation[0].seed_ids for i in first.items)
    [pick] = first.explained(first.items[-1:])
    assert [c.signal for c in pick.explanation] == [*GROUPS, BIAS]
    terms = [c.contribution for c in pick.explanation]
    bound = (len(terms) * U64 / (1 - len(terms) * U64)) * sum(abs(t) for t in terms)
    assert math.fsum(terms) == pytest.approx(pick.final_score, abs=bound, rel=0)
