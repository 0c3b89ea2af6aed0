"""Governance decides on embedding models over gRPC, as the promotion's governance step asks
it: the weights' license by default, the declared training data too when enforced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1 import governance_pb2_grpc
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from services.common.config import Settings
from services.common.db import Database
from services.embedder.runtimes import MUSICNN_TRAINING_DATA
from services.governance.__main__ import SERVICE_NAME, build_service
from services.governance.servicer import GovernanceServicer
from services.ranker.workflows.promotion_activities import PromotionActivities
from services.ranker.workflows.promotion_contracts import CandidateRef

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def enforcing(start_server: Callable[..., grpc.Channel]) -> GovernanceServiceStub:
    """Governance with JUKE_MODEL_TRAINING_DATA_POLICY=enforce."""
    settings = Settings.from_env({"JUKE_MODEL_TRAINING_DATA_POLICY": "enforce"})

    def register(server: grpc.Server, db: Database) -> None:
        governance_pb2_grpc.add_GovernanceServiceServicer_to_server(
            GovernanceServicer(build_service(db, settings)), server)

    return GovernanceServiceStub(start_server("governance", [SERVICE_NAME], register))


def _check(stub: GovernanceServiceStub, **fields: Any) -> gpb.CheckModelResponse:
    return stub.CheckModel(gpb.CheckModelRequest(
        **{"environment": common_pb2.ENVIRONMENT_PRODUCTION, "name": "m 1", **fields}))


def test_weights_license_decides_and_the_reason_is_listed(
        governance_channel: grpc.Channel) -> None:
    stub = GovernanceServiceStub(governance_channel)
    allowed = _check(stub, weights_license="ISC", weights_sha256="ab" * 32)
    assert allowed.allowed and allowed.summary.startswith("allowed in production")
    assert allowed.weights.license_expression == "ISC"
    missing = _check(stub, weights_sha256="ab" * 32)
    assert not missing.allowed and missing.reasons[0].startswith("weights: license_missing")
    assert "refused in production: weights: license_missing" in missing.summary
    with pytest.raises(grpc.RpcError) as err:
        _check(stub, weights_license="ISC", environment=0)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _musicnn(embedder: EmbedderServiceStub) -> epb.EmbeddingModel:
    models = embedder.ListModels(epb.ListModelsRequest()).models
    return next(m for m in models if m.name == "msd-musicnn")


def test_the_promotions_governance_step_for_an_embedding_model(
        governance_channel: grpc.Channel, embedder_channel: grpc.Channel,
        enforcing: GovernanceServiceStub) -> None:
    embedder = EmbedderServiceStub(embedder_channel)
    musicnn = _musicnn(embedder)
    assert musicnn.training_data == MUSICNN_TRAINING_DATA  # declared and recorded
    assert musicnn.training_data_license == "LicenseRef-NonCommercial"
    listed = embedder.ListRegistryModels(epb.ListRegistryModelsRequest()).models
    assert MUSICNN_TRAINING_DATA in next(m for m in listed if m.id == musicnn.id).training_data

    def verdict(governance: GovernanceServiceStub) -> Any:
        activities = PromotionActivities(None, None, embedder, governance)  # type: ignore[arg-type]
        return activities.check_candidate_training_set(CandidateRef("embedding", musicnn.id))

    default = verdict(GovernanceServiceStub(governance_channel))
    assert default.allowed == bool(musicnn.weights_sha256)  # ISC weights, checksummed
    assert "declared training data not eligible" in default.summary
    enforced = verdict(enforcing)
    assert not enforced.allowed
    assert "training data: license_research_only" in enforced.summary
