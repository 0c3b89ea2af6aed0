"""Listening events over gRPC: validation, all-or-nothing batches, idempotency, training."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import func, select

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.db import Database
from services.common.errors import error_fields_from_metadata
from services.ranker.api.clients import IdentityClient
from services.ranker.core.pmi import PmiConfig
from services.ranker.store import repository as repo
from services.ranker.store.models import ListeningEventRow
from services.ranker.training.cooccurrence import CooccurrenceTrainer
from services.ranker.training.event_interactions import EVENTS_DATASET
from services.ranker.training.interactions import connect

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def ranker(start_ranker: Callable[..., grpc.Channel]) -> RankerServiceStub:
    return RankerServiceStub(start_ranker())


@pytest.fixture(scope="module")
def tracks(identity_channel: grpc.Channel) -> list[str]:
    """Six tracks with a per-run spotify id, returned as `spotify:<id>` refs."""
    run = uuid.uuid4().hex[:10]
    refs = [f"{run}{n}" for n in range(6)]
    IdentityServiceStub(identity_channel).UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"event track {ref}", external_ids=[
            common_pb2.ExternalId(source="spotify", external_id=ref)]) for ref in refs]))
    return [f"spotify:{ref}" for ref in refs]


def _event(user: str, item: str, kind: int, at: datetime, key: str = "",
           session: str = "") -> rpb.ListeningEvent:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return rpb.ListeningEvent(user_id=user, item=item, type=kind, occurred_at=stamp,
                              idempotency_key=key, session_id=session)


def _stored(database: Database, user: str) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(ListeningEventRow)
                                  .where(ListeningEventRow.user_id == user)) or 0)


def test_batch_is_stored_once_and_retries_are_duplicates(
        ranker: RankerServiceStub, tracks: list[str], database: Database) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    batch = [_event(user, tracks[0], rpb.EVENT_TYPE_PLAY, NOW - timedelta(minutes=3)),
             _event(user, tracks[1], rpb.EVENT_TYPE_COMPLETE, NOW - timedelta(minutes=2),
                    key="k-2"),
             _event(user, tracks[1], rpb.EVENT_TYPE_COMPLETE, NOW - timedelta(minutes=2),
                    key="k-2"),  # the same event twice in one batch
             _event(user, tracks[2], rpb.EVENT_TYPE_SKIP, NOW - timedelta(minutes=1))]
    first = ranker.RecordEvents(rpb.RecordEventsRequest(events=batch))
    assert (first.accepted, first.duplicates) == (3, 1)
    assert len(first.item_ids) == 4 and first.item_ids[1] == first.item_ids[2]
    again = ranker.RecordEvents(rpb.RecordEventsRequest(events=batch))
    assert (again.accepted, again.duplicates) == (0, 4)
    assert _stored(database, user) == 3


@pytest.mark.parametrize(("bad", "message"), [
    (lambda t: _event("u", "spotify:no-such-track", rpb.EVENT_TYPE_PLAY, NOW),
     "events[1]: item 'spotify:no-such-track' is not in the catalog"),
    (lambda t: _event("u", t, rpb.EVENT_TYPE_UNSPECIFIED, NOW), "events[1]: type '<0>'"),
    (lambda t: _event("", t, rpb.EVENT_TYPE_PLAY, NOW), "events[1]: user_id is empty"),
    (lambda t: _event("u", t, rpb.EVENT_TYPE_PLAY, NOW + timedelta(days=2)),
     "is before 2000 or in the future"),
    (lambda t: rpb.ListeningEvent(user_id="u", item=t, type=rpb.EVENT_TYPE_PLAY),
     "events[1]: occurred_at is missing"),
])
def test_a_bad_event_rejects_the_whole_batch_naming_its_index(
        ranker: RankerServiceStub, tracks: list[str], database: Database,
        bad: Callable[[str], rpb.ListeningEvent], message: str) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    good = _event(user, tracks[0], rpb.EVENT_TYPE_PLAY, NOW)
    with pytest.raises(grpc.RpcError) as err:
        ranker.RecordEvents(rpb.RecordEventsRequest(events=[good, bad(tracks[0])]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.value.details() or "")
    assert error_fields_from_metadata(err.value.trailing_metadata()).get("index") == 1
    assert _stored(database, user) == 0  # nothing of the batch was kept


def test_keys_are_per_user_and_a_mixed_batch_stores_only_what_is_new(
        ranker: RankerServiceStub, tracks: list[str], database: Database) -> None:
    alice, bob = (f"user-{uuid.uuid4().hex[:8]}" for _ in range(2))
    at = NOW - timedelta(minutes=9)
    first = [_event(alice, tracks[0], rpb.EVENT_TYPE_PLAY, at, key="same"),
             _event(bob, tracks[0], rpb.EVENT_TYPE_PLAY, at, key="same"),
             _event(alice, tracks[1], rpb.EVENT_TYPE_LIKE, at),
             _event(alice, tracks[1], rpb.EVENT_TYPE_LIKE, at, session="s1")]
    reply = ranker.RecordEvents(rpb.RecordEventsRequest(events=first))
    assert (reply.accepted, reply.duplicates) == (4, 0)  # keys differ by user and by event
    later = _event(alice, tracks[2], rpb.EVENT_TYPE_SKIP, at + timedelta(minutes=1))
    reply = ranker.RecordEvents(rpb.RecordEventsRequest(events=[*first, later]))
    assert (reply.accepted, reply.duplicates) == (1, 4)
    assert (_stored(database, alice), _stored(database, bob)) == (4, 1)


def test_a_stored_event_keeps_every_field(
        ranker: RankerServiceStub, tracks: list[str], database: Database) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    at = NOW - timedelta(minutes=4)
    event = _event(f" {user} ", tracks[3], rpb.EVENT_TYPE_COMPLETE, at, key="c-1",
                   session=" s-9 ")
    event.context.update({"device": "web", "note": 'quote " and \\ back'})
    reply = ranker.RecordEvents(rpb.RecordEventsRequest(events=[event]))
    with database.read() as session:
        row = session.execute(select(ListeningEventRow).where(
            ListeningEventRow.user_id == user)).scalar_one()
    assert (str(row.item_juke_id), row.item_type, row.event_type) == (
        reply.item_ids[0], "track", "complete")
    assert (row.occurred_at, row.session_id) == (at, "s-9")
    assert row.idempotency_key == f"client: {user} :c-1"  # the key as sent, user and all
    assert row.context == {"device": "web", "note": 'quote " and \\ back'}


def test_empty_batch_is_refused(ranker: RankerServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as err:
        ranker.RecordEvents(rpb.RecordEventsRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_events_train_a_production_allowed_model(
        ranker: RankerServiceStub, tracks: list[str], database: Database,
        identity_channel: grpc.Channel, governance_channel: grpc.Channel) -> None:
    """Sessions of tracks 0-2 and of 3-5: the first-party data set trains a model that
    governance lets serve production, and skips never make pairs."""
    events = []
    for n in range(12):
        user, group = f"listener-{uuid.uuid4().hex[:6]}-{n}", tracks[:3] if n % 2 else tracks[3:]
        at = NOW - timedelta(hours=n + 1)
        events += [_event(user, t, rpb.EVENT_TYPE_COMPLETE, at + timedelta(minutes=i),
                          session=f"s{n}") for i, t in enumerate(group)]
        events.append(_event(user, tracks[5] if n % 2 else tracks[0], rpb.EVENT_TYPE_SKIP,
                             at + timedelta(minutes=5), session=f"s{n}"))
    ranker.RecordEvents(rpb.RecordEventsRequest(events=events))
    source, gate = connect(governance_channel, identity_channel, database)
    outcome = CooccurrenceTrainer(database, source, gate).train(
        EVENTS_DATASET, PmiConfig(min_count=3, top_k=10, max_items_per_user=50))
    assert outcome.production_allowed
    registered = {d.name: d for d in GovernanceServiceStub(governance_channel).ListDatasets(
        gpb.ListDatasetsRequest()).datasets}
    assert registered[EVENTS_DATASET].decision.production
    models = {m.id: m for m in ranker.ListCooccurrenceModels(
        rpb.ListCooccurrenceModelsRequest()).models}
    assert models[outcome.model_id].item_type == "track"
    juke = {ref: hit[0] for ref, hit in IdentityClient(identity_channel).resolve_items(
        tracks).items() if hit is not None}
    with database.read() as session:
        a, b, _, _ = repo.cooccurrence_rows(session, uuid.UUID(outcome.model_id))
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    assert (juke[tracks[0]], juke[tracks[1]]) in pairs
    assert (juke[tracks[3]], juke[tracks[4]]) in pairs
    assert (juke[tracks[0]], juke[tracks[5]]) not in pairs  # skipped, never a positive
