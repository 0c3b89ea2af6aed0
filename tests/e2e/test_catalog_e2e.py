"""Import the MusicBrainz sample into a running mesh and resolve one recording over REST."""

from __future__ import annotations

import grpc

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from tests.e2e.conftest import Mesh

SMALL_PIANO_PIECE = "77ef7468-e8f8-4447-9c7e-52b11272c6cc"


def test_status_reports_every_component_healthy(mesh: Mesh) -> None:
    status = mesh.juke("status")
    assert status.returncode == 0, status.stdout + status.stderr
    for name in ("postgres", "temporal", "identity", "governance", "embedder", "ranker",
                 "gateway"):
        assert name in status.stdout


def test_import_then_resolve_one_recording_by_every_id_form(mesh: Mesh) -> None:
    imported = mesh.juke("catalog", "import", "musicbrainz")
    assert imported.returncode == 0, imported.stderr
    assert "tracks       41" in imported.stdout and "genres     1950" in imported.stdout

    # A provider mapping arrives through the ingestion API, like any other adapter id.
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        IdentityServiceStub(channel).UpsertTracks(pb.UpsertTracksRequest(tracks=[
            pb.TrackInput(mbid=SMALL_PIANO_PIECE, name="Small Piano Piece", external_ids=[
                common_pb2.ExternalId(source="spotify", external_id="e2eSmallPianoPiece")])]))

    with mesh.http() as http:
        by_mbid = http.get(f"/api/v1/catalog/track/{SMALL_PIANO_PIECE}")
        assert by_mbid.status_code == 200, by_mbid.text
        track = by_mbid.json()
        assert track["name"] == "Small Piano Piece"
        assert track["artists"][0]["name"] == "Trentemøller"
        for ref in (track["juke_id"], "spotify:e2eSmallPianoPiece", track["uri"],
                    f"juke:track:musicbrainz:{SMALL_PIANO_PIECE}"):
            reply = http.get(f"/api/v1/catalog/track/{ref}")
            assert reply.status_code == 200, (ref, reply.text)
            assert reply.json()["juke_id"] == track["juke_id"]
        batch = http.post("/api/v1/catalog/resolve", json={"refs": [
            track["juke_id"], SMALL_PIANO_PIECE, "spotify:e2eSmallPianoPiece", track["uri"]]})
        assert [r["resource"]["juke_id"] for r in batch.json()["results"]] == [track["juke_id"]] * 4
        assert [r["matched_by"] for r in batch.json()["results"]] == [
            "juke_id", "mbid", "external_id", "juke_id"]
        bad = http.get("/api/v1/catalog/track/juke:track:nope")
        assert bad.status_code == 400 and "nope" in bad.json()["error"]["message"]


def test_reimport_is_idempotent(mesh: Mesh) -> None:
    assert mesh.juke("catalog", "import", "musicbrainz").returncode == 0
    again = mesh.juke("catalog", "import", "musicbrainz")
    assert again.returncode == 0, again.stderr
    assert "(0 new, 41 already known)" in again.stdout
