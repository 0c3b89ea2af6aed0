"""Personal recommendations over gRPC: the fallback chain and collaborative filtering."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.db import Database
from services.ranker.core.cf import CfConfig
from services.ranker.training.cf import CfTrainer
from services.ranker.training.event_interactions import EVENTS_DATASET
from services.ranker.training.interactions import connect

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def world(start_ranker: Callable[..., grpc.Channel], identity_channel: grpc.Channel
          ) -> tuple[RankerServiceStub, list[str], list[str], tuple[str, str]]:
    """Two listening clusters of 8 tracks each, 12 listeners per cluster, and a genre with
    one track nobody played; the ranker starts after they exist so its features know them."""
    run = uuid.uuid4().hex[:8]
    identity = IdentityServiceStub(identity_channel)
    reply = identity.UpsertTracks(ipb.UpsertTracksRequest(
        tracks=[ipb.TrackInput(name=f"personal {run} {n}", external_ids=[
            common_pb2.ExternalId(source="spotify", external_id=f"p{run}{n}")])
            for n in range(16)]))
    ids = [o.juke_id for o in reply.results]
    genre = identity.UpsertGenres(ipb.UpsertGenresRequest(genres=[
        ipb.GenreInput(name=f"quiet genre {run}")])).results[0].juke_id
    unplayed = identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"unplayed {run}", genre_refs=[genre])])).results[0].juke_id
    ranker = RankerServiceStub(start_ranker())
    events = []
    for user in range(24):
        cluster = ids[:8] if user % 2 else ids[8:]
        for k, track in enumerate(cluster[user % 3:user % 3 + 6]):
            stamp = Timestamp()
            stamp.FromDatetime(NOW - timedelta(hours=user, minutes=k))
            events.append(rpb.ListeningEvent(user_id=f"{run}-u{user}", item=track,
                                             type=rpb.EVENT_TYPE_COMPLETE, occurred_at=stamp))
    ranker.RecordEvents(rpb.RecordEventsRequest(events=events))
    return ranker, ids, [f"{run}-u{u}" for u in range(24)], (genre, unplayed)


def _for(ranker: RankerServiceStub, user: str, limit: int = 5) -> rpb.RecommendForUserResponse:
    return ranker.RecommendForUser(rpb.RecommendForUserRequest(user_id=user, limit=limit))


def test_new_users_get_popular_items_never_an_empty_list(world: tuple) -> None:
    ranker, _, _, _ = world
    reply = _for(ranker, f"nobody-{uuid.uuid4().hex}")
    assert reply.path == "popularity" and reply.qualifying_interactions == 0
    assert len(reply.result.items) == 5
    assert all(i.explanation[0].signal == "popularity" for i in reply.result.items)
    assert "listeners played it" in reply.result.items[0].explanation[0].reason


def test_history_then_collaborative_filtering(world: tuple, database: Database,
                                              identity_channel: grpc.Channel,
                                              governance_channel: grpc.Channel) -> None:
    ranker, ids, users, _ = world
    listener = users[1]  # cluster ids[:8], has played 6 of them
    before = _for(ranker, listener)
    assert before.qualifying_interactions == 6
    if not any(m.active for m in ranker.ListCfModels(rpb.ListCfModelsRequest()).models):
        assert before.path == "history"

    source, gate = connect(governance_channel, identity_channel, database)
    trained = CfTrainer(database, source, gate).train(
        EVENTS_DATASET, CfConfig(factors=8, iterations=10))
    assert trained.production_allowed and trained.items >= 16
    activated = ranker.ActivateCfModel(rpb.ActivateCfModelRequest(id=trained.model_id))
    # Direct (ungated) activation does not vouch for the model: only a promotion marks it.
    assert activated.model.active and not activated.model.is_known_good

    after = _for(ranker, listener, limit=2)
    assert after.path == "cf" and after.cf_model_id == trained.model_id
    played = set(ids[1:7])
    got = [i.resource.juke_id for i in after.result.items]
    assert got and not set(got) & played          # never what they already play
    assert set(got) <= set(ids[:8])               # their own cluster's other tracks
    reason = after.result.items[0].explanation[0]
    assert reason.signal == "cf" and "collaborative filtering" in reason.reason


def test_one_play_is_enough_for_collaborative_filtering(world: tuple, database: Database,
                                                        identity_channel: grpc.Channel,
                                                        governance_channel: grpc.Channel
                                                        ) -> None:
    """JUKE_CF_MIN_PLAYS defaults to 1: with a CF model active, a listener's first play
    already gets CF rather than popularity (the evaluation's short-history slice); a skip
    alone qualifies nothing, so popularity serves until then."""
    ranker, ids, _, _ = world
    if not any(m.active for m in ranker.ListCfModels(rpb.ListCfModelsRequest()).models):
        source, gate = connect(governance_channel, identity_channel, database)
        trained = CfTrainer(database, source, gate).train(
            EVENTS_DATASET, CfConfig(factors=8, iterations=10))
        ranker.ActivateCfModel(rpb.ActivateCfModelRequest(id=trained.model_id))
    newcomer = f"one-play-{uuid.uuid4().hex[:8]}"

    def event(track: str, kind: int) -> None:
        stamp = Timestamp()
        stamp.FromDatetime(NOW)
        ranker.RecordEvents(rpb.RecordEventsRequest(events=[rpb.ListeningEvent(
            user_id=newcomer, item=track, type=kind, occurred_at=stamp)]))

    event(ids[1], rpb.EVENT_TYPE_SKIP)
    skipped = _for(ranker, newcomer, limit=3)
    assert skipped.path == "popularity" and skipped.qualifying_interactions == 0
    assert "of the 1 play" in skipped.result.items[0].explanation[0].reason
    event(ids[0], rpb.EVENT_TYPE_COMPLETE)
    first = _for(ranker, newcomer, limit=3)
    assert first.path == "cf" and first.qualifying_interactions == 1
    served = {i.resource.juke_id for i in first.result.items}
    assert served and ids[0] not in served


def test_bad_requests_name_the_value(world: tuple) -> None:
    ranker, _, _, _ = world
    with pytest.raises(grpc.RpcError) as err:
        ranker.RecommendForUser(rpb.RecommendForUserRequest(user_id=" "))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        ranker.ActivateCfModel(rpb.ActivateCfModelRequest(id="nope"))
    assert "'nope'" in (err.value.details() or "")
