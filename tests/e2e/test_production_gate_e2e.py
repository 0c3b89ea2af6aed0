"""A mesh started with JUKE_ENVIRONMENT=production: no command, RPC or REST call makes a
model active outside a promotion; the registry shows every kind with its state."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from bench._temporal_ui import signal_through_ui
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from services.embedder.models import MSD_TAGS
from tests.e2e.conftest import Mesh, running_mesh

pytestmark = pytest.mark.e2e
SHIPPED_CONFIG = "01a1fd00-0000-7000-8000-000000000014"  # the migration's evaluated config
CONFIDENT = "hr-domina-mountain"  # the subset's track with a tag above the 0.2 threshold


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with running_mesh(tmp_path_factory.mktemp("production-mesh"),
                      JUKE_ENVIRONMENT="production") as mesh:
        yield mesh


def _refused(mesh: Mesh, *argv: str) -> str:
    done = mesh.juke(*argv)
    assert done.returncode != 0, done.stdout + done.stderr
    assert "FAILED_PRECONDITION" in done.stderr, done.stderr
    return done.stderr


def test_no_direct_activation_in_production(production: Mesh) -> None:
    created = production.juke("weights", "--create", "0", "0.5", "0.5", "1")
    assert created.returncode == 0, created.stdout + created.stderr
    config = re.search(r"created (\S+)", created.stdout)
    assert config, created.stdout
    config_id = config.group(1)
    message = _refused(production, "weights", "--activate", config_id)
    assert f"juke models promote {config_id} --kind weights" in message
    message = _refused(production, "models", "activate", config_id, "--kind", "weights")
    assert "juke models promote" in message
    message = _refused(production, "retrain", "cf", "--activate")
    assert "juke retrain cf --promote" in message

    with production.http("read") as http:
        listed = http.get("/api/v1/models", params={"kind": "weights"})
    assert listed.status_code == 200, listed.text
    states = {m["id"]: m["state"] for m in listed.json()}
    assert states[config_id] == "candidate"
    assert states[SHIPPED_CONFIG] == "candidate"  # the evaluated default waits for a promotion
    assert sorted(states.values()).count("known_good") == 1  # the initial config


def test_the_embedder_activates_nothing_by_itself_in_production(production: Mesh) -> None:
    with grpc.insecure_channel(production.target("embedder")) as channel:
        embedder = EmbedderServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            embedder.GetActiveModel(epb.GetActiveModelRequest())
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        musicnn = next(m for m in embedder.ListModels(epb.ListModelsRequest()).models
                       if m.name == "msd-musicnn")
        with pytest.raises(grpc.RpcError) as refused:
            embedder.ActivateModel(epb.ActivateModelRequest(model_id=musicnn.id))
    assert "juke models promote" in (refused.value.details() or "")
    with production.http("read") as http:
        history = http.get(f"/api/v1/models/{musicnn.id}/history")
    assert history.status_code == 200, history.text
    assert history.json()["entries"] == []  # nothing happened to it
    assert "Million Song Dataset" in history.json()["model"]["training_data"]


def _log_event(mesh: Mesh, model_id: str, wanted: tuple[str, ...]) -> dict[str, object]:
    """The model's latest activation-log entry among `wanted`, waiting for one to appear."""
    with mesh.http("read") as http:
        for _ in range(600):
            entries = http.get(f"/api/v1/models/{model_id}/history").json()["entries"]
            found = [e for e in entries if e["event"] in wanted]
            if found:
                return dict(found[-1])
            time.sleep(0.5)
    raise AssertionError(f"no {wanted} entry for {model_id}")


def _internal_tags(mesh: Mesh, name: str) -> list[str]:
    """The internal-taxonomy tags of the track named `name`."""
    with mesh.http("read") as http:
        found = http.get("/api/v1/catalog/search", params={"q": name, "types": "track"})
        assert found.status_code == 200, found.text
        track = next(h["resource"]["juke_id"] for h in found.json()["hits"]
                     if h["resource"]["name"] == name)
        reply = http.get(f"/api/v1/catalog/track/{track}")
    assert reply.status_code == 200, reply.text
    return [t["name"] for t in reply.json()["tags"] if t["source"] == "internal"]


def test_an_embedding_model_goes_live_only_through_the_temporal_ui_approval(
        production: Mesh, hyperrogue_subset: Path) -> None:
    """The built-in content model in production: backfilled as a candidate (its tags stay out
    of the catalog), gated by the content evaluation, approved with the `decide` signal the
    Temporal UI sends, then active with its tags published."""
    package = production.corpus_dir / "hyperrogue-music"
    shutil.copytree(hyperrogue_subset, package, dirs_exist_ok=True)
    assert production.juke("corpus", "ingest", str(package)).returncode == 0
    backfill = production.juke("embed", "backfill", "--model", "msd-musicnn:0.1.0", timeout=600)
    assert backfill.returncode == 0 and "0 skipped" in backfill.stdout, backfill.stderr
    before = set(_internal_tags(production, CONFIDENT))  # the package's own, from ingest
    assert not before & set(MSD_TAGS)  # a candidate's tags wait for its promotion

    with grpc.insecure_channel(production.target("embedder")) as channel:
        musicnn = next(m for m in EmbedderServiceStub(channel).ListModels(
            epb.ListModelsRequest()).models if m.name == "msd-musicnn")
    started = production.juke("models", "promote", musicnn.id, "--kind", "embedding")
    assert started.returncode == 0, started.stdout + started.stderr
    waiting = _log_event(production, musicnn.id, ("awaiting_approval", "failed_gates",
                                                  "refused_by_governance"))
    assert waiting["event"] == "awaiting_approval", waiting
    gates = waiting["gates"]
    assert isinstance(gates, dict)  # the first of its kind: held to the absolute floors
    assert gates["ndcg@10 floor"]["passed"] and gates["coverage"]["passed"], gates

    owner = production.env["JUKE_PROMOTION_APPROVER"]
    signal_through_ui(f"http://127.0.0.1:{production.env['JUKE_TEMPORAL_UI_PORT']}",
                      f"promotion-embedding-{musicnn.id}", "decide",
                      {"approver": owner, "approve": True, "reason": "content gates read"})
    activated = _log_event(production, musicnn.id, ("activated", "rejected"))
    assert (activated["event"], activated["path"], activated["approved_by"]) == \
        ("activated", "promotion", owner)
    published = set(_internal_tags(production, CONFIDENT)) - before
    assert published and published <= set(MSD_TAGS), published  # the active model's tags
