"""Backfill activities. Dependencies come in through the constructor (testable, no globals)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from temporalio import activity

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.files import sha256_file
from services.common.identity_calls import list_resources
from services.embedder.activity_types import (
    Batch,
    BatchItem,
    BatchOutcome,
    EmbedBatchInput,
    FinishInput,
    FinishOutcome,
    NextBatchInput,
    ResolvedModel,
    ResolveModelInput,
)
from services.embedder.repository import ModelRecord
from services.embedder.service import EmbedderService, TrackRelations, audio_path

log = logging.getLogger(__name__)
ENVIRONMENTS = {"production": common_pb2.ENVIRONMENT_PRODUCTION,
                "research": common_pb2.ENVIRONMENT_RESEARCH}
PAGE = 500


class BackfillActivities:
    def __init__(self, service: EmbedderService, governance: GovernanceServiceStub,
                 identity: IdentityServiceStub, corpus_dir: Path) -> None:
        self._service = service
        self._governance = governance
        self._identity = identity
        self._corpus_dir = corpus_dir

    @activity.defn(name="resolve_model")
    def resolve_model(self, params: ResolveModelInput) -> ResolvedModel:
        model = self._service.resolve(params.model_ref)
        self._service.runtime(model)  # fail now, with the reason, if it cannot run here
        return ResolvedModel(str(model.id), model.name, model.version, model.embedding_dim)

    @activity.defn(name="next_batch")
    def next_batch(self, params: NextBatchInput) -> Batch:
        """The next page of eligible rows, keeping those without a fresh embedding."""
        reply = self._governance.ListEligibleEntries(gpb.ListEligibleEntriesRequest(
            environment=ENVIRONMENTS[params.environment], with_track_only=True,
            page=common_pb2.PageRequest(page_size=params.batch_size,
                                        page_token=params.page_token)))
        model = self._service.resolve(params.model_id)
        rows = list(reply.entries)
        stale = self._service.needs_embedding(
            model, [(uuid.UUID(e.track_juke_id), e.checksum) for e in rows])
        items = [BatchItem(e.id, e.track_juke_id, e.source, e.track_path, e.checksum)
                 for e in rows if uuid.UUID(e.track_juke_id) in stale]
        return Batch(items=items, next_page_token=reply.page.next_page_token, scanned=len(rows))

    @activity.defn(name="embed_batch")
    def embed_batch(self, params: EmbedBatchInput) -> BatchOutcome:
        model = self._service.resolve(params.model_id)
        runtime = self._service.runtime(model)
        outcome = BatchOutcome()
        for index, item in enumerate(params.items):
            activity.heartbeat(index)
            track = uuid.UUID(item.track_id)
            if not self._service.needs_embedding(model, [(track, item.checksum)]):
                outcome.unchanged += 1  # done by an earlier attempt of this activity
                continue
            reason = self._still_eligible(params.environment, item)
            path = audio_path(self._corpus_dir, item.source, item.track_path)
            if reason is None:
                reason = self._unreadable(path, item.checksum)
            if reason is not None:
                outcome.skipped.append(f"{item.track_path}: {reason}")
                continue
            embedded = runtime.embed_file(path)
            if self._service.store(model, track_id=track, embedded=embedded,
                                   checksum=item.checksum, entry_id=uuid.UUID(item.entry_id),
                                   environment=params.environment):
                outcome.embedded += 1
            else:
                outcome.unchanged += 1
        return outcome

    def _still_eligible(self, environment: str, item: BatchItem) -> str | None:
        """Eligibility is re-checked just before the file is read (fail closed)."""
        result = self._governance.CheckEligibility(gpb.CheckEligibilityRequest(
            environment=ENVIRONMENTS[environment], entry_ids=[item.entry_id])).results[0]
        if result.eligible:
            return None
        codes = ", ".join(dict.fromkeys(r.code for r in result.decision.reasons))
        return f"no longer eligible for {environment} ({codes or result.error})"

    @staticmethod
    def _unreadable(path: Path, checksum: str) -> str | None:
        if not path.is_file():
            return f"file not found at {path}"
        actual = sha256_file(path)
        if actual != checksum:
            return f"file changed since ingest (sha256 {actual[:12]}…, manifest {checksum[:12]}…)"
        return None

    @activity.defn(name="finish_backfill")
    def finish_backfill(self, params: FinishInput) -> FinishOutcome:
        model = self._service.resolve(params.model_id)
        lists = self._service.build_index(model)
        artifact_hash = self._export_artifacts(model)
        tracks, album_artists = self._catalog_relations()
        albums, artists = self._service.aggregate(model, tracks, album_artists)
        # Only the active model's tags reach the catalog; a candidate's wait for its promotion.
        self._service.publish_tags(model)
        return FinishOutcome(index_lists=lists, albums=albums, artists=artists,
                             artifact_hash=artifact_hash)

    def _export_artifacts(self, model: ModelRecord) -> str:
        """The rankers' retrieval artifacts, rewritten from the vectors this backfill left;
        a backfill that embedded nothing has nothing to export (and is no failure)."""
        if not self._service.has_track_vectors(model):
            return ""
        view, _, _ = self._service.export_artifacts(str(model.id))
        return view.record.artifact_hash

    def _catalog_relations(self) -> tuple[list[TrackRelations], dict[uuid.UUID, list[uuid.UUID]]]:
        tracks = [
            TrackRelations(uuid.UUID(r.juke_id),
                           uuid.UUID(r.album.juke_id) if r.album.juke_id else None,
                           r.duration_ms)
            for r in self._list(common_pb2.RESOURCE_TYPE_TRACK)]
        albums = {uuid.UUID(r.juke_id): [uuid.UUID(a.juke_id) for a in r.artists]
                  for r in self._list(common_pb2.RESOURCE_TYPE_ALBUM)}
        return tracks, albums

    def _list(self, rtype: int) -> list[ipb.Resource]:
        return list(list_resources(self._identity, rtype, PAGE, on_page=activity.heartbeat))
