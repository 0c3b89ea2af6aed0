"""The bulk catalog export gives the ranker exactly the rows paging through ListResources
gives, whatever the chunk size, with research-only tags left out the same way."""

from __future__ import annotations

import uuid

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.identity_calls import list_resources
from services.common.proto_convert import type_to_proto
from services.common.resource_types import RESOURCE_TYPES
from services.ranker.api.clients import IdentityClient, _row, chunk_rows

pytestmark = pytest.mark.integration


def _mbid() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def stub(identity_channel: grpc.Channel) -> IdentityServiceStub:
    s = IdentityServiceStub(identity_channel)
    genre = s.UpsertGenres(pb.UpsertGenresRequest(genres=[
        pb.GenreInput(mbid=_mbid(), name="Export Test Genre")])).results[0].juke_id
    artists = [r.juke_id for r in s.UpsertArtists(pb.UpsertArtistsRequest(artists=[
        pb.ArtistInput(mbid=_mbid(), name=f"Export Artist {k}", genre_refs=[genre])
        for k in range(3)])).results]
    album = s.UpsertAlbums(pb.UpsertAlbumsRequest(albums=[pb.AlbumInput(
        mbid=_mbid(), name="Export Album", artist_refs=artists[:2], release_date="1999-04",
    )])).results[0].juke_id
    s.UpsertTracks(pb.UpsertTracksRequest(tracks=[pb.TrackInput(
        mbid=_mbid(), name=f"Export Track {k}", artist_refs=[artists[k % 3], artists[0]],
        album_ref=album, duration_ms=1000 * k, work_mbids=[_mbid()] if k % 2 else [],
        tags=[pb.TagInput(name="export-tag", source=common_pb2.TAG_SOURCE_INTERNAL,
                          weight=0.5 + 0.1 * k),
              pb.TagInput(name="research", source=common_pb2.TAG_SOURCE_MUSICBRAINZ,
                          weight=0.3, dataset="lastfm-hetrec")])
        for k in range(5)]))
    return s


def assert_same_rows(got: list, want: list) -> None:
    assert [r.id for r in got] == [r.id for r in want]
    for a, b in zip(got, want, strict=True):
        differing = {f: (getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__
                     if getattr(a, f) != getattr(b, f)}
        assert not differing, (a.id, differing)


def paged(s: IdentityServiceStub, allowed: frozenset[str]) -> list:
    return [_row(t, r, allowed) for t in RESOURCE_TYPES
            for r in list_resources(s, type_to_proto(t))]


@pytest.mark.parametrize("allowed", [frozenset(), frozenset({"lastfm-hetrec"})])
def test_export_rows_equal_paged_rows(stub: IdentityServiceStub, identity_channel: grpc.Channel,
                                      allowed: frozenset[str]) -> None:
    exported = IdentityClient(identity_channel).rows(allowed)
    assert_same_rows(exported, paged(stub, allowed))
    assert any(r.tags for r in exported) and any(r.work_ids for r in exported)
    assert any(r.genre_ids for r in exported) and any(r.release_date for r in exported)


def test_any_chunk_size_gives_the_same_rows(stub: IdentityServiceStub) -> None:
    whole = paged(stub, frozenset())
    for size in (1, 3):
        replies = list(stub.ExportCatalog(pb.ExportCatalogRequest(chunk_size=size)))
        assert all(len(r.chunk.juke_ids) <= size for r in replies)
        assert_same_rows([row for r in replies for row in chunk_rows(r.chunk, frozenset())],
                         whole)


def test_a_bad_chunk_size_is_invalid_argument(stub: IdentityServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as err:
        list(stub.ExportCatalog(pb.ExportCatalogRequest(chunk_size=1_000_000)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1000000" in err.value.details()
