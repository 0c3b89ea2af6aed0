"""EmbeddingBackfillWorkflow on a real Temporal dev server, real musicnn, real Debian audio."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.cli.corpus.ingest import CorpusIngester
from services.common.db import Database
from services.common.vector_artifacts import AnnParams, VectorArtifacts
from services.embedder import repository as repo
from services.embedder.activities import BackfillActivities
from services.embedder.identity_tags import IdentityTagSink
from services.embedder.runtimes import builtin_models
from services.embedder.service import EmbedderService
from services.embedder.workflows import (
    WORKFLOW_NAME,
    BackfillInput,
    BackfillResult,
    EmbeddingBackfillWorkflow,
)
from tests.conftest import free_port
from tests.integration.conftest import channel_target

PRODUCTION = common_pb2.ENVIRONMENT_PRODUCTION


@pytest.fixture(scope="module")
def embedder(database: Database, artifact_root: Path,
             identity_channel: grpc.Channel) -> EmbedderService:
    service = EmbedderService(database, builtin_models(None, None), artifact_root=artifact_root,
                              tag_sink=IdentityTagSink(IdentityServiceStub(identity_channel)))
    service.bootstrap()
    return service


@pytest.fixture(scope="module")
def stubs(identity_channel: grpc.Channel,
          governance_channel: grpc.Channel) -> tuple[IdentityServiceStub, GovernanceServiceStub]:
    return IdentityServiceStub(identity_channel), GovernanceServiceStub(governance_channel)


async def _run_backfill(address: str, acts: BackfillActivities, queue: str,
                        params: BackfillInput) -> BackfillResult:
    client = await Client.connect(address)
    with ThreadPoolExecutor(max_workers=2) as executor:
        async with Worker(client, task_queue=queue, workflows=[EmbeddingBackfillWorkflow],
                          activities=[acts.resolve_model, acts.next_batch, acts.embed_batch,
                                      acts.finish_backfill],
                          activity_executor=executor, max_concurrent_activities=1):
            return await client.execute_workflow(
                WORKFLOW_NAME, params, id=f"test-backfill-{uuid.uuid4()}", task_queue=queue,
                result_type=BackfillResult)


def _production_tracks(gov: GovernanceServiceStub, source: str) -> dict[str, str]:
    rows = gov.ListEligibleEntries(gpb.ListEligibleEntriesRequest(
        environment=PRODUCTION, source=source, with_track_only=True)).entries
    return {r.track_juke_id: r.checksum for r in rows}


def test_backfill_embeds_indexes_aggregates_and_is_idempotent(
    temporal_address: str, embedder: EmbedderService, stubs, hyperrogue_subset: Path,
    hyperrogue_package: Path, database: Database, artifact_root: Path,
) -> None:
    ident, gov = stubs
    CorpusIngester(ident, gov).ingest(hyperrogue_subset)
    acts = BackfillActivities(embedder, gov, ident, hyperrogue_package.parent)
    params = BackfillInput(batch_size=2, batches_per_run=1)  # forces continue-as-new
    first = asyncio.run(_run_backfill(temporal_address, acts, "test-embed", params))
    assert first.progress.embedded >= 3 and first.progress.skipped == 0
    assert first.progress.runs >= 2
    assert first.index_lists >= 1 and first.albums >= 1 and first.artists >= 1

    model = embedder.resolve("")
    with database.read() as session:
        coverage = repo.coverage(session, model.id)
        stored = repo.stored_checksums(session, model.id,
                                       [uuid.UUID(t) for t in _production_tracks(
                                           gov, "debian:hyperrogue-music")])
    assert coverage.index_built
    assert first.artifact_hash and model.artifact_hash == first.artifact_hash
    artifacts = VectorArtifacts.open(artifact_root, str(model.id), first.artifact_hash,
                                     AnnParams())
    assert len(artifacts.ids) == coverage.tracks and artifacts.dim == model.embedding_dim
    assert {str(t): c for t, c in stored.items()} == _production_tracks(
        gov, "debian:hyperrogue-music")

    again = asyncio.run(_run_backfill(temporal_address, acts, "test-embed", params))
    assert again.progress.embedded == 0 and again.progress.unchanged >= 3
    assert again.artifact_hash == first.artifact_hash  # same vectors, same artifacts

    hell = next(r for r in gov.ListEligibleEntries(gpb.ListEligibleEntriesRequest(
        environment=PRODUCTION, source="debian:hyperrogue-music")).entries
        if r.track_path.endswith("hr3-hell.ogg"))
    found = embedder.search_neighbors([hell.track_juke_id], "track", 5, [])
    assert not found.seeds_without_vectors and len(found.hits) >= 2
    assert hell.track_juke_id not in {str(i) for i, _, _ in found.hits}
    assert all(-1.0 <= s <= 1.0 and v.shape == (200,) for _, s, v in found.hits)
    track = ident.GetResource(ipb.GetResourceRequest(ref=hell.track_juke_id)).resource
    assert any(t.source == common_pb2.TAG_SOURCE_INTERNAL for t in track.tags)


def test_strict_dimensions(embedder: EmbedderService) -> None:
    import numpy as np

    from services.common.errors import InvalidArgument
    from services.embedder.runtimes import Embedded

    model = embedder.resolve("")
    with pytest.raises(InvalidArgument, match="does not match"):
        embedder.store(model, track_id=uuid.uuid4(), embedded=Embedded(
            np.zeros(model.embedding_dim + 1, dtype=np.float32), 1),
            checksum="0" * 64, entry_id=uuid.uuid4(), environment="production")


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "services.embedder.worker"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def test_killed_workers_lose_and_duplicate_nothing(
    temporal_address: str, migrated_url: str, embedder: EmbedderService, stubs,
    hyperrogue_package: Path, database: Database, tmp_path: Path,
    identity_channel: grpc.Channel, governance_channel: grpc.Channel, artifact_root: Path,
) -> None:
    ident, gov = stubs
    CorpusIngester(ident, gov).ingest(hyperrogue_package)
    # A research-only row with a catalog track: production must never embed it.
    research = gov.UpsertManifestEntries(gpb.UpsertManifestEntriesRequest(entries=[
        gpb.ManifestEntryInput(
            source="debian:hyperrogue-music", track_path="usr/share/hyperrogue/sounds/bull.ogg",
            checksum="a" * 64, track_juke_id=ident.UpsertTracks(ipb.UpsertTracksRequest(
                tracks=[ipb.TrackInput(name="research-only row")])).results[0].juke_id,
            evidence=[gpb.Evidence(kind="dep5", source_file="copyright", locator="x",
                                   license_raw="CC-BY-NC-4.0", expression="CC-BY-NC-4.0")])
    ])).results[0]
    assert not research.decision.production
    with database.transaction() as session:  # start from nothing for this model
        session.execute(repo.TrackEmbedding.__table__.delete())  # type: ignore[attr-defined]

    queue = f"reliability-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "JUKE_DATABASE_URL": migrated_url,
           "JUKE_TEMPORAL_ADDRESS": temporal_address, "JUKE_EMBED_TASK_QUEUE": queue,
           "JUKE_EMBEDDER_WORKER_PORT": str(free_port()),
           "JUKE_GOVERNANCE_TARGET": channel_target(governance_channel),
           "JUKE_IDENTITY_TARGET": channel_target(identity_channel),
           "JUKE_CORPUS_DIR": str(hyperrogue_package.parent), "JUKE_LOG_LEVEL": "WARNING",
           "JUKE_ARTIFACT_DIR": str(artifact_root)}  # the deployment's, as under `juke up`
    log = tmp_path / "workers.log"

    async def scenario() -> tuple[BackfillResult, int]:
        client = await Client.connect(temporal_address)
        handle = await client.start_workflow(
            WORKFLOW_NAME, BackfillInput(batch_size=3, batches_per_run=3, heartbeat_timeout_s=3),
            id=f"reliability-{queue}", task_queue=queue, result_type=BackfillResult)
        kills = 0
        while kills < 3:
            worker = _worker(env, log)
            await asyncio.sleep(6)  # long enough to be inside an embedding batch
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
        survivor = _worker(env, log)
        try:
            result = await asyncio.wait_for(handle.result(), timeout=600)
        finally:
            survivor.send_signal(signal.SIGTERM)
            survivor.wait(timeout=30)
        return result, kills

    started = time.monotonic()
    result, kills = asyncio.run(scenario())
    assert kills == 3
    print(f"backfill with {kills} killed workers took {time.monotonic() - started:.0f}s")
    expected = _production_tracks(gov, "debian:hyperrogue-music")
    model = embedder.resolve("")
    with database.read() as session:
        ids, _ = repo.track_matrix(session, model.id)
        stored = repo.stored_checksums(session, model.id, [uuid.UUID(t) for t in expected])
    assert len(expected) == 17
    assert sorted(str(i) for i in ids) == sorted(expected)  # exactly one per eligible track
    assert {str(t): c for t, c in stored.items()} == expected  # fresh: the manifest's audio
    assert result.progress.phase == "done"
    assert result.artifact_hash == model.artifact_hash  # written by the surviving worker
    VectorArtifacts.open(artifact_root, str(model.id), model.artifact_hash, AnnParams())
