"""What apps call, through the gateway: events, personal recommendations, similar items."""

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


@pytest.fixture(scope="module")
def tracks(mesh: Mesh) -> list[str]:
    """Twelve tracks of two artists in the catalog (identity is an internal gRPC caller)."""
    run = uuid.uuid4().hex[:8]
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        identity = IdentityServiceStub(channel)
        artists = identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
            ipb.ArtistInput(name=f"e2e artist {run} {n}") for n in range(2)])).results
        reply = identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
            ipb.TrackInput(name=f"e2e song {run} {n}", artist_refs=[artists[n % 2].juke_id],
                           external_ids=[common_pb2.ExternalId(source="spotify",
                                                               external_id=f"e2e{run}{n}")])
            for n in range(12)]))
    mesh.refresh_rankers()
    return [r.juke_id for r in reply.results]


def _event(user: str, item: str, minutes: int, kind: str = "complete") -> dict[str, str]:
    return {"user_id": user, "item": item, "type": kind,
            "timestamp": (NOW - timedelta(minutes=minutes)).isoformat()}


def test_events_need_a_write_key_and_reject_bad_rows_by_index(mesh: Mesh,
                                                              tracks: list[str]) -> None:
    body = {"events": [_event("e2e-a", tracks[0], 5),
                       _event("e2e-a", "spotify:no-such-song", 4)]}
    with mesh.http(None) as anonymous:
        assert anonymous.post("/api/v1/events", json=body).status_code == 401
    with mesh.http("read") as reader:
        denied = reader.post("/api/v1/events", json=body)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "PERMISSION_DENIED"
    with mesh.http("write") as writer:
        bad = writer.post("/api/v1/events", json=body)
        assert bad.status_code == 400, bad.text
        assert bad.json()["error"]["index"] == 1
        assert "spotify:no-such-song" in bad.json()["error"]["message"]
        typo = writer.post("/api/v1/events", json={"events": [{**_event("e2e-a", tracks[0], 3),
                                                               "type": "paused"}]})
        assert typo.status_code == 400 and "events.0.type" in typo.json()["error"]["message"]
        good = writer.post("/api/v1/events", json={"events": body["events"][:1]})
    assert good.status_code == 200 and good.json()["accepted"] == 1


def test_personal_recommendations_follow_the_fallback_chain(mesh: Mesh,
                                                           tracks: list[str]) -> None:
    history = [_event("e2e-listener", t, n) for n, t in enumerate(tracks[:6])]
    others = [_event(f"e2e-fan-{u}", t, 60 + u) for u in range(6) for t in tracks[6:9]]
    with mesh.http("write") as writer:
        assert writer.post("/api/v1/events", json={"events": history + others}).status_code == 200
    with mesh.http("read") as reader:
        newcomer = reader.get(f"/api/v1/users/e2e-new-{uuid.uuid4().hex}/recommendations",
                              params={"limit": 3})
        regular = reader.get("/api/v1/users/e2e-listener/recommendations",
                             params={"limit": 3})
    assert newcomer.status_code == 200, newcomer.text
    assert newcomer.json()["path"] == "popularity" and newcomer.json()["items"]
    top = newcomer.json()["items"][0]
    assert top["resource"]["juke_id"] in tracks[6:9]  # what most listeners played lately
    assert regular.status_code == 200, regular.text
    assert regular.json()["path"] in ("history", "cf")
    assert regular.json()["qualifying_interactions"] == 6
    served = {i["resource"]["juke_id"] for i in regular.json()["items"]}
    assert served and not served & set(tracks[:6])  # never what they already play


def test_similar_items_and_bad_paths(mesh: Mesh, tracks: list[str]) -> None:
    with mesh.http("read") as reader:
        similar = reader.get(f"/api/v1/tracks/{tracks[0]}/similar", params={"limit": 3})
        unknown = reader.get(f"/api/v1/tracks/{uuid.uuid4()}/similar")
        wrong_kind = reader.get(f"/api/v1/songs/{tracks[0]}/similar")
        too_many = reader.get(f"/api/v1/tracks/{tracks[0]}/similar", params={"limit": 1000})
    assert similar.status_code == 200, similar.text
    items = similar.json()["items"]
    assert items and all(i["resource"]["type"] == "track" for i in items)
    assert tracks[0] not in {i["resource"]["juke_id"] for i in items}
    assert items[0]["explanation"]  # every score explained
    assert unknown.status_code == 400 and "error" in unknown.json()
    assert wrong_kind.status_code in (400, 404) and "error" in wrong_kind.json()
    assert too_many.status_code == 400


def test_cf_trained_by_the_workflow_serves_users_with_a_history(mesh: Mesh,
                                                                tracks: list[str]) -> None:
    """`juke retrain cf --activate`: the Temporal trainer on the first-party events; the
    listener with a history is then served by collaborative filtering."""
    with mesh.http("write") as writer:
        fans = [_event(f"e2e-cf-{u}", t, 120 + u) for u in range(8) for t in tracks[:8]]
        assert writer.post("/api/v1/events", json={"events": fans}).status_code == 200
    # Two factors for nine items: with as many factors as items ALS would only memorise.
    trained = mesh.juke("retrain", "cf", "--factors", "2", "--activate", timeout=600)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "production allowed: True" in trained.stdout, trained.stdout
    assert "\nactivated" in trained.stdout, trained.stdout
    with mesh.http("read") as reader:
        served = reader.get("/api/v1/users/e2e-listener/recommendations", params={"limit": 2})
    assert served.status_code == 200, served.text
    body = served.json()
    assert body["path"] == "cf" and body["cf_model_id"], (body, trained.stdout)
    assert body["items"] and "collaborative filtering" in body["items"][0]["explanation"][0][
        "reason"]
