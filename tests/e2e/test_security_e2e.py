"""The running gateway checks API keys and roles (keys from JUKE_API_KEYS, see conftest)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import httpx

from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from tests.e2e.conftest import Mesh


def test_a_key_with_the_right_role_is_needed(mesh: Mesh) -> None:
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        track = IdentityServiceStub(channel).UpsertTracks(pb.UpsertTracksRequest(tracks=[
            pb.TrackInput(mbid=str(uuid.uuid4()), name="e2e security track")])).results[0]
    events = {"events": [{"user_id": f"e2e-security-{uuid.uuid4().hex[:8]}", "item": track.uri,
                          "type": "play", "timestamp": datetime.now(UTC).isoformat()}]}

    with mesh.http(role=None) as anonymous:
        missing = anonymous.post("/api/v1/events", json=events)
        assert missing.status_code == 401, missing.text
        assert missing.json()["error"]["code"] == "UNAUTHENTICATED"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = anonymous.get("/api/v1/catalog/search", params={"q": "e2e"},
                              headers={"X-API-Key": "not-a-key"})
        assert wrong.status_code == 401, wrong.text
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/openapi.json").status_code == 200

    with mesh.http(role="read") as read:
        refused = read.post("/api/v1/events", json=events)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "PERMISSION_DENIED"
        assert "needs role write" in refused.json()["error"]["message"]
        assert read.get(f"/api/v1/catalog/track/{track.juke_id}").status_code == 200

    with mesh.http(role="write") as write:
        stored = write.post("/api/v1/events", json=events)
        assert stored.status_code == 200, stored.text
        assert stored.json()["accepted"] == 1 and stored.json()["item_ids"] == [track.juke_id]
        admin_only = write.post("/api/v1/models/rollback", json={"kind": "embedding"})
        assert admin_only.status_code == 403 and "needs role admin" in admin_only.text

    x_api_key = httpx.get(f"{mesh.gateway}/api/v1/catalog/track/{track.juke_id}", timeout=30,
                          headers={"X-API-Key": mesh.api_keys["read"]})
    assert x_api_key.status_code == 200, x_api_key.text
