"""Interaction data sets as the trainer sees them, read from where governance registered them.

Readers are keyed by data set name; items are mapped onto catalog juke_ids through the
identity service's adapter ids (e.g. `lastfm:<artist id>`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import grpc
import numpy as np

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.db import Database
from services.common.errors import FailedPrecondition
from services.common.identity_calls import juke_ids_of_adapter_ids, list_resources
from services.common.proto_convert import type_to_proto
from services.ranker.datasets.hetrec import ADAPTER_SOURCE, read_listening_counts
from services.ranker.training.cooccurrence import Interactions, require_dataset
from services.ranker.training.event_interactions import (
    EVENTS_DATASET,
    EventInteractions,
    events_dataset,
)


class RegisteredInteractions:
    """InteractionSource over governance's data set registry and identity's adapter ids.

    The reader is chosen by what the registered location holds (HetRec's user_artists.dat
    today; listening-event exports join here), so any data set in a known format trains.
    """

    def __init__(self, governance: GovernanceServiceStub, identity: IdentityServiceStub,
                 events: EventInteractions | None = None) -> None:
        self._governance = governance
        self._identity = identity
        self._events = events

    def load(self, dataset: str) -> Interactions:
        """Interactions per basket: a listening session, or a user where that is all there is."""
        return self._load(dataset, by_user=False)

    def load_users(self, dataset: str) -> Interactions:
        """Interactions per user (collaborative filtering)."""
        return self._load(dataset, by_user=True)

    def _load(self, dataset: str, by_user: bool) -> Interactions:
        if dataset == EVENTS_DATASET and self._events is not None:
            # First-party events: registered on first use, so governance decides on them
            # like on any other data set before a model trained on them can serve.
            self._governance.RegisterDataset(gpb.RegisterDatasetRequest(dataset=events_dataset()))
            return self._events.load(by_user=by_user)
        registered = self._governance.ListDatasets(gpb.ListDatasetsRequest()).datasets
        location = Path(require_dataset({d.name: d.location for d in registered}, dataset))
        if (location / "user_artists.dat").is_file():
            return self._lastfm(dataset, location)
        raise FailedPrecondition(f"data set {dataset!r} at {location} is in no format the "
                                 "trainer reads (expected Last.fm HetRec user_artists.dat)")

    def _lastfm(self, dataset: str, location: Path) -> Interactions:
        listens = read_listening_counts(location)
        mapping = self.juke_ids(ADAPTER_SOURCE, "artist",
                                sorted({int(a) for a in listens.artists}))
        keep = np.array([int(a) in mapping for a in listens.artists], dtype=bool)
        items = np.array([mapping[int(a)] for a in listens.artists[keep]], dtype=object)
        return Interactions(dataset, "artist", listens.users[keep], items, listens.weights[keep],
                            unmapped=int((~keep).sum()))

    def juke_ids(self, source: str, rtype: str, ids: Sequence[int]) -> dict[int, str]:
        return juke_ids_of_adapter_ids(self._identity, source, ids, type_to_proto(rtype))


class CatalogLabels:
    """The genres and tags identity holds for items of a type (the diversity safeguard)."""

    def __init__(self, identity: IdentityServiceStub) -> None:
        self._identity = identity

    def __call__(self, item_type: str, items: Collection[str]) -> dict[str, set[str]]:
        wanted = set(items)
        return {r.juke_id: {t.name.lower() for t in r.tags} | {g.juke_id for g in r.genres}
                for r in list_resources(self._identity, type_to_proto(item_type))
                if r.juke_id in wanted}


class GovernanceGate:
    """Registers what a model was trained on and asks whether production may use it."""

    def __init__(self, governance: GovernanceServiceStub) -> None:
        self._governance = governance

    def register_and_check(self, dataset: str) -> tuple[str, bool]:
        registered = self._governance.RegisterTrainingSet(gpb.RegisterTrainingSetRequest(
            dataset_ids=[dataset], description=f"co-occurrence training on {dataset}"))
        check = self._governance.CheckTrainingSet(gpb.CheckTrainingSetRequest(
            environment=common_pb2.ENVIRONMENT_PRODUCTION,
            training_set_hash=registered.training_set_hash))
        return registered.training_set_hash, check.allowed


def connect(governance: grpc.Channel, identity: grpc.Channel, db: Database | None = None
            ) -> tuple[RegisteredInteractions, GovernanceGate]:
    g, i = GovernanceServiceStub(governance), IdentityServiceStub(identity)
    events = EventInteractions(db) if db is not None else None
    return RegisteredInteractions(g, i, events), GovernanceGate(g)
