"""Faults under a steady load, on a mesh of its own: `kill -9` of one component at a time,
PostgreSQL killed, and the Temporal dev server killed while a promotion waits for approval.

The load: recommendation requests and listening-event batches (unique idempotency keys)
from two client threads, all through the gateway, on loopback, for as long as the test runs.
After each fault the mesh must be healthy again by itself (the `juke up` supervisor restarts
what died; nothing else is restarted), and at the end every event batch the gateway accepted
is stored exactly once: batches that failed during an outage are sent again, as an app
would, and idempotency keys make that safe. Each fault prints its time to recovery and the
errors clients saw meanwhile. Bounded: every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import httpx
import psycopg
import pytest
from temporalio.client import Client

from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.config import Settings
from services.ranker.workflows.promotion_contracts import workflow_id
from tests.e2e.conftest import Mesh, running_mesh
from tests.e2e.hetrec_subset import write_subset

RECOVERY_DEADLINE_S = 120
EVENTS_PER_BATCH = 5


@dataclass
class Load:
    """Two client threads: recommendations and event batches, until stopped."""

    mesh: Mesh
    seed: str
    statuses: Counter[str] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)         # idempotency keys
    unsent: list[list[dict[str, Any]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._recommend, daemon=True),
                        threading.Thread(target=self._events, daemon=True)]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.statuses)

    def _note(self, outcome: str) -> None:
        with self.lock:
            self.statuses[outcome] += 1

    def _recommend(self) -> None:
        with self.mesh.http("read") as http:
            while not self.stop.is_set():
                self._note(_outcome(lambda: http.post(
                    "/api/v1/recommendations/", json={"seed_items": [self.seed], "limit": 5})))
                time.sleep(0.02)

    def _events(self) -> None:
        with self.mesh.http("write") as http:
            while not self.stop.is_set():
                batch = _batch()
                outcome = _outcome(partial(http.post, "/api/v1/events", json={"events": batch}))
                self._note(outcome)
                with self.lock:
                    if outcome == "200":
                        self.accepted |= {e["idempotency_key"] for e in batch}
                    else:
                        self.unsent.append(batch)
                time.sleep(0.05)


def _batch() -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    user = f"fault-{uuid.uuid4().hex[:8]}"
    return [{"user_id": user, "item": SEED_TRACK[0], "type": "play", "timestamp": now,
             "idempotency_key": f"{user}-{n}"} for n in range(EVENTS_PER_BATCH)]


SEED_TRACK: list[str] = []


REFUSALS: dict[str, str] = {}   # the first answer of each 4xx status, to show in a failure


def _outcome(call: Any) -> str:
    try:
        reply = call()
    except httpx.HTTPError as err:
        return type(err).__name__
    if 400 <= reply.status_code < 500:
        REFUSALS.setdefault(str(reply.status_code), reply.text[:300])
    return str(reply.status_code)


def _status(mesh: Mesh) -> dict[str, dict[str, Any]]:
    report = mesh.juke("status", "--json", timeout=60)
    return {row["name"]: row for row in json.loads(report.stdout)["components"]}


def _kill_and_recover(mesh: Mesh, load: Load, name: str) -> tuple[float, Counter[str]]:
    before = _status(mesh)[name]
    assert before["state"] == "healthy", before
    others = {n: row["pid"] for n, row in _status(mesh).items() if n != name}
    errors_before = load.snapshot()
    killed_at = time.monotonic()
    os.kill(before["pid"], signal.SIGKILL)
    while True:
        time.sleep(0.2)
        rows = _status(mesh)
        row = rows[name]
        if row["state"] == "healthy" and row["pid"] not in (None, before["pid"]) \
                and all(r["state"] == "healthy" for r in rows.values()):
            break
        assert time.monotonic() - killed_at < RECOVERY_DEADLINE_S, rows
    recovered = time.monotonic() - killed_at
    after = _status(mesh)
    assert after[name]["restarts"] == before["restarts"] + 1
    assert "SIGKILL" in (after[name]["last_exit"] or "")
    # Nothing else was restarted: dependants reconnect by themselves.
    assert {n: row["pid"] for n, row in after.items() if n != name} == others
    time.sleep(1)  # a few requests served after recovery
    seen = load.snapshot()
    seen.subtract(errors_before)
    return recovered, +seen


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    root = tmp_path_factory.mktemp("faults")
    # Rankers notice the imported catalog within a second (JUKE_RANKER_REFRESH_S).
    # No rate limit: the load clients post faster than an app's key is allowed to.
    with running_mesh(root, JUKE_RESTART_BACKOFF_INITIAL_S="0.2",
                      JUKE_RANKER_REFRESH_S="1", JUKE_RATE_LIMIT_PER_MINUTE="0") as mesh:
        imported = mesh.juke("catalog", "import", "musicbrainz", timeout=600)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        with mesh.http() as http:
            hits = http.get("/api/v1/catalog/search", params={"q": "a", "types": "track"})
        assert hits.status_code == 200, hits.text
        SEED_TRACK[:] = [next(h["resource"]["juke_id"] for h in hits.json()["hits"]
                              if h["resource"]["type"] == "track")]
        _until_every_ranker_knows(mesh, SEED_TRACK[0])
        yield mesh


def _until_every_ranker_knows(mesh: Mesh, seed: str) -> None:
    """Calls alternate between the ranker processes: ten answers in a row from both."""
    deadline, in_a_row = time.monotonic() + 60, 0
    with mesh.http("read") as http:
        while in_a_row < 10:
            assert time.monotonic() < deadline, "the rankers never loaded the catalog"
            ok = http.post("/api/v1/recommendations/",
                           json={"seed_items": [seed], "limit": 5}).status_code == 200
            in_a_row = in_a_row + 1 if ok else 0
            time.sleep(0.1)


@pytest.fixture(scope="module")
def load(faulty: Mesh) -> Iterator[Load]:
    running = Load(faulty, SEED_TRACK[0])
    running.start()
    time.sleep(2)
    yield running
    running.finish()


@pytest.mark.parametrize("name", ["ranker", "identity", "embedder", "gateway"])
def test_a_killed_component_is_back_by_itself_and_the_rest_keeps_serving(
        faulty: Mesh, load: Load, name: str) -> None:
    recovered, seen = _kill_and_recover(faulty, load, name)
    failures = {k: v for k, v in seen.items() if k != "200"}
    print(f"\nkill -9 {name}: healthy again after {recovered:.1f}s; clients saw "
          f"{sum(seen.values())} answers meanwhile, failures {dict(failures) or 'none'}")
    assert seen["200"] > 0  # served during and after the fault
    assert not any(code.startswith("4") for code in failures), REFUSALS
    assert not any(code.startswith("5") and code not in ("503", "504") for code in failures), \
        f"{name}: an outage must answer 503/504 (or no connection), never {failures}"


def test_postgres_killed_under_load_the_services_recover_without_restarting(
        faulty: Mesh, load: Load) -> None:
    recovered, seen = _kill_and_recover(faulty, load, "postgres")
    failures = {k: v for k, v in seen.items() if k != "200"}
    print(f"\nkill -9 PostgreSQL: healthy again after {recovered:.1f}s; failures meanwhile "
          f"{dict(failures) or 'none'}")
    assert not any(code.startswith("5") and code not in ("503", "504") for code in failures)
    with faulty.http("read") as http:
        deadline = time.monotonic() + 30
        while http.post("/api/v1/recommendations/", json={
                "seed_items": [SEED_TRACK[0]], "limit": 5}).status_code != 200:
            assert time.monotonic() < deadline, "no recommendation after PostgreSQL returned"
            time.sleep(0.2)


def test_every_accepted_event_is_stored_exactly_once(faulty: Mesh, load: Load) -> None:
    load.finish()
    with faulty.http("write") as http:
        for batch in load.unsent:  # what an app would send again after an outage
            reply = http.post("/api/v1/events", json={"events": batch})
            assert reply.status_code == 200, reply.text
            load.accepted |= {e["idempotency_key"] for e in batch}
    url = Settings.from_env(faulty.env).embedded_database_url
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT user_id, idempotency_key FROM ranker.listening_event "
            "WHERE user_id LIKE 'fault-%'").fetchall()
    # Stored as client:<user>:<key>, so one app's keys never collide with another's.
    stored = [key.removeprefix(f"client:{user}:") for user, key in rows]
    print(f"\nevents: {len(load.accepted)} accepted keys, {len(stored)} rows stored, "
          f"{len(load.unsent)} batches sent again after failing; answers {dict(load.statuses)}")
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert set(stored) == load.accepted, "an accepted event was lost (or one never accepted stored)"


# -- Temporal restarted while a promotion waits for its approval -------------------------------


def _sessions(artist_ids: list[str]) -> list[dict[str, object]]:
    start = datetime.now(UTC) - timedelta(days=1)
    return [{"user_id": f"fan-{user}", "item": f"lastfm:{artist}", "type": "complete",
             "timestamp": (start + timedelta(hours=user, minutes=4 * n)).isoformat(),
             "session_id": f"fan-{user}"}
            for user in range(24) for n, artist in enumerate(
                artist_ids[(user % 3) * 5:(user % 3) * 5 + 5])]


def test_temporal_killed_while_a_promotion_waits_then_the_approval_completes_it(
        faulty: Mesh, tmp_path: Path) -> None:
    source = Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"
    root = write_subset(source, tmp_path / "lastfm-hetrec-2011", 60)
    imported = faulty.juke("lastfm", "import", "--path", str(root), timeout=600)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    artists = [line.split("\t")[0] for line in
               (root / "artists.dat").read_text(errors="replace").splitlines()[1:] if line]
    with faulty.http() as http:
        posted = http.post("/api/v1/events", json={"events": _sessions(artists)})
    assert posted.status_code == 200, posted.text
    trained = faulty.juke("retrain", "cooccurrence", "--dataset", "juke-events",
                          "--min-count", "1", "--top-k", "5", timeout=600)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    model_id = next(m.id for m in _cooccurrence_models(faulty) if not m.active)
    promoted = faulty.juke("models", "promote", model_id, "--kind", "cooccurrence",
                           "--coverage-min", "0")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    _wait_until_awaiting_approval(faulty, model_id)

    recovered, _ = _kill_and_recover(faulty, Load(faulty, ""), "temporal")
    print(f"\nkill -9 Temporal with a promotion waiting: healthy again after {recovered:.1f}s")
    approved = faulty.juke("models", "approve", model_id, "--kind", "cooccurrence",
                           timeout=120)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    deadline = time.monotonic() + 120
    while not any(m.id == model_id and m.active for m in _cooccurrence_models(faulty)):
        assert time.monotonic() < deadline, "the approved promotion never activated"
        time.sleep(0.5)


def _cooccurrence_models(mesh: Mesh) -> list[Any]:
    with grpc.insecure_channel(mesh.target("ranker")) as channel:
        return list(RankerServiceStub(channel).ListCooccurrenceModels(
            rpb.ListCooccurrenceModelsRequest()).models)


def _wait_until_awaiting_approval(mesh: Mesh, model_id: str) -> None:
    """The workflow's status query says when it waits, without deciding anything."""
    async def status() -> str:
        client = await Client.connect(f"127.0.0.1:{mesh.env['JUKE_TEMPORAL_PORT']}")
        handle = client.get_workflow_handle(workflow_id("cooccurrence", model_id))
        return str(await handle.query("status", result_type=str))

    deadline = time.monotonic() + 300
    while asyncio.run(status()) != "awaiting_approval":
        assert time.monotonic() < deadline, "the promotion never waited for approval"
        time.sleep(0.5)
