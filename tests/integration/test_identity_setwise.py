"""Set-wise upserts: a whole batch decided in memory and written with one statement per
table, with the rules of writing one row at a time (idempotency, the first bad row's index,
all-or-nothing, relations, rows of one batch naming each other)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
import pytest
from sqlalchemy import func, select

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1 import identity_pb2_grpc
from services.common.db import Database
from services.common.errors import error_fields_from_metadata
from services.identity.models import (
    EXTERNAL_ID_MODELS,
    ResourceGenre,
    ResourceTag,
    Track,
    TrackArtist,
    TrackWork,
)

TRACK = common_pb2.RESOURCE_TYPE_TRACK
MB = common_pb2.TAG_SOURCE_MUSICBRAINZ


@pytest.fixture(scope="module")
def stub(identity_channel: grpc.Channel) -> identity_pb2_grpc.IdentityServiceStub:
    return identity_pb2_grpc.IdentityServiceStub(identity_channel)


def mbid() -> str:
    return str(uuid.uuid4())


def adapter_id() -> str:
    return f"sp{uuid.uuid4().hex[:20]}"


def spotify(value: str) -> common_pb2.ExternalId:
    return common_pb2.ExternalId(source="spotify", external_id=value)


def artists(stub: identity_pb2_grpc.IdentityServiceStub, n: int) -> list[str]:
    """`n` new artists, returned as `spotify:<id>` refs."""
    ids = [adapter_id() for _ in range(n)]
    stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[
        pb.ArtistInput(name=f"artist {i}", external_ids=[spotify(i)]) for i in ids]))
    return [f"spotify:{i}" for i in ids]


def album(stub: identity_pb2_grpc.IdentityServiceStub, artist_refs: list[str]) -> str:
    key = adapter_id()
    stub.UpsertAlbums(pb.UpsertAlbumsRequest(albums=[pb.AlbumInput(
        name="an album", artist_refs=artist_refs, external_ids=[spotify(key)])]))
    return f"spotify:{key}"


def track(name: str, **fields: object) -> pb.TrackInput:
    return pb.TrackInput(name=name, **fields)  # type: ignore[arg-type]


def resource(stub: identity_pb2_grpc.IdentityServiceStub, ref: str) -> pb.Resource:
    return stub.GetResource(pb.GetResourceRequest(ref=ref, type=TRACK)).resource


def counts(database: Database) -> tuple[int, ...]:
    """Rows of every table a track batch writes."""
    with database.read() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(table)) or 0)
                     for table in (Track, EXTERNAL_ID_MODELS["track"], TrackArtist, TrackWork,
                                   ResourceGenre, ResourceTag))


def rejected(call: Callable[[], object]) -> tuple[grpc.StatusCode, str, dict[str, str | int]]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    error = err.value
    return (error.code(), error.details() or "",  # type: ignore[attr-defined]
            error_fields_from_metadata(error.trailing_metadata()))  # type: ignore[attr-defined]


def test_relations_are_written_as_one_row_at_a_time_wrote_them(stub) -> None:
    a, b = artists(stub, 2)
    album_ref = album(stub, [a])
    work = mbid()
    genre = stub.UpsertGenres(pb.UpsertGenresRequest(genres=[
        pb.GenreInput(mbid=mbid(), name=f"genre {uuid.uuid4().hex[:6]}")])).results[0]
    key = adapter_id()
    result = stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[track(
        "with everything", mbid=mbid(), album_ref=album_ref,
        artist_refs=[b, a, b],  # a repeated artist keeps its first position
        duration_ms=201_000, track_number=3, work_mbids=[work, work],
        external_ids=[spotify(key), common_pb2.ExternalId(source=" ISRC ", external_id=" QZ1 ")],
        tags=[pb.TagInput(name=" dub ", source=MB, weight=0.4),
              pb.TagInput(name="dub", source=MB, weight=0.6)],  # the last one wins
        genre_refs=[genre.uri])])).results[0]
    res = resource(stub, result.juke_id)
    assert [x.name for x in res.artists] == ["artist " + b.split(":")[1],
                                             "artist " + a.split(":")[1]]
    assert res.album.name == "an album" and (res.duration_ms, res.track_number) == (201_000, 3)
    assert list(res.work_mbids) == [work] and [g.juke_id for g in res.genres] == [genre.juke_id]
    assert sorted((e.source, e.external_id) for e in res.external_ids) == [
        ("isrc", "QZ1"), ("spotify", key)]
    assert [(t.name, round(t.weight, 2)) for t in res.tags] == [("dub", 0.6)]


def test_resending_a_batch_creates_nothing_and_returns_the_same_ids(
        stub, database: Database) -> None:
    refs = artists(stub, 2)
    album_ref = album(stub, refs)
    batch = pb.UpsertTracksRequest(tracks=[
        track(f"resent {n}", mbid=mbid() if n % 2 else "", album_ref=album_ref,
              artist_refs=refs[n % 2:], external_ids=[spotify(adapter_id())],
              tags=[pb.TagInput(name="ambient", source=MB, weight=0.5)], work_mbids=[mbid()])
        for n in range(6)])
    first = stub.UpsertTracks(batch).results
    before = counts(database)
    stamp = resource(stub, first[0].juke_id).updated_at
    again = stub.UpsertTracks(batch).results
    assert all(r.created for r in first) and not any(r.created for r in again)
    assert [r.juke_id for r in again] == [r.juke_id for r in first]
    assert counts(database) == before
    assert resource(stub, first[0].juke_id).updated_at == stamp  # nothing changed, untouched


def test_a_batch_mixing_new_and_stored_rows_updates_only_what_it_gives(stub) -> None:
    stored_mbid, stored_key, extra_key = mbid(), adapter_id(), adapter_id()
    old = stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        track("stored by mbid", mbid=stored_mbid, duration_ms=1000, disambiguation="live"),
        track("stored by adapter id", external_ids=[spotify(stored_key)], track_number=7),
    ])).results
    results = stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        track("renamed by mbid", mbid=stored_mbid),
        track("brand new", mbid=mbid()),
        track("renamed by adapter id", external_ids=[spotify(stored_key), spotify(extra_key)]),
    ])).results
    assert [r.created for r in results] == [False, True, False]
    assert [results[0].juke_id, results[2].juke_id] == [r.juke_id for r in old]
    by_mbid = resource(stub, stored_mbid)
    assert (by_mbid.name, by_mbid.duration_ms, by_mbid.disambiguation) == (
        "renamed by mbid", 1000, "live")  # fields not given keep their stored values
    by_key = resource(stub, f"spotify:{extra_key}")
    assert (by_key.juke_id, by_key.name, by_key.track_number) == (
        old[1].juke_id, "renamed by adapter id", 7)


def test_rows_of_one_batch_naming_the_same_resource_are_one_resource(stub) -> None:
    same, key, later_key = mbid(), adapter_id(), adapter_id()
    results = stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        track("first", mbid=same, duration_ms=5),
        track("second", mbid=same, external_ids=[spotify(key)]),
        track("third", external_ids=[spotify(key), spotify(later_key)], track_number=2),
    ])).results
    assert [r.created for r in results] == [True, False, False]
    assert len({r.juke_id for r in results}) == 1
    res = resource(stub, f"spotify:{later_key}")
    assert (res.name, res.mbid, res.duration_ms, res.track_number) == ("third", same, 5, 2)


def test_relations_given_again_replace_the_stored_ones_and_absent_ones_stay(stub) -> None:
    a, b, c = artists(stub, 3)
    key = adapter_id()
    stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        track("credited", artist_refs=[a, b], external_ids=[spotify(key)])]))
    stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        track("credited", artist_refs=[c, a], external_ids=[spotify(key)])]))
    assert [x.name.split()[-1] for x in resource(stub, f"spotify:{key}").artists] == [
        c.split(":")[1], a.split(":")[1]]
    stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        track("credited, renamed", external_ids=[spotify(key)])]))
    assert len(resource(stub, f"spotify:{key}").artists) == 2


@pytest.mark.parametrize(("bad", "code", "words"), [
    (lambda ctx: track(""), grpc.StatusCode.INVALID_ARGUMENT, "tracks[2]: name is empty"),
    (lambda ctx: track("x", artist_refs=["spotify:no-such-artist"]),
     grpc.StatusCode.NOT_FOUND, "tracks[2].artist_refs: no artist matches"),
    (lambda ctx: track("x", album_ref="juke:album:"), grpc.StatusCode.INVALID_ARGUMENT,
     "tracks[2].album_ref: malformed Juke URI"),
    (lambda ctx: track("x", mbid=mbid(), external_ids=[spotify(ctx["stored"])]),
     grpc.StatusCode.ALREADY_EXISTS, "tracks[2]: external id spotify:"),
    # bound by row 0 of the same batch: refused as if row 0 were already stored
    (lambda ctx: track("x", mbid=mbid(), external_ids=[spotify(ctx["first"])]),
     grpc.StatusCode.ALREADY_EXISTS, "whose MBID is"),
])
def test_the_first_bad_row_rejects_the_batch_by_index_and_nothing_is_written(
        stub, database: Database, bad: Callable[[dict[str, str]], pb.TrackInput],
        code: grpc.StatusCode, words: str) -> None:
    stored_key = adapter_id()
    stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        track("stored", mbid=mbid(), external_ids=[spotify(stored_key)])]))
    context = {"stored": stored_key, "first": adapter_id()}
    fresh = mbid()
    before = counts(database)
    batch = pb.UpsertTracksRequest(tracks=[
        track("would be created", mbid=fresh, external_ids=[spotify(context["first"])]),
        track("also fine", tags=[pb.TagInput(name="x", source=MB, weight=1)]),
        bad(context),
        track("y", artist_refs=["spotify:also-missing"]),  # a later bad row is not reported
    ])
    status, details, fields = rejected(lambda: stub.UpsertTracks(batch))
    assert (status, fields.get("index")) == (code, 2)
    assert words in details
    assert counts(database) == before
    status, _, _ = rejected(lambda: stub.GetResource(pb.GetResourceRequest(ref=fresh)))
    assert status == grpc.StatusCode.NOT_FOUND


def test_add_tags_is_set_wise_and_counts_each_items_tags(stub) -> None:
    a, b = artists(stub, 2)
    written = stub.AddTags(pb.AddTagsRequest(items=[
        pb.ResourceTags(ref=a, tags=[pb.TagInput(name="drone", source=MB, weight=0.2),
                                     pb.TagInput(name="drone", source=MB, weight=0.3)]),
        pb.ResourceTags(ref=b, tags=[pb.TagInput(name="drone", source=MB, weight=0.5)]),
        pb.ResourceTags(ref=a, tags=[pb.TagInput(name="drone", source=MB, weight=0.9)]),
    ])).tags_written
    assert written == 3  # per item, its distinct tags, as when items were written one by one
    weights = {ref: [t.weight for t in stub.GetResource(pb.GetResourceRequest(
        ref=ref, type=common_pb2.RESOURCE_TYPE_ARTIST)).resource.tags] for ref in (a, b)}
    assert weights == {a: [pytest.approx(0.9)], b: [pytest.approx(0.5)]}
    status, details, fields = rejected(lambda: stub.AddTags(pb.AddTagsRequest(items=[
        pb.ResourceTags(ref=a, tags=[pb.TagInput(name="x", source=MB, weight=1)]),
        pb.ResourceTags(ref="spotify:nobody", type=common_pb2.RESOURCE_TYPE_ARTIST,
                        tags=[pb.TagInput(name="x", source=MB, weight=1)])])))
    assert (status, fields.get("index")) == (grpc.StatusCode.NOT_FOUND, 1)
    assert "items[1].ref" in details
