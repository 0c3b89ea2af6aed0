"""Promote and roll back co-occurrence models through the running mesh.

The evaluation data set (a HetRec subset, research-only) is imported by `juke lastfm
import`; the candidates are trained by the Temporal trainer on first-party listening events
posted to the gateway (production-licensed), so governance lets them serve. Each candidate
goes through PromotionWorkflow: offline gates on the same split as the active model, the
governance check, the approver's decision (REST and CLI), activation; then a REST rollback
restores the previous known-good model without restarting anything.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from temporalio.client import Client

from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.config import Settings
from services.ranker.workflows.promotion_contracts import PromotionResult, workflow_id
from tests.e2e.conftest import Mesh
from tests.e2e.hetrec_subset import write_subset

USERS = 150             # HetRec users in the evaluation subset
INITIAL_CONFIG = "01a1fd00-0000-7000-8000-000000000001"  # the initial weight config
COMMUNITIES = 4         # synthetic listening communities in the event stream
# No model reaches the default 30% top-10 coverage on HetRec (see the README), so this
# run lowers that one gate explicitly; the relative gates keep their defaults.
COVERAGE_MIN = "0.1"
WEAK = ("--min-count", "1", "--top-k", "1")
STRONG = ("--min-count", "5", "--top-k", "50")


@pytest.fixture(scope="module")
def hetrec(mesh: Mesh, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The subset imported; returns the Last.fm ids of its artists."""
    source = Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"
    root = write_subset(source, tmp_path_factory.mktemp("hetrec") / "lastfm-hetrec-2011", USERS)
    imported = mesh.juke("lastfm", "import", "--path", str(root), timeout=600)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    mesh.refresh_rankers()
    lines = (root / "artists.dat").read_text(errors="replace").splitlines()[1:]
    return [line.split("\t")[0] for line in lines if line]


def _listening_sessions(artist_ids: list[str]) -> list[dict[str, object]]:
    """Synthetic first-party events: 48 listeners, each playing one community's artists in
    two sessions, with a skip of another community's artist that must not count."""
    groups = [artist_ids[n * 6:(n + 1) * 6] for n in range(COMMUNITIES)]
    start = datetime.now(UTC) - timedelta(days=2)
    events: list[dict[str, object]] = []
    for user in range(48):
        group, other = groups[user % COMMUNITIES], groups[(user + 1) % COMMUNITIES]
        for session in range(2):
            at = start + timedelta(hours=user, minutes=30 * session)
            picks = group[session:session + 5]
            events += [{"user_id": f"listener-{user}", "item": f"lastfm:{artist}",
                        "type": "complete" if n % 2 else "play",
                        "timestamp": (at + timedelta(minutes=4 * n)).isoformat(),
                        "session_id": f"{user}-{session}"} for n, artist in enumerate(picks)]
            events.append({"user_id": f"listener-{user}", "item": f"lastfm:{other[0]}",
                           "type": "skip", "timestamp": (at + timedelta(minutes=25)).isoformat(),
                           "session_id": f"{user}-{session}"})
    return events


@pytest.fixture(scope="module")
def events(mesh: Mesh, hetrec: list[str]) -> int:
    batch = _listening_sessions(hetrec)
    with mesh.http() as http:
        reply = http.post("/api/v1/events", json={"events": batch})
        assert reply.status_code == 200, reply.text
        again = http.post("/api/v1/events", json={"events": batch})
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == len(batch)
    return int(reply.json()["accepted"])


def _models(mesh: Mesh) -> list[rpb.CooccurrenceModel]:
    with grpc.insecure_channel(mesh.target("ranker")) as channel:
        return list(RankerServiceStub(channel).ListCooccurrenceModels(
            rpb.ListCooccurrenceModelsRequest()).models)


def _train(mesh: Mesh, recipe: tuple[str, ...]) -> rpb.CooccurrenceModel:
    trained = mesh.juke("retrain", "cooccurrence", "--dataset", "juke-events", *recipe)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    wanted = {"min_count": int(recipe[1]), "top_k": int(recipe[3]), "dataset": "juke-events"}
    model = next(m for m in _models(mesh)
                 if wanted.items() <= json.loads(m.params_json).items())
    assert model.production_allowed and model.pairs > 0 and model.item_type == "artist"
    return model


def _approve_when_waiting(mesh: Mesh, model_id: str, role: str, body: dict[str, object],
                          kind: str = "cooccurrence") -> dict[str, object]:
    """REST approval with the key of `role`; 409 while the workflow is still evaluating, so
    ask again."""
    with mesh.http(role) as http:
        for _ in range(600):
            reply = http.post(f"/api/v1/promotions/{model_id}/approve", json=body,
                              params={"kind": kind})
            if reply.status_code != 409:
                return {"status": reply.status_code, **reply.json()}
            time.sleep(0.5)
    raise AssertionError(f"promotion of {model_id} never waited for approval")


def _result(mesh: Mesh, model_id: str, kind: str = "cooccurrence") -> PromotionResult:
    async def run() -> PromotionResult:
        client = await Client.connect(f"127.0.0.1:{mesh.env['JUKE_TEMPORAL_PORT']}")
        handle = client.get_workflow_handle(workflow_id(kind, model_id),
                                            result_type=PromotionResult)
        return await asyncio.wait_for(handle.result(), 300)

    return asyncio.run(run())


def _promote(mesh: Mesh, model_id: str) -> None:
    started = mesh.juke("models", "promote", model_id, "--kind", "cooccurrence",
                        "--coverage-min", COVERAGE_MIN)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Temporal UI: http://" in started.stdout


def _served(mesh: Mesh, seed: str) -> str:
    with mesh.http() as http:
        reply = http.post("/api/v1/recommendations/",
                          json={"seed_items": [seed], "resource_types": ["artist"], "limit": 3})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["model_bundle"]["cooccurrence_model_id"])


def test_promote_twice_then_roll_back(mesh: Mesh, hetrec: list[str], events: int) -> None:
    assert events > 0
    assert not any(m.active for m in _models(mesh)), "this test starts with no active model"
    # Co-occurrence is judged in the hybrid with the active weights. The shipped default
    # gives it 0.06 beside collaborative 0.70, too little for the gates to tell two PMI
    # recipes apart on this subset; the initial config (0.4) lets them.
    pinned = mesh.juke("weights", "--activate", INITIAL_CONFIG)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    seed = f"lastfm:{hetrec[0]}"
    weak = _train(mesh, WEAK)
    strong = _train(mesh, STRONG)
    assert weak.id != strong.id  # same events, other parameters: another model

    # First promotion: nothing active, so only the coverage gate applies. Approved over REST
    # with the approver's key, after an admin key that is not the approver's was refused
    # although its body names the approver.
    _promote(mesh, weak.id)
    owner = mesh.env["JUKE_PROMOTION_APPROVER"]
    refused = _approve_when_waiting(mesh, weak.id, "admin", {"approver": owner})
    assert refused["status"] == 403, refused
    approved = _approve_when_waiting(mesh, weak.id, "owner", {"approve": True})
    assert approved["status"] == 200 and approved["outcome"] == "approved", approved
    first = _result(mesh, weak.id)
    assert first.status == "activated", first
    assert first.candidate["ndcg@10"] > 0 and first.dataset_hash
    assert _served(mesh, seed) == weak.id

    # Second promotion: judged against the active (weak) model on the same split; approved
    # with the CLI, which decides as the account it runs under (the approver here).
    _promote(mesh, strong.id)
    for _ in range(600):
        decided = mesh.juke("models", "approve", strong.id, "--kind", "cooccurrence")
        if decided.returncode == 0 or "awaiting approval" not in decided.stderr:
            break
        time.sleep(0.5)
    assert decided.returncode == 0, decided.stdout + decided.stderr
    second = _result(mesh, strong.id)
    assert second.status == "activated", second
    assert second.active and second.candidate["ndcg@10"] >= 1.05 * second.active["ndcg@10"]
    assert second.previous_id == weak.id
    assert _served(mesh, seed) == strong.id

    # Rollback over REST: the previous known-good model serves again, nothing restarted.
    started = time.perf_counter()
    with mesh.http() as http:
        rolled = http.post("/api/v1/models/rollback", json={"kind": "cooccurrence"})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["restored_id"] == weak.id
    assert rolled.json()["deactivated_id"] == strong.id
    while _served(mesh, seed) != weak.id:
        assert time.perf_counter() - started < 60, "rollback not served within a minute"
        time.sleep(0.05)
    print(f"rollback served {1000 * (time.perf_counter() - started):.0f} ms after the call")
    models = {m.id: m for m in _models(mesh)}
    assert models[strong.id].is_known_good and not models[strong.id].active  # nothing deleted


def _history(mesh: Mesh, model_id: str) -> dict[str, object]:
    with mesh.http("read") as http:
        reply = http.get(f"/api/v1/models/{model_id}/history")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _promoted_entry(history: dict[str, object], owner: str) -> dict[str, object]:
    entries = history["entries"]
    assert isinstance(entries, list)
    assert [e["event"] for e in entries][:3] == ["evaluated", "awaiting_approval", "activated"]
    activated = entries[2]
    assert activated["path"] == "promotion" and activated["approved_by"] == owner
    assert "coverage" in activated["gates"] and activated["gates"]["dataset_hash"]
    return dict(activated)


def test_cf_and_weight_config_promotions_with_the_owners_approval(
        mesh: Mesh, hetrec: list[str], events: int) -> None:
    """The other ranker kinds through the same gate: a CF model (the first of its kind:
    absolute floors, coverage lowered as above) approved over REST, a weight config approved
    with the CLI, then rolled back over REST."""
    owner = mesh.env["JUKE_PROMOTION_APPROVER"]
    trained = mesh.juke("retrain", "cf", "--factors", "8", timeout=600)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "training set:" in trained.stdout
    with grpc.insecure_channel(mesh.target("ranker")) as channel:
        cf = next(m for m in RankerServiceStub(channel).ListCfModels(
            rpb.ListCfModelsRequest()).models if not m.active)
    started = mesh.juke("models", "promote", cf.id, "--kind", "cf", "--coverage-min", "0")
    assert started.returncode == 0, started.stdout + started.stderr
    approved = _approve_when_waiting(mesh, cf.id, "owner", {"approve": True}, kind="cf")
    assert approved["status"] == 200, approved
    result = _result(mesh, cf.id, "cf")
    assert result.status == "activated" and result.decided_by == owner, result
    _promoted_entry(_history(mesh, cf.id), owner)

    created = mesh.juke("weights", "--create", "0", "0.3", "0.7", "1")
    assert created.returncode == 0, created.stdout + created.stderr
    config_id = created.stdout.split()[1]
    # a smoke of the path: relative gates opened wide, so any measurement passes
    started = mesh.juke("models", "promote", config_id, "--kind", "weights",
                        "--coverage-min", "0", "--ndcg-min-relative-gain=-1",
                        "--recall-min-relative-gain=-1", "--cold-start-max-regression", "1")
    assert started.returncode == 0, started.stdout + started.stderr
    for _ in range(600):
        decided = mesh.juke("models", "approve", config_id, "--kind", "weights")
        if decided.returncode == 0 or "awaiting approval" not in decided.stderr:
            break
        time.sleep(0.5)
    assert decided.returncode == 0, decided.stdout + decided.stderr
    assert _result(mesh, config_id, "weights").status == "activated"
    activated = _promoted_entry(_history(mesh, config_id), owner)
    assert activated["gates"]["ndcg@10 gain"]["active"] is not None  # judged vs the active

    listed = mesh.juke("models", "list", "--kind", "weights")
    assert listed.returncode == 0 and config_id in listed.stdout
    with mesh.http() as http:
        rolled = http.post("/api/v1/models/rollback", json={"kind": "weights"})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["deactivated_id"] == config_id
    assert _history(mesh, config_id)["model"]["state"] == "rolled_back"  # type: ignore[index]
