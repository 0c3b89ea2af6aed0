"""The content evaluation's corpus read through the mesh: governance's production-eligible
rows linked to catalog tracks, identity's albums and artists of those tracks, and the
embedder's stored vectors of a model."""

from __future__ import annotations

from collections.abc import Callable, Collection

import grpc
import numpy as np

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.identity_calls import list_resources
from services.ranker.evaluation.content import TrackFacts

PAGE = 500
VECTORS_CHUNK = 500  # ids a GetVectors call carries


class MeshContentCorpus:
    def __init__(self, governance: GovernanceServiceStub, identity: IdentityServiceStub,
                 embedder: EmbedderServiceStub,
                 on_progress: Callable[[int], None] = lambda _: None) -> None:
        self._governance = governance
        self._identity = identity
        self._embedder = embedder
        self._progress = on_progress  # an activity's heartbeat

    def eligible_tracks(self) -> set[str]:
        tracks: set[str] = set()
        token = ""
        while True:
            reply = self._governance.ListEligibleEntries(gpb.ListEligibleEntriesRequest(
                environment=common_pb2.ENVIRONMENT_PRODUCTION, with_track_only=True,
                page=common_pb2.PageRequest(page_size=PAGE, page_token=token)))
            tracks |= {e.track_juke_id for e in reply.entries if e.track_juke_id}
            token = reply.page.next_page_token
            self._progress(len(tracks))
            if not token:
                return tracks

    def track_facts(self) -> dict[str, TrackFacts]:
        return {r.juke_id: TrackFacts(r.album.juke_id, frozenset(a.juke_id for a in r.artists))
                for r in list_resources(self._identity, common_pb2.RESOURCE_TYPE_TRACK,
                                        on_page=self._progress)}

    def vectors(self, model_id: str, track_ids: Collection[str]) -> dict[str, np.ndarray]:
        ids = sorted(track_ids)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), VECTORS_CHUNK):
            reply = self._embedder.GetVectors(epb.GetVectorsRequest(
                juke_ids=ids[start:start + VECTORS_CHUNK], model_id=model_id))
            found |= {v.juke_id: np.asarray(v.vector, dtype=np.float32) for v in reply.vectors
                      if v.resource_type == common_pb2.RESOURCE_TYPE_TRACK}
            self._progress(len(found))
        return found

    def active_model_id(self) -> str:
        try:
            return str(self._embedder.GetActiveModel(epb.GetActiveModelRequest()).model.id)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.FAILED_PRECONDITION:  # none is active
                return ""
            raise
