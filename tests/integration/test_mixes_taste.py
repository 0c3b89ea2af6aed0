"""Daily mixes and taste analysis over gRPC, real PostgreSQL, identity and embedder."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.db import Database
from services.embedder import repository as erepo

NOW = datetime.now(UTC).replace(microsecond=0)
DIM = 8


@dataclass
class World:
    ranker: RankerServiceStub
    run: str
    genres: dict[str, str]          # shoegaze | bebop -> genre juke_id
    artists: dict[str, str]
    tracks: dict[str, list[str]]    # genre -> 10 track ids
    model_label: str

    @property
    def two_genres(self) -> str:
        return f"{self.run}-two"

    @property
    def one_genre(self) -> str:
        return f"{self.run}-one"


def _catalog(identity: IdentityServiceStub, run: str) -> tuple[dict[str, str], dict[str, str],
                                                               dict[str, list[str]]]:
    """Per genre: an artist filed under it, two albums, ten tracks tagged with one tag."""
    genres, artists, tracks = {}, {}, {}
    for genre, tag in (("shoegaze", "dreamy"), ("bebop", "swing")):
        genres[genre] = identity.UpsertGenres(ipb.UpsertGenresRequest(genres=[
            ipb.GenreInput(name=f"{genre} {run}")])).results[0].juke_id
        artists[genre] = identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
            ipb.ArtistInput(name=f"{genre} artist {run}", genre_refs=[genres[genre]])])
        ).results[0].juke_id
        albums = [r.juke_id for r in identity.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
            ipb.AlbumInput(name=f"{genre} album {k} {run}", artist_refs=[artists[genre]])
            for k in range(2)])).results]
        tracks[genre] = [r.juke_id for r in identity.UpsertTracks(ipb.UpsertTracksRequest(
            tracks=[ipb.TrackInput(
                name=f"{genre} song {n} {run}", album_ref=albums[n // 5],
                artist_refs=[artists[genre]], duration_ms=1000,
                tags=[ipb.TagInput(name=f"{tag}{run}", weight=1.0,
                                   source=common_pb2.TAG_SOURCE_MUSICBRAINZ)])
                for n in range(10)])).results]
    return genres, artists, tracks


def _vector(genre: str, n: int) -> np.ndarray:
    """Each genre's tracks around its own axis, with a little per-track spread."""
    vector = np.zeros(DIM, dtype=np.float32)
    vector[0 if genre == "shoegaze" else 1] = 1.0
    vector[2 + n % 6] = 0.2
    return vector


def _event(user: str, item: str, minutes: int, kind: int = rpb.EVENT_TYPE_COMPLETE
           ) -> rpb.ListeningEvent:
    stamp = Timestamp()
    stamp.FromDatetime(NOW - timedelta(minutes=minutes))
    return rpb.ListeningEvent(user_id=user, item=item, type=kind, occurred_at=stamp)  # type: ignore[arg-type]


COHERENT_CONFIG = "01a1fd00-0000-7000-8000-000000000001"  # the initial weight config


def _activate_weights(database: Database, config_id: str) -> str:
    """Make `config_id` the active weight config; returns the one it replaced."""
    with database.transaction() as session:
        was = session.execute(text("SELECT id FROM ranker.ranking_weight_config WHERE active")
                              ).scalar_one()
        session.execute(text("UPDATE ranker.ranking_weight_config SET active = false "
                             "WHERE active"))
        session.execute(text("UPDATE ranker.ranking_weight_config SET active = true "
                             "WHERE id = :id"), {"id": config_id})
    return str(was)


@pytest.fixture(scope="module")
def world(start_ranker: Callable[..., grpc.Channel], identity_channel: grpc.Channel,
          embedder_channel: grpc.Channel, database: Database) -> Iterator[World]:
    run = uuid.uuid4().hex[:8]
    genres, artists, tracks = _catalog(IdentityServiceStub(identity_channel), run)
    embedder = EmbedderServiceStub(embedder_channel)
    model = embedder.RegisterModel(epb.RegisterModelRequest(
        name=f"test-mixes-{run}", version="1", source_model="custom", embedding_dim=DIM)).model
    with database.transaction() as session:
        for genre, ids in tracks.items():
            for n, track in enumerate(ids):
                erepo.write_track_embedding(
                    session, track_id=uuid.UUID(track), model_id=uuid.UUID(model.id),
                    vector=_vector(genre, n), pooled_from=1, checksum=f"{genre}{n}".ljust(64, "0"),
                    entry_id=uuid.uuid4(), environment="production")
    previous = embedder.GetActiveModel(epb.GetActiveModelRequest()).model.id
    # The mixes are checked against the weights they were written for (relevance-led, lambda
    # 0.8): the shipped default's MMR lambda 0.4 lets a catalog this small pull a track of
    # the other genre into a mix for diversity's sake.
    config_was = _activate_weights(database, COHERENT_CONFIG)
    embedder.ExportArtifacts(epb.ExportArtifactsRequest(model_id=model.id))  # before activation
    embedder.ActivateModel(epb.ActivateModelRequest(model_id=model.id))
    ranker = RankerServiceStub(start_ranker())  # after the catalog: its features know it
    world = World(ranker, run, genres, artists, tracks, f"test-mixes-{run}@1")
    shoegaze, bebop = tracks["shoegaze"], tracks["bebop"]
    events = [_event(world.two_genres, t, n) for n, t in enumerate(shoegaze[:5] + bebop[:5])]
    events += [_event(world.two_genres, t, 30 + n, rpb.EVENT_TYPE_LIKE)
               for n, t in enumerate(shoegaze[:2])]      # shoegaze weighs 9, bebop 5
    events += [_event(world.two_genres, bebop[9], 40, rpb.EVENT_TYPE_SKIP)]  # not a positive
    events += [_event(world.one_genre, t, n) for n, t in enumerate(shoegaze[:6])]
    ranker.RecordEvents(rpb.RecordEventsRequest(events=events))
    try:
        yield world
    finally:
        embedder.ActivateModel(epb.ActivateModelRequest(model_id=previous))
        _activate_weights(database, config_was)


def _mixes(world: World, user: str, **kw: int) -> rpb.GetDailyMixesResponse:
    return world.ranker.GetDailyMixes(rpb.GetDailyMixesRequest(user_id=user, **kw))


def _ids(entries: object) -> list[str]:
    return [e.juke_id for e in entries]  # type: ignore[attr-defined]


def test_two_genres_make_two_separate_mixes(world: World) -> None:
    shoegaze, bebop = world.tracks["shoegaze"], world.tracks["bebop"]
    reply = _mixes(world, world.two_genres, max_mixes=4, mix_size=3)
    assert reply.history_items == 10
    assert reply.bundle.embedding_model == world.model_label
    assert [m.index for m in reply.mixes] == [1, 2]
    first, second = reply.mixes
    # the seeds separate by genre, the more played genre first, heaviest item first
    assert _ids(first.seeds)[:2] == shoegaze[:2] and set(_ids(first.seeds)) == set(shoegaze[:5])
    assert set(_ids(second.seeds)) == set(bebop[:5])
    assert first.title.split(": ", 1)[1] in (f"dreamy{world.run}", f"shoegaze {world.run}")
    assert f"dreamy{world.run}" in first.top_tags and f"swing{world.run}" in second.top_tags
    first_items = [i.resource.juke_id for i in first.items]
    second_items = [i.resource.juke_id for i in second.items]
    assert len(first_items) == 3 and len(second_items) == 3
    assert set(first_items) <= set(shoegaze[5:]) and set(second_items) <= set(bebop[5:])
    assert not set(first_items) & set(second_items)                 # mixes never overlap
    assert not (set(first_items) | set(second_items)) & set(shoegaze[:5] + bebop[:5])
    for item in first.items:
        assert sum(c.contribution for c in item.explanation) == pytest.approx(item.final_score)
    # the same history gives the same mixes
    again = _mixes(world, world.two_genres, max_mixes=4, mix_size=3)
    assert list(again.mixes) == list(reply.mixes)


def test_one_mix_when_allowed_one(world: World) -> None:
    reply = _mixes(world, world.two_genres, max_mixes=1, mix_size=4)
    assert len(reply.mixes) == 1
    seeds = set(_ids(reply.mixes[0].seeds))
    assert seeds == set(world.tracks["shoegaze"][:5] + world.tracks["bebop"][:5])
    assert len(reply.mixes[0].items) == 4


def test_a_new_user_gets_one_popularity_mix(world: World) -> None:
    reply = _mixes(world, f"nobody-{uuid.uuid4().hex}")
    assert reply.history_items == 0 and len(reply.mixes) == 1
    mix = reply.mixes[0]
    assert mix.title.startswith("Popular right now") and not mix.seeds
    assert len(mix.items) == 10  # JUKE_DAILY_MIX_SIZE
    assert all(i.explanation[0].signal == "popularity" for i in mix.items)


def test_taste_matches_what_was_played(world: World) -> None:
    reply = world.ranker.GetTaste(rpb.GetTasteRequest(user_id=world.two_genres, limit=5))
    assert reply.user_id == world.two_genres and reply.qualifying_interactions == 10
    genres = [(g.resource.juke_id, g.weight) for g in reply.top_genres]
    assert genres == [(world.genres["shoegaze"], pytest.approx(9 / 14)),
                      (world.genres["bebop"], pytest.approx(5 / 14))]
    assert reply.top_artists[0].resource.juke_id == world.artists["shoegaze"]
    assert reply.top_artists[0].weight == pytest.approx(9 / 14)
    assert sum(t.weight for t in reply.top_tags) <= 1 + 1e-9
    assert reply.embedding_model == world.model_label and reply.embedded_items == 10
    near = [n.resource.juke_id for n in reply.audio_neighbourhood]
    assert near and not set(near) & set(world.tracks["shoegaze"][:5] + world.tracks["bebop"][:5])
    assert near[0] in world.tracks["shoegaze"][5:]  # the centroid leans to what is played most
    weights = [n.weight for n in reply.audio_neighbourhood]
    assert weights == sorted(weights, reverse=True) and 0 < weights[0] <= 1
    narrow = world.ranker.GetTaste(rpb.GetTasteRequest(user_id=world.one_genre))
    assert reply.diversity_basis == narrow.diversity_basis == "content"
    assert 0 <= narrow.diversity < 0.05 < reply.diversity <= 1
    assert narrow.top_genres[0].weight == pytest.approx(1.0)


def test_taste_of_nobody_is_empty(world: World) -> None:
    reply = world.ranker.GetTaste(rpb.GetTasteRequest(user_id=f"nobody-{uuid.uuid4().hex}"))
    assert reply.qualifying_interactions == 0 and reply.diversity_basis == "none"
    assert not reply.top_genres and not reply.top_tags and not reply.audio_neighbourhood


@pytest.mark.parametrize(("call", "named"), [
    (lambda r: r.GetDailyMixes(rpb.GetDailyMixesRequest(user_id="u", max_mixes=11)), "11"),
    (lambda r: r.GetDailyMixes(rpb.GetDailyMixesRequest(user_id="u", mix_size=51)), "51"),
    (lambda r: r.GetDailyMixes(rpb.GetDailyMixesRequest(user_id=" ")), "user_id"),
    (lambda r: r.GetTaste(rpb.GetTasteRequest(user_id="u", limit=51)), "51"),
    (lambda r: r.GetTaste(rpb.GetTasteRequest(user_id="")), "user_id"),
])
def test_bad_requests_name_the_value(world: World, call: Callable[[RankerServiceStub], object],
                                     named: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        call(world.ranker)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert named in (err.value.details() or "")
