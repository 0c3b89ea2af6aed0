"""Playlist scoring over real gRPC and PostgreSQL: profiles (hash stability, invalidation,
immutability), continuation (never a playlist item, explained), matching (a stored result on
an identical call with nothing rescored, a new one after a membership change), bad input,
and the Temporal profile backfill (resumable across runs, idempotent)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import playlist_scoring_pb2 as spb
from juke.ranker.v1 import playlist_scoring_pb2_grpc
from juke.ranker.v1.playlist_scoring_pb2_grpc import PlaylistScoringServiceStub
from services.common.config import Settings
from services.common.db import Database
from services.common.telemetry import setup_telemetry
from services.common.vector_artifacts import AnnParams
from services.ranker.__main__ import playlist_scoring
from services.ranker.api.clients import EmbedderClient, GovernanceClient, IdentityClient
from services.ranker.api.playlist_scoring import PlaylistScoringServicer
from services.ranker.playlists import scoring
from services.ranker.playlists.scoring import PlaylistScoring
from services.ranker.serving.content import LocalContent
from services.ranker.serving.service import RankerService
from services.ranker.store.playlist_scoring import (
    PlaylistMatchStore,
    PlaylistProfileStore,
    playlist_ids_after,
)
from services.ranker.store.playlists import PlaylistRepository
from services.ranker.workflows.playlist_profile_activities import (
    PlaylistProfileActivities,
    ProfileBackfillStarter,
)
from services.ranker.workflows.playlist_profiles import PlaylistProfileBackfillWorkflow
from services.ranker.workflows.playlist_profiles_contracts import (
    PROFILE_BACKFILL_WORKFLOW,
    ProfileBackfillInput,
    ProfileBackfillResult,
    ProfileBackfillStart,
)

TAG = f"ps{uuid.uuid4().hex[:8]}"
USER = f"user-{TAG}"
SERVICE = spb.DESCRIPTOR.services_by_name["PlaylistScoringService"].full_name
ARTISTS, TRACKS_EACH = 4, 5


@dataclass
class World:
    stub: PlaylistScoringServiceStub
    scoring: PlaylistScoring
    ranker: RankerService
    repo: PlaylistRepository
    profiles: PlaylistProfileStore
    tracks: list[list[str]]     # per artist
    artists: list[str]


@pytest.fixture(scope="module")
def world(start_server: Callable[..., grpc.Channel], identity_channel: grpc.Channel,
          embedder_channel: grpc.Channel, governance_channel: grpc.Channel,
          artifact_root: Path, database: Database) -> World:
    """Four artists of five tracks; artists 0 and 1 share a 'sad' tag, 2 and 3 a 'happy'
    one, and all of them a weak common tag, so the hybrid reaches every track from one
    playlist, its own mood first."""
    identity = IdentityServiceStub(identity_channel)
    artists = [a.juke_id for a in identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"scoring artist {TAG} {a}") for a in range(ARTISTS)])).results]
    tracks = []
    for a, artist in enumerate(artists):
        mood = "sad" if a < 2 else "happy"
        tags = [ipb.TagInput(name=mood, source=common_pb2.TAG_SOURCE_INTERNAL, weight=0.8),
                ipb.TagInput(name=f"{mood}-{TAG}", source=common_pb2.TAG_SOURCE_INTERNAL,
                             weight=0.9),
                ipb.TagInput(name=f"all-{TAG}", source=common_pb2.TAG_SOURCE_INTERNAL,
                             weight=0.3)]
        reply = identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
            ipb.TrackInput(name=f"scoring song {TAG} {a}-{t}", artist_refs=[artist], tags=tags)
            for t in range(TRACKS_EACH)]))
        tracks.append([r.juke_id for r in reply.results])
    holder: dict[str, Any] = {}

    def register(server: grpc.Server, db: Database) -> None:
        content = LocalContent(EmbedderClient(embedder_channel), artifact_root, AnnParams())
        ranker = RankerService(db, IdentityClient(identity_channel), content,
                               GovernanceClient(governance_channel))
        ranker.refresh_features()
        service = PlaylistScoring(ranker, PlaylistRepository(db), PlaylistProfileStore(db),
                                  PlaylistMatchStore(db))
        holder["service"], holder["ranker"] = service, ranker
        playlist_scoring_pb2_grpc.add_PlaylistScoringServiceServicer_to_server(
            PlaylistScoringServicer(service, ranker.item_details), server)

    channel = start_server("ranker", [SERVICE], register)
    return World(PlaylistScoringServiceStub(channel), holder["service"], holder["ranker"],
                 PlaylistRepository(database), PlaylistProfileStore(database), tracks, artists)


def _playlist(world: World, tracks: list[str], name: str = "sad songs") -> str:
    record, _ = world.repo.create(USER, name, "", tracks)
    return record.id


def _code(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details() or ""


def test_a_profile_hash_is_stable_and_a_membership_change_makes_a_new_one(
        world: World, database: Database) -> None:
    playlist = _playlist(world, [world.tracks[0][0], world.tracks[0][1], world.tracks[1][0]])
    first = world.stub.GetPlaylistProfile(spb.GetPlaylistProfileRequest(playlist_id=playlist))
    again = world.stub.GetPlaylistProfile(spb.GetPlaylistProfileRequest(playlist_id=playlist))
    assert first.built and not again.built
    assert again.profile == first.profile
    profile = first.profile
    assert profile.members == 3 and list(profile.track_ids)[:1] == [world.tracks[0][0]]
    assert dict((m.name, m.weight) for m in profile.moods)["melancholic"] == pytest.approx(1.0)
    assert {a.name for a in profile.artists} == {world.artists[0], world.artists[1]}
    assert any(t.name == "sad" for t in profile.tags)

    world.repo.edit_items(playlist, lambda current: [*current, world.tracks[1][1]])
    changed = world.stub.GetPlaylistProfile(spb.GetPlaylistProfileRequest(playlist_id=playlist))
    assert changed.built and changed.profile.hash != profile.hash
    assert changed.profile.members == 4
    stored = world.profiles.get(profile.hash)   # the old profile is kept, as it was
    assert stored is not None and stored.members == 3
    with pytest.raises(DBAPIError, match="immutable"), database.transaction() as session:
        session.execute(text("UPDATE ranker.playlist_profile SET members = 0 WHERE hash = :h"),
                        {"h": profile.hash})


def test_continuation_excludes_the_playlist_and_explains_its_tracks(world: World) -> None:
    items = [world.tracks[0][0], world.tracks[0][1], world.tracks[1][0], world.tracks[0][0]]
    playlist = _playlist(world, items)
    reply = world.stub.ContinuePlaylist(spb.ContinuePlaylistRequest(playlist_id=playlist,
                                                                    limit=5))
    served = [i.resource.juke_id for i in reply.items]
    assert len(served) == 5 and len(set(served)) == 5
    assert not set(served) & set(items)
    assert [s.track_id for s in reply.seeds] == [world.tracks[0][1], world.tracks[1][0],
                                                 world.tracks[0][0]]
    assert reply.seeds[-1].weight == 1.0 > reply.seeds[0].weight
    for item in reply.items:
        assert item.explanation and all(c.reason for c in item.explanation)
        assert sum(c.contribution for c in item.explanation) == pytest.approx(item.final_score)
    # The artist limiter counts the playlist's tail: artist 0 has three of its last tracks
    # (no room left), artist 1 one (room for one more); the rest is the other mood's.
    by_artist = {t: a for a, ts in enumerate(world.tracks) for t in ts}
    assert [by_artist[t] for t in served].count(0) == 0
    assert [by_artist[t] for t in served].count(1) == 1
    assert by_artist[served[0]] == 1
    assert reply.bundle.weight_config_id


def test_matching_is_stored_and_returned_unscored_until_the_playlist_changes(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    playlist = _playlist(world, [world.tracks[0][0], world.tracks[0][1], world.tracks[1][0]])
    candidates = [world.tracks[2][0], world.tracks[1][2], world.tracks[0][3]]
    scored: list[int] = []
    real = scoring.fit_tracks

    def counting(*args: Any, **kwargs: Any) -> Any:
        scored.append(len(args[2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "fit_tracks", counting)
    counts = dict(world.scoring.cache_counts)
    first = world.stub.MatchTracks(spb.MatchTracksRequest(playlist_id=playlist,
                                                          track_refs=candidates))
    assert not first.cached and scored == [3]
    fits = {f.track_id: f for f in first.fits}
    assert set(fits) == set(candidates)
    assert [f.score for f in first.fits] == sorted((f.score for f in first.fits), reverse=True)
    for fit in first.fits:
        assert 0.0 <= fit.score <= 1.0
        assert [s.signal for s in fit.signals] == ["content", "tags", "artists",
                                                   "cooccurrence", "mood"]
        assert sum(s.contribution for s in fit.signals) == pytest.approx(fit.score)
        assert all(s.reason for s in fit.signals)
    assert fits[world.tracks[0][3]].score > fits[world.tracks[2][0]].score
    assert first.key.profile_hash and first.bundle.weight_config_id and first.model_version

    # The same candidates in another order: the stored result, nothing scored again.
    again = world.stub.MatchTracks(spb.MatchTracksRequest(playlist_id=playlist,
                                                          track_refs=candidates[::-1]))
    assert again.cached and again.match_id == first.match_id and scored == [3]
    assert list(again.fits) == list(first.fits) and again.key == first.key
    assert world.scoring.cache_counts == {"hit": counts["hit"] + 1,
                                          "miss": counts["miss"] + 1}

    world.repo.edit_items(playlist, lambda current: list(current)[:-1])
    changed = world.stub.MatchTracks(spb.MatchTracksRequest(playlist_id=playlist,
                                                            track_refs=candidates))
    assert not changed.cached and changed.match_id != first.match_id and scored == [3, 3]
    assert changed.key.profile_hash != first.key.profile_hash
    assert changed.key.candidate_set_hash == first.key.candidate_set_hash


def test_match_cache_hits_and_misses_are_exported_as_a_counter(world: World,
                                                                database: Database) -> None:
    reader = InMemoryMetricReader()
    settings = Settings.from_env({})
    telemetry = setup_telemetry("juke-ranker-test", settings, metric_reader=reader,
                                install_global=False)
    service = playlist_scoring(database, world.ranker, settings, telemetry)
    playlist = _playlist(world, [world.tracks[1][3], world.tracks[1][4]])
    for _ in range(3):
        service.match_tracks(playlist, [world.tracks[0][2]])
    data = reader.get_metrics_data()
    assert data is not None
    points = {tuple(sorted((p.attributes or {}).items())): getattr(p, "value", None)
              for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
              if m.name == "juke.playlist_match.cache" for p in m.data.data_points}
    assert points == {(("kind", "tracks"), ("result", "miss")): 1,
                      (("kind", "tracks"), ("result", "hit")): 2}


def test_a_users_playlists_are_ranked_by_fit_and_cached(world: World) -> None:
    user = f"{USER}-match"
    sad, _ = world.repo.create(user, "sad", "", world.tracks[0][:3])
    happy, _ = world.repo.create(user, "happy", "", world.tracks[2][:3])
    track = world.tracks[2][4]
    first = world.stub.MatchPlaylists(spb.MatchPlaylistsRequest(user_id=user, track_ref=track))
    assert not first.cached and first.track_id == track
    assert [(p.playlist_id, p.name) for p in first.playlists] == [(happy.id, "happy"),
                                                                   (sad.id, "sad")]
    assert first.playlists[0].score > first.playlists[1].score
    again = world.stub.MatchPlaylists(spb.MatchPlaylistsRequest(user_id=user, track_ref=track))
    assert again.cached and again.match_id == first.match_id


def test_bad_requests_name_what_is_wrong(world: World) -> None:
    playlist = _playlist(world, [world.tracks[0][0]])
    unknown = str(uuid.uuid4())
    code, details = _code(lambda: world.stub.MatchTracks(spb.MatchTracksRequest(
        playlist_id=playlist, track_refs=[world.tracks[1][0], unknown])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and unknown in details
    code, details = _code(lambda: world.stub.MatchTracks(spb.MatchTracksRequest(
        playlist_id=playlist, track_refs=[world.artists[0]])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and world.artists[0] in details
    assert "artist" in details
    code, details = _code(lambda: world.stub.MatchTracks(spb.MatchTracksRequest(
        playlist_id=playlist, track_refs=[str(uuid.uuid4()) for _ in range(501)])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "500" in details
    code, details = _code(lambda: world.stub.ContinuePlaylist(spb.ContinuePlaylistRequest(
        playlist_id=unknown)))
    assert code == grpc.StatusCode.NOT_FOUND and unknown in details
    code, details = _code(lambda: world.stub.GetPlaylistProfile(spb.GetPlaylistProfileRequest(
        playlist_id="not-a-uuid")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "not-a-uuid" in details
    empty = _playlist(world, [])
    code, details = _code(lambda: world.stub.ContinuePlaylist(spb.ContinuePlaylistRequest(
        playlist_id=empty)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and empty in details


# --- the profile backfill -----------------------------------------------------------------------


@asynccontextmanager
async def _backfill_worker(world: World, database: Database
                           ) -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    """A time-skipping server and a worker running the backfill: (its env, its queue)."""
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server))
    queue = f"profiles-{uuid.uuid4().hex[:8]}"
    activities = PlaylistProfileActivities(partial(playlist_ids_after, database), world.stub)
    try:
        with ThreadPoolExecutor(2) as executor:
            async with Worker(env.client, task_queue=queue,
                              workflows=[PlaylistProfileBackfillWorkflow],
                              activities=[activities.next_playlists,
                                          activities.build_playlist_profiles],
                              activity_executor=executor):
                yield env, queue
    finally:
        await env.shutdown()


def _backfill(world: World, database: Database, params: ProfileBackfillInput
              ) -> ProfileBackfillResult:
    async def go() -> ProfileBackfillResult:
        async with _backfill_worker(world, database) as (env, queue):
            return await env.client.execute_workflow(
                PROFILE_BACKFILL_WORKFLOW, params, id=f"test-{queue}", task_queue=queue,
                result_type=ProfileBackfillResult)

    return asyncio.run(go())


def test_the_backfill_builds_every_profile_once_across_runs(world: World,
                                                             database: Database) -> None:
    new = [_playlist(world, [world.tracks[3][k], world.tracks[2][k]], f"backfill {k}")
           for k in range(5)]  # more than the 2 pages of 2 of one run
    total = len(world.repo.all_ids())
    first = _backfill(world, database, ProfileBackfillInput(batch_size=2, batches_per_run=2)
                      ).progress
    assert first.phase == "done" and first.playlists == total
    assert first.runs > 1                  # continued as new with its cursor
    assert first.built + first.existing + first.gone == total and first.built >= len(new)
    assert len(first.bundle_hashes) == 1
    for playlist in new:
        view = world.scoring.profile(playlist)
        assert not view.built              # the backfill stored it
        assert view.record.bundle_hash == first.bundle_hashes[0]
    again = _backfill(world, database, ProfileBackfillInput(batch_size=50)).progress
    assert (again.built, again.existing) == (0, total)   # idempotent: nothing rebuilt


def test_the_backfill_an_activation_asks_for_runs_under_its_id(world: World,
                                                                database: Database) -> None:
    async def go() -> list[ProfileBackfillResult]:
        async with _backfill_worker(world, database) as (env, queue):
            starter = ProfileBackfillStarter(env.client, queue)
            start = ProfileBackfillStart(f"playlist-profiles-after-cf-{queue}")
            runs = []
            for _ in range(2):   # the same candidate promoted again later
                await ActivityEnvironment().run(starter.start_playlist_profile_backfill, start)
                runs.append(await env.client.get_workflow_handle(
                    start.workflow_id, result_type=ProfileBackfillResult).result())
            return runs

    _playlist(world, [world.tracks[1][0], world.tracks[2][1]], "after an activation")
    first, second = asyncio.run(go())
    total = len(world.repo.all_ids())
    assert first.progress.phase == "done" and first.progress.playlists == total
    assert first.progress.built + first.progress.existing == total
    assert (second.progress.built, second.progress.existing) == (0, total)
