"""Licensed audio in, explained recommendations out: ingest, embed (Temporal), recommend (REST)."""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc
import pytest

from tests.e2e.conftest import Mesh


@pytest.fixture(scope="module")
def embedded(mesh: Mesh, hyperrogue_subset: Path) -> None:
    """The subset placed in the mesh's corpus cache, as `juke corpus fetch` would."""
    package = mesh.corpus_dir / "hyperrogue-music"
    shutil.copytree(hyperrogue_subset, package, dirs_exist_ok=True)
    assert mesh.juke("corpus", "ingest", str(package)).returncode == 0
    backfill = mesh.juke("embed", "backfill", timeout=600)
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "0 skipped" in backfill.stdout
    mesh.refresh_rankers()


def test_hybrid_recommendations_by_name_are_explained(mesh: Mesh, embedded: None) -> None:
    with mesh.http() as http:
        reply = http.post("/api/v1/recommendations/",
                          json={"seed_items": ["hr3-hell"], "limit": 2})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["seeds"][0]["name"] == "hr3-hell"
        names = [i["resource"]["name"] for i in body["items"]]
        assert len(names) == 2 and "hr3-hell" not in names
        assert body["model_bundle"]["embedding_model"] == "msd-musicnn@0.1.0"
        assert body["items"][0]["metadata_score"] > 0  # hr3-crossroads: same artist and album
        for item in body["items"]:
            assert item["content_score"] > 0
            total = sum(c["contribution"] for c in item["explanation"])
            assert total == pytest.approx(item["final_score"])
        content = http.post("/api/v1/recommendations/content",
                            json={"seed_items": ["hr3-hell"], "limit": 2}).json()
        assert all(c["signal"] == "content" for i in content["items"]
                   for c in i["explanation"])


def test_bad_seeds_are_4xx_naming_them(mesh: Mesh, embedded: None) -> None:
    with mesh.http() as http:
        unknown = http.post("/api/v1/recommendations/", json={"seed_items": ["zzqx no such"]})
        assert unknown.status_code == 400 and "zzqx no such" in unknown.json()["error"]["message"]
        ambiguous = http.post("/api/v1/recommendations/", json={"seed_items": ["hr"]})
        assert ambiguous.status_code == 400
        assert ambiguous.json()["error"]["code"] == "AMBIGUOUS_SEED"
        assert len(ambiguous.json()["error"]["candidates"]) > 1
        too_many = http.post("/api/v1/recommendations/",
                             json={"seed_items": ["hr3-hell"], "limit": 1000})
        assert too_many.status_code == 400 and "limit" in too_many.json()["error"]["message"]


def test_rollback_restores_the_known_good_model_without_restarts(
    mesh: Mesh, embedded: None
) -> None:
    from juke.embedder.v1 import embedder_pb2 as epb
    from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub

    with grpc.insecure_channel(mesh.target("embedder")) as channel:
        embedder = EmbedderServiceStub(channel)
        good = embedder.GetActiveModel(epb.GetActiveModelRequest()).model
        embedder.MarkKnownGood(epb.MarkKnownGoodRequest(model_id=good.id))
        other = embedder.RegisterModel(epb.RegisterModelRequest(
            name="e2e-candidate", version="1", source_model="custom", embedding_dim=8)).model
        embedder.ActivateModel(epb.ActivateModelRequest(model_id=other.id,
                                                        allow_unavailable=True))
    rollback = mesh.juke("models", "rollback", "--kind", "embedding")
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert "rolled back to msd-musicnn 0.1.0" in rollback.stdout
    print(rollback.stdout.strip())  # carries the time to the first restored recommendation
    with mesh.http() as http:
        body = http.post("/api/v1/recommendations/", json={"seed_items": ["hr3-hell"]}).json()
        assert body["model_bundle"]["embedding_model_id"] == good.id
        health = http.get("/api/v1/health/models").json()
        assert any(m["name"].startswith("requests_total:") for m in health["metrics"])
