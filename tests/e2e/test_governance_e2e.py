"""Ingest a real Debian package into the running mesh and ask governance over REST and CLI."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Mesh


def test_ingest_register_and_refuse_research_data_in_production(
    mesh: Mesh, hyperrogue_subset: Path
) -> None:
    ingest = mesh.juke("corpus", "ingest", str(hyperrogue_subset))
    assert ingest.returncode == 0, ingest.stderr
    assert "debian:hyperrogue-music: 3 tracks" in ingest.stdout
    assert "3 production-eligible" in ingest.stdout

    registered = mesh.juke("datasets", "register", "lastfm-hetrec")
    assert registered.returncode == 0, registered.stderr
    assert "allowed in research" in registered.stdout

    with mesh.http() as http:
        corpus = http.get("/api/v1/corpus", params={"env": "production"}).json()
        ids = [e["id"] for e in corpus["entries"] if e["source"] == "debian:hyperrogue-music"]
        assert len(ids) == 3
        check = http.post("/api/v1/training-sets/check", json={
            "environment": "production", "entry_ids": ids,
            "dataset_ids": ["lastfm-hetrec-2011"]}).json()
        assert check["allowed"] is False
        assert check["blocking"][0]["member"] == "dataset:lastfm-hetrec-2011"

    cli = mesh.juke("training-sets", "check", "--env", "production", "--entries", *ids,
                    "--datasets", "lastfm-hetrec-2011")
    assert cli.returncode == 3 and "refused in production" in cli.stdout
    allowed = mesh.juke("training-sets", "check", "--env", "production", "--entries", *ids)
    assert allowed.returncode == 0 and "allowed in production" in allowed.stdout
