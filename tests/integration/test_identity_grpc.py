"""The identity service over real gRPC and a real PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1 import identity_pb2_grpc
from services.common.db import Database
from services.identity.__main__ import SERVICE_NAME
from services.identity.models import Base
from services.identity.service import IdentityService
from services.identity.servicer import IdentityServicer

TRACK = common_pb2.RESOURCE_TYPE_TRACK
ARTIST = common_pb2.RESOURCE_TYPE_ARTIST


@pytest.fixture(scope="module")
def channel(start_server: Callable[..., grpc.Channel]) -> grpc.Channel:
    def register(server: grpc.Server, db: Database) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(IdentityService(db)), server)

    return start_server("identity", [SERVICE_NAME], register)


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> identity_pb2_grpc.IdentityServiceStub:
    return identity_pb2_grpc.IdentityServiceStub(channel)


def new_mbid() -> str:
    return str(uuid.uuid4())


def seed_track(stub: identity_pb2_grpc.IdentityServiceStub, suffix: str = "") -> dict[str, str]:
    """An artist, an album and a track with MBIDs and a spotify adapter id."""
    ids = {"artist_mbid": new_mbid(), "album_mbid": new_mbid(), "track_mbid": new_mbid(),
           "spotify": f"sp{uuid.uuid4().hex[:20]}", "work": new_mbid()}
    artist = stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[
        pb.ArtistInput(mbid=ids["artist_mbid"], name=f"Trentemøller{suffix}")])).results[0]
    album = stub.UpsertAlbums(pb.UpsertAlbumsRequest(albums=[
        pb.AlbumInput(mbid=ids["album_mbid"], name=f"The Pølar Mix{suffix}",
                      artist_refs=[artist.juke_id], release_date="2007-05-14")])).results[0]
    track = stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
        pb.TrackInput(
            mbid=ids["track_mbid"], name=f"Small Piano Piece{suffix}", album_ref=album.uri,
            artist_refs=[f"musicbrainz:{ids['artist_mbid']}"], duration_ms=176333,
            track_number=1, work_mbids=[ids["work"]],
            external_ids=[common_pb2.ExternalId(source="spotify", external_id=ids["spotify"])],
            tags=[pb.TagInput(name="electronic", source=common_pb2.TAG_SOURCE_MUSICBRAINZ,
                              weight=0.8)],
        )])).results[0]
    return {**ids, "artist": artist.juke_id, "album": album.juke_id, "track": track.juke_id}


def test_health_serving_and_reflection_lists_the_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 30  # the readiness check runs in its own thread
    while True:
        status = health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME)).status
        if status == health_pb2.HealthCheckResponse.SERVING or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    reply = next(refl.ServerReflectionInfo(iter([
        reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in reply.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names


def test_created_ids_are_uuid7(stub: identity_pb2_grpc.IdentityServiceStub) -> None:
    ids = seed_track(stub)
    for key in ("artist", "album", "track"):
        assert uuid.UUID(ids[key]).version == 7


def test_same_recording_resolves_from_every_id_form(stub) -> None:
    ids = seed_track(stub)
    forms = {
        ids["track"]: "juke_id",
        ids["track_mbid"]: "mbid",
        f"spotify:{ids['spotify']}": "external_id",
        f"juke:track:{ids['track']}": "juke_id",
        f"juke:track:spotify:{ids['spotify']}": "external_id",
        f"juke:track:musicbrainz:{ids['track_mbid']}": "mbid",
    }
    for ref in forms:
        res = stub.GetResource(pb.GetResourceRequest(ref=ref, type=TRACK)).resource
        assert res.juke_id == ids["track"], ref
    batch = stub.BatchResolve(pb.BatchResolveRequest(
        refs=[pb.ResolveRef(ref=r) for r in forms])).results
    assert [r.resource.juke_id for r in batch] == [ids["track"]] * len(forms)
    assert [r.matched_by for r in batch] == list(forms.values())


def test_resource_carries_its_relations(stub) -> None:
    ids = seed_track(stub)
    res = stub.GetResource(pb.GetResourceRequest(ref=ids["track"])).resource
    assert res.album.juke_id == ids["album"]
    assert [a.juke_id for a in res.artists] == [ids["artist"]]
    assert list(res.work_mbids) == [ids["work"]]
    assert res.duration_ms == 176333
    assert [(t.name, t.source) for t in res.tags] == [
        ("electronic", common_pb2.TAG_SOURCE_MUSICBRAINZ)]
    assert res.uri == f"juke:track:{ids['track']}"
    album = stub.GetResource(pb.GetResourceRequest(ref=f"juke:album:{ids['album']}")).resource
    assert album.release_date == "2007-05-14"
    assert album.artists[0].name == "Trentemøller"


def test_upsert_is_idempotent_by_mbid_and_by_adapter_id(stub) -> None:
    mbid = new_mbid()
    first = stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[
        pb.ArtistInput(mbid=mbid, name="Ane Trolle")])).results[0]
    again = stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[
        pb.ArtistInput(mbid=mbid, name="Ane Trolle",
                       external_ids=[common_pb2.ExternalId(source="discogs", external_id=mbid)])
    ])).results[0]
    by_adapter = stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[
        pb.ArtistInput(name="Ane Trolle (renamed)",
                       external_ids=[common_pb2.ExternalId(source="discogs", external_id=mbid)])
    ])).results[0]
    assert first.created and not again.created and not by_adapter.created
    assert first.juke_id == again.juke_id == by_adapter.juke_id
    res = stub.GetResource(pb.GetResourceRequest(ref=first.juke_id, type=ARTIST)).resource
    assert res.name == "Ane Trolle (renamed)" and res.mbid == mbid


def test_every_write_advances_the_catalog_revision_and_reads_do_not(stub) -> None:
    def revision() -> int:
        return stub.GetCatalogStats(pb.GetCatalogStatsRequest()).revision

    mbid = new_mbid()
    stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[pb.ArtistInput(mbid=mbid, name="A")]))
    before = stub.GetCatalogStats(pb.GetCatalogStatsRequest())
    stub.GetResource(pb.GetResourceRequest(ref=mbid, type=ARTIST))
    assert revision() == before.revision
    # A rename leaves every count as it was; only the revision says the catalog changed.
    stub.UpsertArtists(pb.UpsertArtistsRequest(artists=[pb.ArtistInput(mbid=mbid, name="B")]))
    after = stub.GetCatalogStats(pb.GetCatalogStatsRequest())
    assert (after.artists, after.tags) == (before.artists, before.tags)
    assert after.revision > before.revision


def test_adapter_id_bound_elsewhere_is_already_exists_and_nothing_is_written(stub) -> None:
    ids = seed_track(stub)
    before = stub.GetCatalogStats(pb.GetCatalogStatsRequest())
    fresh_mbid = new_mbid()
    with pytest.raises(grpc.RpcError) as err:
        stub.UpsertTracks(pb.UpsertTracksRequest(tracks=[
            pb.TrackInput(mbid=fresh_mbid, name="would be created"),
            pb.TrackInput(mbid=new_mbid(), name="steals an id", external_ids=[
                common_pb2.ExternalId(source="spotify", external_id=ids["spotify"])]),
        ]))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert f"spotify:{ids['spotify']}" in err.value.details()
    after = stub.GetCatalogStats(pb.GetCatalogStatsRequest())
    assert after.tracks == before.tracks
    with pytest.raises(grpc.RpcError) as missing:
        stub.GetResource(pb.GetResourceRequest(ref=fresh_mbid, type=TRACK))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("ref", ["not-a-uuid", "juke:song:123", "juke:track:", "musicbrainz:nope"])
def test_malformed_refs_are_invalid_argument_naming_the_value(stub, ref: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.GetResource(pb.GetResourceRequest(ref=ref))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert repr(ref) in err.value.details() or ref.split(":")[1] in err.value.details()


def test_unknown_ref_is_not_found(stub) -> None:
    ref = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError) as err:
        stub.GetResource(pb.GetResourceRequest(ref=ref, type=TRACK))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert ref in err.value.details()


def test_batch_resolve_reports_per_item_and_caps_the_batch(stub) -> None:
    ids = seed_track(stub)
    results = stub.BatchResolve(pb.BatchResolveRequest(refs=[
        pb.ResolveRef(ref=ids["track"]), pb.ResolveRef(ref="garbage"),
        pb.ResolveRef(ref=str(uuid.uuid4()))])).results
    assert [r.found for r in results] == [True, False, False]
    assert "garbage" in results[1].error and "no resource matches" in results[2].error
    with pytest.raises(grpc.RpcError) as err:
        stub.BatchResolve(pb.BatchResolveRequest(
            refs=[pb.ResolveRef(ref=ids["track"])] * 1001))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1001" in err.value.details()


def test_search_is_case_and_accent_insensitive_and_ranked(stub) -> None:
    tag = uuid.uuid4().hex[:6]
    seed_track(stub, suffix=f" {tag}")
    hits = stub.SearchResources(pb.SearchResourcesRequest(
        query=f"TRENTEMOLLER {tag}", types=[ARTIST])).hits
    assert hits and hits[0].resource.name == f"Trentemøller {tag}"
    tracks = stub.SearchResources(pb.SearchResourcesRequest(query=f"small piano piece {tag}")).hits
    assert tracks[0].resource.type == TRACK
    assert tracks[0].context == f"Trentemøller {tag}"
    with pytest.raises(grpc.RpcError) as err:
        stub.SearchResources(pb.SearchResourcesRequest(query="   "))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_relation_ref_is_not_found_and_rolls_back(stub) -> None:
    missing_artist = str(uuid.uuid4())
    mbid = new_mbid()
    with pytest.raises(grpc.RpcError) as err:
        stub.UpsertAlbums(pb.UpsertAlbumsRequest(albums=[
            pb.AlbumInput(mbid=mbid, name="orphan", artist_refs=[missing_artist])]))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert missing_artist in err.value.details()


def test_add_tags_internal_taxonomy(stub) -> None:
    ids = seed_track(stub)
    written = stub.AddTags(pb.AddTagsRequest(items=[pb.ResourceTags(
        ref=ids["artist"], type=ARTIST, tags=[
            pb.TagInput(name="ambient", source=common_pb2.TAG_SOURCE_INTERNAL, weight=0.5)])]))
    assert written.tags_written == 1
    res = stub.GetResource(pb.GetResourceRequest(ref=ids["artist"])).resource
    assert ("ambient", common_pb2.TAG_SOURCE_INTERNAL) in [(t.name, t.source) for t in res.tags]
    with pytest.raises(grpc.RpcError) as err:
        stub.AddTags(pb.AddTagsRequest(items=[pb.ResourceTags(ref=ids["artist"], tags=[
            pb.TagInput(name="x", source=common_pb2.TAG_SOURCE_INTERNAL, weight=7)])]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_resources_pages_through_everything(stub) -> None:
    seed_track(stub)
    seen, token = [], ""
    while True:
        reply = stub.ListResources(pb.ListResourcesRequest(
            type=TRACK, page=common_pb2.PageRequest(page_size=2, page_token=token)))
        seen += [r.juke_id for r in reply.resources]
        token = reply.page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == stub.GetCatalogStats(pb.GetCatalogStatsRequest()).tracks


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_schemas": True,
            "include_name": lambda name, type_, parent: (
                name == "identity" if type_ == "schema" else name != "alembic_version"),
        })
        assert compare_metadata(ctx, Base.metadata) == []
