"""A mesh started with JUKE_ENVIRONMENT=production: no command, RPC or REST call makes a
model active outside a promotion; the registry shows every kind with its state."""

from __future__ import annotations

import re
from collections.abc import Iterator

import grpc
import pytest

from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from tests.e2e.conftest import Mesh, running_mesh

pytestmark = pytest.mark.e2e


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
