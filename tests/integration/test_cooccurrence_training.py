"""CooccurrenceTrainingWorkflow on a real Temporal dev server: train, gate, activate, serve."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.db import Database
from services.common.errors import FailedPrecondition
from services.ranker.api.clients import EmbedderClient, GovernanceClient, IdentityClient
from services.ranker.serving.service import RankerService
from services.ranker.training.cooccurrence import CooccurrenceTrainer
from services.ranker.training.interactions import GovernanceGate, RegisteredInteractions
from services.ranker.workflows.activities import TrainingActivities
from services.ranker.workflows.cooccurrence import CooccurrenceTrainingWorkflow
from services.ranker.workflows.training_contracts import (
    COOCCURRENCE_WORKFLOW as WORKFLOW_NAME,
)
from services.ranker.workflows.training_contracts import (
    TrainCooccurrenceInput,
    TrainCooccurrenceResult,
)

GROUPS = {1: range(101, 106), 2: range(106, 111)}  # two listening communities


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, identity_channel: grpc.Channel,
            governance_channel: grpc.Channel) -> str:
    """A HetRec-format data set: 40 users, each listening within one community. Artist ids
    get a per-run offset so reruns against one database never collide."""
    offset = uuid.uuid4().int % 10**6 * 1000
    root = tmp_path_factory.mktemp("lastfm-mini")
    lines = ["userID\tartistID\tweight"]
    for user in range(1, 41):
        lines += [f"{user}\t{offset + a}\t{100 + user}" for a in GROUPS[1 + user % 2]]
    (root / "user_artists.dat").write_text("\r\n".join(lines) + "\r\n")
    IdentityServiceStub(identity_channel).UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"lastfm artist {offset + a}", external_ids=[
            common_pb2.ExternalId(source="lastfm", external_id=str(offset + a))])
        for group in GROUPS.values() for a in group]))
    name = f"test-lastfm-{offset}"
    GovernanceServiceStub(governance_channel).RegisterDataset(gpb.RegisterDatasetRequest(
        dataset=gpb.DatasetInput(name=name, kind="interactions", location=str(root),
                                 license="LicenseRef-NonCommercial", checksum="b" * 64,
                                 allowed_envs=gpb.ALLOWED_ENVS_RESEARCH)))
    return name


@pytest.fixture(scope="module")
def ranker(start_ranker: Callable[..., grpc.Channel]) -> RankerServiceStub:
    return RankerServiceStub(start_ranker())


def test_train_gate_activate_and_recommend(
    temporal_address: str, database: Database, dataset: str,
    identity_channel: grpc.Channel, governance_channel: grpc.Channel,
    ranker: RankerServiceStub,
) -> None:
    name = dataset
    gov, ident = GovernanceServiceStub(governance_channel), IdentityServiceStub(identity_channel)
    trainer = CooccurrenceTrainer(database, RegisteredInteractions(gov, ident),
                                  GovernanceGate(gov))
    acts = TrainingActivities(trainer, ranker)

    async def run() -> TrainCooccurrenceResult:
        client = await Client.connect(temporal_address)
        with ThreadPoolExecutor(max_workers=2) as executor:
            async with Worker(client, task_queue="test-ranker",
                              workflows=[CooccurrenceTrainingWorkflow],
                              activities=[acts.train_cooccurrence, acts.activate_cooccurrence],
                              activity_executor=executor):
                return await client.execute_workflow(
                    WORKFLOW_NAME, TrainCooccurrenceInput(dataset=name, min_count=2, top_k=10,
                                                          activate=True),
                    id=f"test-train-{name}", task_queue="test-ranker",
                    result_type=TrainCooccurrenceResult)

    result = asyncio.run(run())
    assert result.pairs > 0 and result.users == 40 and result.items == 10
    assert result.unmapped == 0
    assert not result.production_allowed  # trained on a research-only data set
    assert result.activated  # development environment: allowed, never in production

    ranker.RefreshFeatures(rpb.RefreshFeaturesRequest())
    seed = _ids(ident, name)[101]
    reply = ranker.RecommendCooccurrence(rpb.RecommendCooccurrenceRequest(query=rpb.RecommendQuery(
        seed_item_ids=[seed], resource_types=[common_pb2.RESOURCE_TYPE_ARTIST], limit=4))).result
    community = {_ids(ident, name)[a] for a in GROUPS[1]}
    assert [i.resource.juke_id in community for i in reply.items] == [True] * 4
    assert reply.bundle.cooccurrence_model_id == result.model_id
    assert all(c.rule == "pmi" for i in reply.items for c in i.explanation)

    again = asyncio.run(run())
    assert again.reused and again.model_id == result.model_id


def test_research_only_model_is_refused_in_production(
    database: Database, identity_channel: grpc.Channel, embedder_channel: grpc.Channel,
    governance_channel: grpc.Channel, dataset: str, ranker: RankerServiceStub,
) -> None:
    models = ranker.ListCooccurrenceModels(rpb.ListCooccurrenceModelsRequest()).models
    research = next(m for m in models if not m.production_allowed)
    production = RankerService(database, IdentityClient(identity_channel),
                               EmbedderClient(embedder_channel),
                               GovernanceClient(governance_channel), environment="production")
    with pytest.raises(FailedPrecondition, match="never be activated in production"):
        production.activate_cooccurrence_model(research.id)


def _ids(ident: IdentityServiceStub, dataset: str) -> dict[int, str]:
    """Catalog juke_ids of the data set's artists, keyed by their id within a group."""
    offset = int(dataset.rsplit("-", 1)[1])
    artists = [a for group in GROUPS.values() for a in group]
    reply = ident.BatchResolve(ipb.BatchResolveRequest(refs=[
        ipb.ResolveRef(ref=f"lastfm:{offset + a}", type=common_pb2.RESOURCE_TYPE_ARTIST)
        for a in artists]))
    return {a: r.resource.juke_id for a, r in zip(artists, reply.results, strict=True)}
