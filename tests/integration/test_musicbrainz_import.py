"""The MusicBrainz sample import, through the identity gRPC API into real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1 import identity_pb2_grpc
from services.cli.importers.musicbrainz import import_musicbrainz, load_genres, load_sample
from services.common.config import Settings
from services.common.db import Database
from services.identity.__main__ import SERVICE_NAME
from services.identity.service import IdentityService
from services.identity.servicer import IdentityServicer

SMALL_PIANO_PIECE = "77ef7468-e8f8-4447-9c7e-52b11272c6cc"
GHOST_TOWN_WORK = "5b71b31e-0dc2-395e-bfa6-8076c9210923"


@pytest.fixture(scope="module")
def stub(start_server: Callable[..., grpc.Channel]) -> identity_pb2_grpc.IdentityServiceStub:
    def register(server: grpc.Server, db: Database) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(IdentityService(db)), server)

    return identity_pb2_grpc.IdentityServiceStub(start_server("identity", [SERVICE_NAME], register))


@pytest.fixture(scope="module")
def genres_csv() -> Path:
    path = Settings.from_env().musicbrainz_genres_csv
    assert path.is_file(), f"shared MusicBrainz genre list missing at {path}"
    return path


def test_import_is_complete_and_idempotent(stub, genres_csv: Path) -> None:
    genres, _ = load_genres(genres_csv)
    sample = load_sample()
    first = import_musicbrainz(stub, sample, genres)
    assert first.created["genre"] + first.existing["genre"] == 1950
    assert first.created["artist"] + first.existing["artist"] == 41
    assert first.created["album"] + first.existing["album"] == 2
    assert first.created["track"] + first.existing["track"] == 41
    second = import_musicbrainz(stub, sample, genres)
    assert sum(second.created.values()) == 0
    assert second.existing == first.created + first.existing


def test_imported_recording_keeps_its_real_relations(stub, genres_csv: Path) -> None:
    import_musicbrainz(stub, load_sample(), load_genres(genres_csv)[0])
    track = stub.GetResource(pb.GetResourceRequest(
        ref=f"juke:track:musicbrainz:{SMALL_PIANO_PIECE}")).resource
    assert track.name == "Small Piano Piece" and track.duration_ms == 176333
    assert track.album.name == "Trentemøller: The Pølar Mix"
    assert [a.name for a in track.artists] == ["Trentemøller"]
    ghost_town = stub.SearchResources(pb.SearchResourcesRequest(
        query="ghost town", types=[common_pb2.RESOURCE_TYPE_TRACK])).hits[0]
    full = stub.GetResource(pb.GetResourceRequest(ref=ghost_town.resource.juke_id)).resource
    assert GHOST_TOWN_WORK in full.work_mbids
    genre = stub.GetResource(pb.GetResourceRequest(
        ref="wikidata:Q209498", type=common_pb2.RESOURCE_TYPE_GENRE)).resource
    assert genre.name == "2 tone" and genre.mbid == "18797864-41b0-4602-8241-adbee761774c"
