"""A model's tags reach the catalog only while it is active: a candidate's are stored with its
vectors and published when it is activated (in production only by a promotion)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, update

from services.common.db import Database
from services.common.registry import Promotion
from services.embedder import repository as repo
from services.embedder.db_models import EmbeddingModel
from services.embedder.model_tags import TrackTags
from services.embedder.runtimes import Embedded
from services.embedder.service import EmbedderService

DIM = 4


class RecordingSink:
    def __init__(self) -> None:
        self.sent: list[TrackTags] = []

    def add_track_tags(self, tracks: Sequence[TrackTags]) -> None:
        self.sent.extend(tracks)


@pytest.fixture
def candidate(database: Database, artifact_root: Path
              ) -> Iterator[tuple[EmbedderService, RecordingSink, str]]:
    """A production embedder with a registered custom model that is not active; afterwards
    the active model is what it was and the candidate is gone."""
    with database.read() as session:
        was_active = repo.active_model(session)
    sink = RecordingSink()
    service = EmbedderService(database, [], artifact_root=artifact_root,
                              environment="production", tag_sink=sink, tag_threshold=0.5)
    view, _ = service.register({"name": f"tags-{uuid.uuid4().hex[:8]}", "version": "1",
                                "source_model": "custom", "embedding_dim": DIM})
    yield service, sink, str(view.record.id)
    with database.transaction() as session:
        session.execute(update(EmbeddingModel).values(active=False))
        if was_active is not None:
            session.execute(update(EmbeddingModel).where(EmbeddingModel.id == was_active.id)
                            .values(active=True))
        session.execute(delete(EmbeddingModel).where(EmbeddingModel.id == view.record.id))


def _store(service: EmbedderService, model_id: str, tags: list[tuple[str, float]]) -> uuid.UUID:
    track = uuid.uuid4()
    vector = np.random.default_rng(track.int % 2**32).normal(size=DIM).astype(np.float32)
    service.store(service.resolve(model_id), track_id=track,
                  embedded=Embedded(vector, 1, tags=tags), checksum=track.hex * 2,
                  entry_id=uuid.uuid4(), environment="production")
    return track


def test_a_candidates_tags_wait_for_its_promotion(
        candidate: tuple[EmbedderService, RecordingSink, str], database: Database) -> None:
    service, sink, model_id = candidate
    rock = _store(service, model_id, [("rock", 0.9), ("jazz", 0.2)])
    quiet = _store(service, model_id, [("jazz", 0.1)])  # nothing confident: nothing to send
    model = service.resolve(model_id)
    with database.read() as session:
        stored = dict(repo.track_tags_page(session, model.id, None, 10))
    assert stored == {rock: {"rock": 0.9}} and quiet not in stored

    assert service.publish_tags(model) == 0 and sink.sent == []  # not active: nothing leaves

    service.export_artifacts(model_id)
    service.activate_promoted(model_id, Promotion("promotion-embedding-x", "owner", "ops"))
    assert sink.sent == [(rock, {"rock": 0.9})]


def test_direct_activation_is_refused_in_production_and_publishes_nothing(
        candidate: tuple[EmbedderService, RecordingSink, str]) -> None:
    service, sink, model_id = candidate
    _store(service, model_id, [("rock", 0.9)])
    service.export_artifacts(model_id)
    with pytest.raises(Exception, match="promote"):
        service.activate(model_id)
    assert sink.sent == []
