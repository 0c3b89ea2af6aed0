"""Playlist scoring through the gateway: a playlist imported from JSPF is continued (never
one of its tracks, every item explained) and matched (a stored result on the identical call,
a new one after a membership change), and a track is matched to the user's playlists."""

from __future__ import annotations

import uuid

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from tests.e2e.conftest import Mesh

RUN = uuid.uuid4().hex[:8]
USER = f"e2e-scoring-{RUN}"
SIGNALS = ["content", "tags", "artists", "cooccurrence", "mood"]


@pytest.fixture(scope="module")
def tracks(mesh: Mesh) -> list[list[str]]:
    """Three artists of four tracks: artists 0 and 1 tagged 'sad', artist 2 'happy', all
    sharing a weak tag; every track with a Spotify id (how the JSPF names them)."""
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        identity = IdentityServiceStub(channel)
        artists = [r.juke_id for r in identity.UpsertArtists(ipb.UpsertArtistsRequest(
            artists=[ipb.ArtistInput(name=f"scoring artist {RUN} {a}") for a in range(3)])
        ).results]
        out = []
        for a, artist in enumerate(artists):
            mood = "sad" if a < 2 else "happy"
            tags = [ipb.TagInput(name=n, source=common_pb2.TAG_SOURCE_INTERNAL, weight=w)
                    for n, w in ((mood, 0.8), (f"{mood}-{RUN}", 0.9), (f"all-{RUN}", 0.3))]
            out.append([r.juke_id for r in identity.UpsertTracks(ipb.UpsertTracksRequest(
                tracks=[ipb.TrackInput(
                    name=f"scoring song {RUN} {a}-{t}", artist_refs=[artist], tags=tags,
                    external_ids=[common_pb2.ExternalId(source="spotify",
                                                        external_id=f"{RUN}s{a}{t:012d}")])
                    for t in range(4)])).results])
    mesh.refresh_rankers()
    return out


def test_a_jspf_playlist_is_continued_and_matched_with_explained_scores(
        mesh: Mesh, tracks: list[list[str]]) -> None:
    document = {"playlist": {"title": "Sad songs", "track": [
        {"identifier": [f"https://open.spotify.com/track/{RUN}s{a}{t:012d}"]}
        for a, t in ((0, 0), (0, 1), (1, 0))]}}
    with mesh.http("write") as writer:
        created = writer.post(f"/api/v1/users/{USER}/playlists/jspf", json=document)
        assert created.status_code == 201, created.text
        playlist = created.json()["id"]
        members = [i["juke_id"] for i in created.json()["items"]]
        assert members == [tracks[0][0], tracks[0][1], tracks[1][0]]
        happy = writer.post("/api/v1/playlists", json={
            "user_id": USER, "name": "Happy songs", "items": tracks[2][:2]})
        assert happy.status_code == 201, happy.text

    with mesh.http("read") as reader:
        continued = reader.get(f"/api/v1/playlists/{playlist}/continuation",
                               params={"limit": 5})
        assert continued.status_code == 200, continued.text
        items = continued.json()["items"]
        served = [i["resource"]["juke_id"] for i in items]
        assert len(served) == 5 and not set(served) & set(members)
        for item in items:
            assert item["explanation"] and all(c["reason"] for c in item["explanation"])
        assert [s["track_id"] for s in continued.json()["seeds"]] == members
        assert continued.json()["model_bundle"]["weight_config_id"]

        candidates = [tracks[0][3], tracks[2][3], tracks[1][2]]
        first = reader.post(f"/api/v1/playlists/{playlist}/match",
                            json={"tracks": candidates})
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["cached"] is False and body["model_bundle"]["weight_config_id"]
        fits = {f["track_id"]: f for f in body["fits"]}
        assert set(fits) == set(candidates)
        for fit in body["fits"]:
            assert 0.0 <= fit["score"] <= 1.0
            assert [s["signal"] for s in fit["signals"]] == SIGNALS
            assert sum(s["contribution"] for s in fit["signals"]) == pytest.approx(fit["score"])
        assert fits[tracks[0][3]]["score"] > fits[tracks[2][3]]["score"]

        again = reader.post(f"/api/v1/playlists/{playlist}/match",
                            json={"tracks": candidates})
        assert again.status_code == 200 and again.json()["cached"] is True
        assert again.json()["match_id"] == body["match_id"]
        assert again.json()["fits"] == body["fits"]

        ranked = reader.post(f"/api/v1/users/{USER}/playlists/match",
                             json={"track": tracks[2][3]})
        assert ranked.status_code == 200, ranked.text
        assert [p["name"] for p in ranked.json()["playlists"]] == ["Happy songs", "Sad songs"]
        too_many = reader.post(f"/api/v1/playlists/{playlist}/match",
                               json={"tracks": [str(uuid.uuid4()) for _ in range(501)]})
        assert too_many.status_code == 400

    with mesh.http("write") as writer:
        edited = writer.post(f"/api/v1/playlists/{playlist}/items",
                             json={"action": "append", "items": [tracks[1][1]]})
        assert edited.status_code == 200, edited.text
    with mesh.http("read") as reader:
        changed = reader.post(f"/api/v1/playlists/{playlist}/match",
                              json={"tracks": candidates})
        assert changed.status_code == 200 and changed.json()["cached"] is False
        assert changed.json()["key"]["profile_hash"] != body["key"]["profile_hash"]
        continued = reader.get(f"/api/v1/playlists/{playlist}/continuation")
        assert tracks[1][1] not in [i["resource"]["juke_id"] for i in continued.json()["items"]]
