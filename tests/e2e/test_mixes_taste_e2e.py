"""Daily mixes and taste analysis through the gateway, for a user built by posting events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from tests.e2e.conftest import Mesh

NOW = datetime.now(UTC).replace(microsecond=0)
RUN = uuid.uuid4().hex[:8]
LISTENER = f"e2e-mixes-{RUN}"


@pytest.fixture(scope="module")
def genres(mesh: Mesh) -> dict[str, dict[str, object]]:
    """Two genres, each with an artist filed under it and eight tracks tagged alike; the
    listener plays five of each (the first genre liked too), through the gateway."""
    out: dict[str, dict[str, object]] = {}
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        identity = IdentityServiceStub(channel)
        for genre, tag in (("krautrock", "motorik"), ("dub", "echo")):
            genre_id = identity.UpsertGenres(ipb.UpsertGenresRequest(genres=[
                ipb.GenreInput(name=f"{genre} {RUN}")])).results[0].juke_id
            artist = identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
                ipb.ArtistInput(name=f"{genre} band {RUN}", genre_refs=[genre_id])])
            ).results[0].juke_id
            tracks = [r.juke_id for r in identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
                ipb.TrackInput(name=f"{genre} tune {RUN} {n}", artist_refs=[artist],
                               tags=[ipb.TagInput(name=f"{tag}{RUN}", weight=1.0,
                                                  source=common_pb2.TAG_SOURCE_MUSICBRAINZ)])
                for n in range(8)])).results]
            out[genre] = {"genre": genre_id, "artist": artist, "tracks": tracks, "tag": tag}
    mesh.refresh_rankers()
    kraut, dub = out["krautrock"]["tracks"], out["dub"]["tracks"]
    events = [_event(t, n) for n, t in enumerate([*kraut[:5], *dub[:5]])]  # type: ignore[misc]
    events += [_event(t, 20 + n, "like") for n, t in enumerate(kraut[:5])]  # type: ignore[arg-type]
    with mesh.http("write") as writer:
        posted = writer.post("/api/v1/events", json={"events": events})
    assert posted.status_code == 200, posted.text
    return out


def _event(item: str, minutes: int, kind: str = "complete") -> dict[str, str]:
    return {"user_id": LISTENER, "item": item, "type": kind,
            "timestamp": (NOW - timedelta(minutes=minutes)).isoformat()}


def test_both_endpoints_need_a_key(mesh: Mesh) -> None:
    with mesh.http(None) as anonymous:
        for path in (f"/api/v1/users/{LISTENER}/daily-mixes", f"/api/v1/users/{LISTENER}/taste"):
            refused = anonymous.get(path)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"]["code"] == "UNAUTHENTICATED"


def test_daily_mixes_of_a_two_genre_listener(mesh: Mesh, genres: dict) -> None:
    kraut, dub = genres["krautrock"]["tracks"], genres["dub"]["tracks"]
    with mesh.http("read") as reader:
        reply = reader.get(f"/api/v1/users/{LISTENER}/daily-mixes",
                           params={"max_mixes": 3, "mix_size": 2})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["history_items"] == 10 and body["model_bundle"]["weight_config_id"]
    assert [m["index"] for m in body["mixes"]] == [1, 2]
    first, second = body["mixes"]
    assert {s["juke_id"] for s in first["seeds"]} == set(kraut[:5])   # liked: the heavier
    assert {s["juke_id"] for s in second["seeds"]} == set(dub[:5])
    assert first["title"].startswith("Mix 1: ") and f"motorik{RUN}" in first["top_tags"]
    served = [[i["resource"]["juke_id"] for i in m["items"]] for m in (first, second)]
    assert len(served[0]) == 2 and set(served[0]) <= set(kraut[5:])
    assert len(served[1]) == 2 and set(served[1]) <= set(dub[5:])
    assert not set(served[0]) & set(served[1])


def test_taste_of_the_listener(mesh: Mesh, genres: dict) -> None:
    with mesh.http("read") as reader:
        reply = reader.get(f"/api/v1/users/{LISTENER}/taste", params={"limit": 3})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["qualifying_interactions"] == 10
    # krautrock: 5 completes + 5 likes = 15 of 20
    assert body["top_genres"][0]["resource"]["juke_id"] == genres["krautrock"]["genre"]
    assert body["top_genres"][0]["weight"] == pytest.approx(0.75)
    assert body["top_artists"][0]["resource"]["juke_id"] == genres["krautrock"]["artist"]
    assert len(body["top_tags"]) == 3 and sum(t["weight"] for t in body["top_tags"]) <= 1
    assert body["diversity_basis"] in ("content", "tags") and 0 < body["diversity"] <= 1


def test_an_unknown_user_gets_the_fallback(mesh: Mesh, genres: dict) -> None:
    stranger = f"e2e-stranger-{uuid.uuid4().hex}"
    with mesh.http("read") as reader:
        mixes = reader.get(f"/api/v1/users/{stranger}/daily-mixes", params={"mix_size": 4})
        taste = reader.get(f"/api/v1/users/{stranger}/taste")
    assert mixes.status_code == 200, mixes.text
    (mix,) = mixes.json()["mixes"]
    assert mix["title"].startswith("Popular right now") and mix["seeds"] == []
    assert 1 <= len(mix["items"]) <= 4 and mixes.json()["history_items"] == 0
    assert mix["items"][0]["explanation"][0]["signal"] == "popularity"
    assert taste.status_code == 200, taste.text
    assert taste.json()["qualifying_interactions"] == 0 and taste.json()["top_genres"] == []


@pytest.mark.parametrize(("path", "params", "named"), [
    ("daily-mixes", {"max_mixes": 11}, "max_mixes"),
    ("daily-mixes", {"mix_size": 0}, "mix_size"),
    ("daily-mixes", {"mix_size": 51}, "mix_size"),
    ("daily-mixes", {"max_mixes": "lots"}, "max_mixes"),
    ("taste", {"limit": 51}, "limit"),
])
def test_bad_parameters_are_4xx_naming_them(mesh: Mesh, path: str, params: dict,
                                            named: str) -> None:
    with mesh.http("read") as reader:
        reply = reader.get(f"/api/v1/users/{LISTENER}/{path}", params=params)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["code"] == "INVALID_ARGUMENT" and named in error["message"]


def test_a_user_id_postgres_cannot_hold_is_a_400(mesh: Mesh) -> None:
    with mesh.http("read") as reader:
        for path in ("daily-mixes", "taste"):
            reply = reader.get(f"/api/v1/users/a%00b/{path}")
            assert reply.status_code == 400, reply.text
            assert "NUL" in reply.json()["error"]["message"]
