"""Retrieval artifacts over real gRPC and PostgreSQL: exported from a model's stored vectors,
required (and verified) before a model with vectors can be activated or rolled back to."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from services.common.db import Database
from services.embedder import repository as erepo

DIM = 4
TRACKS = 30


@pytest.fixture(scope="module")
def embedder(embedder_channel: grpc.Channel) -> Iterator[EmbedderServiceStub]:
    """The embedder; whichever model was active before this module is active again after."""
    stub = EmbedderServiceStub(embedder_channel)
    previous = stub.GetActiveModel(epb.GetActiveModelRequest()).model.id
    yield stub
    stub.ActivateModel(epb.ActivateModelRequest(model_id=previous, allow_unavailable=True))


def _model_with_vectors(stub: EmbedderServiceStub, database: Database) -> epb.EmbeddingModel:
    """A custom model whose vectors are written straight into the store, as a backfill would."""
    model = stub.RegisterModel(epb.RegisterModelRequest(
        name=f"test-artifacts-{uuid.uuid4().hex[:8]}", version="1", source_model="custom",
        embedding_dim=DIM)).model
    rng = np.random.default_rng(3)
    with database.transaction() as session:
        for n in range(TRACKS):
            erepo.write_track_embedding(
                session, track_id=uuid.uuid4(), model_id=uuid.UUID(model.id),
                vector=rng.standard_normal(DIM).astype(np.float32), pooled_from=1,
                checksum=f"{n}".rjust(64, "0"), entry_id=uuid.uuid4(), environment="production")
    return model


def _refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def _activate(stub: EmbedderServiceStub, model_id: str, **kw: bool) -> epb.EmbeddingModel:
    return stub.ActivateModel(epb.ActivateModelRequest(model_id=model_id, **kw)).model


def _export(stub: EmbedderServiceStub, model_id: str) -> epb.ExportArtifactsResponse:
    return stub.ExportArtifacts(epb.ExportArtifactsRequest(model_id=model_id))


def _damage(folder: Path) -> None:
    """Change one stored vector in place: the files no longer hash to the model's row."""
    stored = np.load(folder / "vectors.npy", mmap_mode="r+")
    stored[0, 0] += 0.5
    stored.flush()


def test_activation_needs_the_exported_artifacts(embedder: EmbedderServiceStub,
                                                 database: Database, artifact_root: Path) -> None:
    model = _model_with_vectors(embedder, database)
    before = _refusal(lambda: _activate(embedder, model.id))
    assert before.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "juke embed artifacts" in before.details() and model.name in before.details()

    exported = _export(embedder, model.id)
    assert exported.vectors == TRACKS and len(exported.model.artifact_hash) == 64
    assert Path(exported.path) == artifact_root / model.id / exported.model.artifact_hash
    again = _export(embedder, model.id)  # same vectors: the same artifacts, kept as they are
    assert (again.model.artifact_hash, again.path) == (exported.model.artifact_hash,
                                                       exported.path)

    active = _activate(embedder, model.id)
    assert active.active and active.artifact_hash == exported.model.artifact_hash
    listed = {m.id: m for m in embedder.ListModels(epb.ListModelsRequest()).models}
    assert listed[model.id].artifact_hash == exported.model.artifact_hash


def test_damaged_artifacts_are_refused_until_exported_again(
        embedder: EmbedderServiceStub, database: Database) -> None:
    model = _model_with_vectors(embedder, database)
    folder = Path(_export(embedder, model.id).path)
    _damage(folder)
    refused = _refusal(lambda: _activate(embedder, model.id))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "juke embed artifacts" in refused.details() and "do not hash" in refused.details()

    repaired = _export(embedder, model.id)
    assert Path(repaired.path) == folder  # the same vectors, so the same hash, rewritten
    assert _activate(embedder, model.id).active


def test_rollback_to_a_model_with_damaged_artifacts_is_refused(
        embedder: EmbedderServiceStub, database: Database) -> None:
    good = _model_with_vectors(embedder, database)
    folder = Path(_export(embedder, good.id).path)
    _activate(embedder, good.id)
    embedder.MarkKnownGood(epb.MarkKnownGoodRequest(model_id=good.id))
    candidate = embedder.RegisterModel(epb.RegisterModelRequest(
        name=f"test-artifacts-candidate-{uuid.uuid4().hex[:8]}", version="1",
        source_model="custom", embedding_dim=DIM)).model
    _activate(embedder, candidate.id, allow_unavailable=True)  # no vectors: as before
    _damage(folder)

    refused = _refusal(lambda: embedder.RollbackModel(epb.RollbackModelRequest()))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "juke embed artifacts" in refused.details()
    assert embedder.GetActiveModel(epb.GetActiveModelRequest()).model.id == candidate.id

    _export(embedder, good.id)
    rolled = embedder.RollbackModel(epb.RollbackModelRequest())
    assert rolled.restored.id == good.id and rolled.deactivated_model_id == candidate.id


def test_a_model_without_vectors_keeps_its_availability_rules(
        embedder: EmbedderServiceStub) -> None:
    empty = embedder.RegisterModel(epb.RegisterModelRequest(
        name=f"test-artifacts-empty-{uuid.uuid4().hex[:8]}", version="1",
        source_model="custom", embedding_dim=DIM)).model
    refused = _refusal(lambda: _activate(embedder, empty.id))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "unavailable" in refused.details() and "juke embed" not in refused.details()
    assert _activate(embedder, empty.id, allow_unavailable=True).artifact_hash == ""

    nothing = _refusal(lambda: _export(embedder, empty.id))
    assert nothing.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert empty.name in nothing.details() and "no track vectors" in nothing.details()
    unknown = _refusal(lambda: _export(embedder, str(uuid.uuid4())))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
