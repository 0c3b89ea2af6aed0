"""The learned second stage as a registry kind, end to end on real PostgreSQL, governance,
identity, a ranker and a Temporal dev server: a reranker trained on a validation split is
registered with its governance training set, promoted through PromotionWorkflow (gates on
its recipe retrained on the promotion split, governance, the owner's approval) in
production, and a hybrid Recommend then names it; direct activation in production, a
research-only training set and a failed gate are refused."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from sqlalchemy import update
from temporalio.client import Client
from temporalio.worker import Worker

from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.cli.rerank import register_trained
from services.common.config import Settings
from services.common.db import Database
from services.common.errors import FailedPrecondition
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import WeightConfig
from services.ranker.core.rerank import BIAS, GROUPS, TrainingParams
from services.ranker.core.rerank_recipe import RerankerRecipe
from services.ranker.evaluation.data import EvalData
from services.ranker.evaluation.harness import RankerSignals, out_type_of
from services.ranker.evaluation.promotion import HarnessEvaluator
from services.ranker.evaluation.protocol import Protocol, split, validation_split
from services.ranker.evaluation.rerank import listener_counts, train_reranker
from services.ranker.registry.service import ModelRegistry
from services.ranker.serving.rerank import RerankerArtifact
from services.ranker.store.models import RerankerModel
from services.ranker.training.event_interactions import events_dataset
from services.ranker.training.interactions import GovernanceGate
from services.ranker.training.reranker import (
    RegisteredReranker,
    RerankerCandidate,
    register_reranker,
)
from services.ranker.workflows.promotion import PromotionWorkflow
from services.ranker.workflows.promotion_activities import (
    PromotionActivities,
    RegistryActivities,
)
from services.ranker.workflows.promotion_contracts import (
    WORKFLOW_NAME,
    Approval,
    Gates,
    PromotionInput,
    PromotionResult,
)
from tests.integration.conftest import channel_target
from tests.integration.ranker_data import (
    album_of_four,
    clustered_listening,
    migration_differences,
)

pytestmark = pytest.mark.integration

OWNER = "project-owner"
TAG = f"rp{uuid.uuid4().hex[:8]}"
CLUSTERS, ITEMS, USERS = 3, 10, 60


def _listening() -> EvalData:
    return clustered_listening(CLUSTERS, ITEMS, USERS)


U64 = 2.0**-53
# Any nDCG and Recall against the hybrid pass; coverage as the other kinds' tests need.
LENIENT = Gates(ndcg_min_relative_gain=-1.0, recall_min_relative_gain=-1.0,
                cold_start_max_regression=1.0, coverage_min=0.05)


def _recipe(learning_rate: float) -> RerankerRecipe:
    """Tiny and fast; each learning rate is a distinct model (the model text records it)."""
    return RerankerRecipe(TrainingParams(rounds=30, learning_rate=learning_rate,
                                         min_data_in_leaf=5, early_stopping=5),
                          candidates=20, validation_users=USERS, seed=7)


def test_the_migration_matches_the_reranker_model(database: Database) -> None:
    assert migration_differences(database, {"reranker_model"}) == []


def _trained(recipe: RerankerRecipe) -> RerankerArtifact:
    """Trained as `juke train-reranker` trains (a validation split carved from the data)."""
    data = clustered_listening(CLUSTERS, ITEMS, USERS)
    features = CatalogFeatures.build(list(data.rows))
    out_type = out_type_of(features, data.interactions.items)
    validation = validation_split(data.interactions, Protocol(seed=recipe.seed),
                                  recipe.validation_users)
    fit = train_reranker(features, validation, out_type,
                         WeightConfig("test", 0.0, 0.5, 0.5, 1.0), RankerSignals,
                         params=recipe.training, candidates=recipe.candidates)
    return RerankerArtifact(fit.reranker, listener_counts(data.interactions),
                            fit.candidates, {"queries": fit.queries})


def _register(database: Database, governance: GovernanceServiceStub, dataset: str,
              recipe: RerankerRecipe) -> RegisteredReranker:
    artifact = _trained(recipe)
    return register_reranker(database, GovernanceGate(governance), RerankerCandidate(
        artifact.version, artifact.to_json(), recipe, dataset, dict(artifact.training)))


@pytest.fixture(scope="module")
def governance(governance_channel: grpc.Channel) -> GovernanceServiceStub:
    return GovernanceServiceStub(governance_channel)


@pytest.fixture(scope="module")
def research_dataset(governance: GovernanceServiceStub, tmp_path_factory: pytest.TempPathFactory
                     ) -> str:
    name = f"test-research-{TAG}"
    governance.RegisterDataset(gpb.RegisterDatasetRequest(dataset=gpb.DatasetInput(
        name=name, kind="interactions", location=str(tmp_path_factory.mktemp("research")),
        license="LicenseRef-NonCommercial", checksum="e" * 64,
        allowed_envs=gpb.ALLOWED_ENVS_RESEARCH)))
    return name


@pytest.fixture(scope="module")
def production_dataset(governance: GovernanceServiceStub) -> str:
    """The first-party events data set: eligible for production."""
    governance.RegisterDataset(gpb.RegisterDatasetRequest(dataset=events_dataset()))
    return events_dataset().name


@pytest.fixture(scope="module")
def catalog(identity_channel: grpc.Channel) -> dict[str, str]:
    """An artist with an album of four tracks, two of them sharing a tag."""
    return album_of_four(identity_channel, TAG)


@pytest.fixture(scope="module")
def ranker(start_ranker: Callable[..., grpc.Channel], catalog: dict[str, str]
           ) -> RankerServiceStub:
    return RankerServiceStub(start_ranker())


@pytest.fixture(scope="module", autouse=True)
def no_reranker_afterwards(database: Database) -> Iterator[None]:
    """The database is the session's: other tests' hybrid requests must not be reranked."""
    yield
    with database.transaction() as session:
        session.execute(update(RerankerModel).where(RerankerModel.active)
                        .values(active=False))


def _promote(temporal_address: str, database: Database, ranker: RankerServiceStub,
             governance: GovernanceServiceStub, embedder_channel: grpc.Channel,
             model_id: uuid.UUID, gates: Gates, approve: bool) -> PromotionResult:
    """PromotionWorkflow with the ranker worker's real activities (production registry);
    the owner approves through the `decide` signal (the Temporal UI's way)."""
    promotion = PromotionActivities(HarnessEvaluator(database, _listening), ranker,
                                    EmbedderServiceStub(embedder_channel), governance)
    registry = RegistryActivities(ModelRegistry(database, "production"), OWNER)
    queue = f"test-rerank-{uuid.uuid4().hex[:8]}"

    async def run() -> PromotionResult:
        client = await Client.connect(temporal_address)
        with ThreadPoolExecutor(max_workers=2) as executor:
            async with Worker(client, task_queue=queue, workflows=[PromotionWorkflow],
                              activities=[promotion.evaluate_for_promotion,
                                          promotion.check_candidate_training_set,
                                          registry.record_promotion_event,
                                          registry.activate_promoted_model],
                              activity_executor=executor):
                handle = await client.start_workflow(
                    WORKFLOW_NAME, PromotionInput("reranker", str(model_id), approver=OWNER,
                                                  requested_by="ops", gates=gates),
                    id=f"promotion-reranker-{model_id}-{queue}", task_queue=queue,
                    result_type=PromotionResult)
                if approve:
                    for _ in range(1200):
                        status = await handle.query("status", result_type=str)
                        if status != "evaluating" and status != "checking_governance":
                            break
                        await asyncio.sleep(0.05)
                    if status == "awaiting_approval":
                        await handle.signal("decide", Approval(OWNER, True, "listened"))
                return await handle.result()

    return asyncio.run(run())


def test_a_registered_reranker_is_promoted_and_then_serves_explained(
        temporal_address: str, database: Database, governance: GovernanceServiceStub,
        production_dataset: str, ranker: RankerServiceStub, embedder_channel: grpc.Channel,
        catalog: dict[str, str]) -> None:
    registered = _register(database, governance, production_dataset, _recipe(0.1))
    assert registered.production_allowed and registered.training_set_hash
    production = ModelRegistry(database, "production")
    with pytest.raises(FailedPrecondition, match="refused in production"):
        production.activate_directly("reranker", str(registered.model_id), "ops")
    [listed] = [m for m in production.models("reranker") if m.id == registered.model_id]
    assert listed.state == "candidate" and listed.label.startswith(registered.version)

    result = _promote(temporal_address, database, ranker, governance, embedder_channel,
                      registered.model_id, LENIENT, approve=True)
    assert result.status == "activated", result.reasons
    assert result.decided_by == OWNER
    # Compared with what serves now: the hybrid alone (no reranker was active).
    assert {"ndcg@10", "recall@10", "coverage"} <= set(result.candidate) & set(result.active)
    [model] = [m for m in production.models("reranker") if m.id == registered.model_id]
    assert model.state == "known_good" and model.active
    log = production.history(str(registered.model_id))[1]
    assert [e.event for e in log] == ["evaluated", "awaiting_approval", "activated"]
    assert log[-1].approved_by == OWNER and log[-1].path == "promotion"
    assert log[-1].training_set_hash == registered.training_set_hash

    ranker.RefreshFeatures(rpb.RefreshFeaturesRequest())
    reply = ranker.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
        seed_item_ids=[catalog["t1"]], limit=3))).result
    assert reply.bundle.reranker == registered.version
    assert len(reply.items) == 3
    for item in reply.items:
        assert item.model_version.endswith(f"+rerank:{registered.version}")
        assert [c.signal for c in item.explanation] == [*GROUPS, BIAS]
        terms = [c.contribution for c in item.explanation]
        # final_score is the float64 sum of the terms: only the order of the n - 1
        # roundings can differ from fsum's exact sum.
        bound = (len(terms) * U64 / (1 - len(terms) * U64)) * sum(abs(t) for t in terms)
        assert math.fsum(terms) == pytest.approx(item.final_score, abs=bound, rel=0)

    # A second promotion is judged against the first (its recipe retrained); rolling back
    # then serves the first again.
    second = _register(database, governance, production_dataset, _recipe(0.13))
    promoted = _promote(temporal_address, database, ranker, governance, embedder_channel,
                        second.model_id, LENIENT, approve=True)
    assert promoted.status == "activated" and promoted.previous_id == str(registered.model_id)
    assert _served(ranker, catalog) == second.version
    restored, deactivated = production.rollback("reranker", "ops")
    assert (restored.id, deactivated) == (registered.model_id, second.model_id)
    assert _served(ranker, catalog) == registered.version


def _served(ranker: RankerServiceStub, catalog: dict[str, str]) -> str:
    return str(ranker.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
        seed_item_ids=[catalog["t1"]], limit=3))).result.bundle.reranker)


def test_a_research_only_training_set_or_a_failed_gate_activates_nothing(
        temporal_address: str, database: Database, governance: GovernanceServiceStub,
        research_dataset: str, production_dataset: str, ranker: RankerServiceStub,
        embedder_channel: grpc.Channel) -> None:
    before = ModelRegistry(database, "production").models("reranker", "known_good")
    research = _register(database, governance, research_dataset, _recipe(0.11))
    assert not research.production_allowed
    refused = _promote(temporal_address, database, ranker, governance, embedder_channel,
                       research.model_id, LENIENT, approve=False)
    assert refused.status == "refused_by_governance"
    # Gates the candidate cannot meet: +1000% nDCG@10 over what serves now.
    eligible = _register(database, governance, production_dataset, _recipe(0.12))
    failed = _promote(temporal_address, database, ranker, governance, embedder_channel,
                      eligible.model_id, Gates(ndcg_min_relative_gain=10.0, coverage_min=0.0),
                      approve=False)
    assert failed.status == "failed_gates"
    assert any(r.startswith("ndcg@10") for r in failed.reasons)
    after = ModelRegistry(database, "production").models("reranker", "known_good")
    assert [m.id for m in after] == [m.id for m in before]


def test_outside_production_a_reranker_is_activated_directly_and_logged_ungated(
        database: Database, governance: GovernanceServiceStub, research_dataset: str,
        ranker: RankerServiceStub, catalog: dict[str, str]) -> None:
    """`juke models activate ID --kind reranker` through a development ranker: research
    data are allowed there, and the activation is logged as ungated."""
    registered = _register(database, governance, research_dataset, _recipe(0.14))
    reply = ranker.ActivateRegistryModel(rpb.ActivateRegistryModelRequest(
        kind="reranker", id=str(registered.model_id), requested_by="dev"))
    assert reply.model.id == str(registered.model_id) and reply.model.state == "active"
    assert reply.model.label.startswith(registered.version)
    assert _served(ranker, catalog) == registered.version
    [entry] = ModelRegistry(database, "development").history(str(registered.model_id))[1]
    assert (entry.event, entry.path, entry.actor) == ("activated", "ungated", "dev")
    with pytest.raises(grpc.RpcError) as err:
        ranker.ActivateRegistryModel(rpb.ActivateRegistryModelRequest(
            kind="reranker", id="not-a-uuid", requested_by="dev"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not-a-uuid" in str(err.value.details())


def test_the_cli_registers_a_trained_reranker_once(
        migrated_url: str, database: Database, governance_channel: grpc.Channel,
        production_dataset: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`juke train-reranker`'s registration step against the mesh's database and
    governance: a candidate with its training set; the same model again is the same one."""
    settings = Settings.from_env({"JUKE_DATABASE_URL": migrated_url,
                                  "JUKE_GOVERNANCE_TARGET": channel_target(governance_channel)})
    recipe = _recipe(0.15)
    artifact = _trained(recipe)
    run = {"queries": 1}
    assert register_trained(settings, artifact, recipe, production_dataset, run) == 0
    assert "registered as a candidate" in capsys.readouterr().out
    assert register_trained(settings, artifact, recipe, production_dataset, run) == 0
    assert "already registered" in capsys.readouterr().out
    [model] = [m for m in ModelRegistry(database, "production").models("reranker")
               if m.label.startswith(artifact.version)]
    assert model.state == "candidate" and model.production_allowed


def test_a_comparison_reports_progress_for_every_user_it_ranks(
        database: Database, governance: GovernanceServiceStub, research_dataset: str) -> None:
    """The worker's evaluate activity heartbeats through this: a reranker comparison on
    a real data set takes minutes."""
    registered = _register(database, governance, research_dataset, _recipe(0.16))
    calls: list[int] = []
    pair = HarnessEvaluator(database, _listening, on_progress=lambda: calls.append(1)).compare(
        "reranker", str(registered.model_id))
    assert not pair.unavailable_reason and {"ndcg@10", "recall@10"} <= set(pair.candidate)
    evaluated = len(split(_listening().interactions, Protocol()).cases)
    assert len(calls) >= 2 * evaluated  # the candidate and what serves now, user by user
