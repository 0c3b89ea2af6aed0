"""One trace per client request: gateway -> ranker -> identity/embedder/governance -> SQL,
and client -> workflow -> activity, wired as the composition roots wire it, into one
in-memory exporter."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.config import Settings
from services.common.db import Database, build_engine
from services.common.grpc_client import service_channel
from services.common.grpc_server import ServiceServer
from services.common.telemetry import Telemetry, setup_telemetry
from tests.api_keys import bearer, make_keys
from tests.conftest import free_port

pytestmark = pytest.mark.integration

TAG = f"trace{uuid.uuid4().hex[:8]}"
RANKER_RECOMMEND = "/juke.ranker.v1.RankerService/Recommend"
Register = Callable[[grpc.Server, Database, Settings, Telemetry], Any]


@dataclass
class Mesh:
    exporter: InMemorySpanExporter
    settings: Settings
    gateway: TestClient
    test_telemetry: Telemetry
    tracks: list[str]


def _wait_serving(target: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{target} never reported SERVING")
            time.sleep(0.1)


def _seed_catalog(target: str) -> list[str]:
    """An artist with one album of three tracks sharing a tag: metadata neighbours."""
    with grpc.insecure_channel(target) as channel:
        stub = IdentityServiceStub(channel)
        artist = stub.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
            ipb.ArtistInput(name=f"Artist {TAG}")])).results[0].juke_id
        album = stub.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
            ipb.AlbumInput(name=f"Album {TAG}", artist_refs=[artist])])).results[0].juke_id
        tag = ipb.TagInput(name=TAG, source=common_pb2.TAG_SOURCE_MUSICBRAINZ, weight=1.0)
        return [r.juke_id for r in stub.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
            ipb.TrackInput(name=f"t{i} {TAG}", album_ref=album, artist_refs=[artist],
                           tags=[tag], duration_ms=1000) for i in range(3)])).results]


@pytest.fixture(scope="module")
def mesh(migrated_url: str) -> Iterator[Mesh]:
    """identity, governance, embedder and ranker servers and the gateway app, in-process,
    each with its own providers (as its process would have) exporting to one exporter."""
    from services.embedder import __main__ as embedder_main
    from services.governance import __main__ as governance_main
    from services.identity import __main__ as identity_main
    from services.ranker import __main__ as ranker_main

    ports = {name: free_port() for name in ("identity", "governance", "embedder", "ranker")}
    keys, api_keys = make_keys()  # the gateway refuses /api requests without a key
    settings = Settings.from_env({
        **{f"JUKE_{name.upper()}_TARGET": f"127.0.0.1:{port}" for name, port in ports.items()},
        # The ranker's background refreshers stay asleep: no spans besides the request's.
        "JUKE_RANKER_REFRESH_S": "1000000", "JUKE_HEALTH_INTERVAL_S": "1000000",
        "JUKE_API_KEYS": api_keys})
    exporter = InMemorySpanExporter()
    started: list[tuple[ServiceServer, Any, Telemetry]] = []

    def telemetry_for(name: str) -> Telemetry:
        return setup_telemetry(f"juke-{name}", settings, span_exporter=exporter,
                               install_global=False)

    def start(name: str, service_name: str, register: Register, vectors: bool = False) -> None:
        """What services.common.runner.run_service does, on a test port."""
        telemetry = telemetry_for(name)
        engine = build_engine(migrated_url, pool_size=2, application_name=f"juke-trace-{name}",
                              vectors=vectors)
        telemetry.instrument_engine(engine)
        db = Database(engine)
        checks: list[Callable[[], None]] = []

        def add(server: grpc.Server) -> None:
            check = register(server, db, settings, telemetry)
            if check is not None:
                checks.append(check)

        def ready() -> None:
            db.check(name)
            for check in checks:
                check()

        server = ServiceServer(name, f"127.0.0.1:{ports[name]}", service_names=[service_name],
                               register=add, ready_check=ready, workers=4,
                               interceptors=telemetry.server_interceptors())
        server.start()
        started.append((server, engine, telemetry))
        _wait_serving(f"127.0.0.1:{ports[name]}")

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
        try:
            start("identity", identity_main.SERVICE_NAME,
                  lambda s, db, st, _t: identity_main.register(s, db, st))
            start("governance", governance_main.SERVICE_NAME,
                  lambda s, db, st, _t: governance_main.register(s, db, st))
            start("embedder", embedder_main.SERVICE_NAME,
                  lambda s, db, st, _t: embedder_main.register(s, db, st), vectors=True)
            tracks = _seed_catalog(settings.service_targets["identity"])
            start("ranker", ranker_main.SERVICE_NAME, ranker_main.register)  # features now
            gateway_telemetry = telemetry_for("gateway")
            test_telemetry = telemetry_for("test")
            with TestClient(create_app(settings, gateway_telemetry),
                            headers=bearer(keys["read"])) as gateway:
                yield Mesh(exporter, settings, gateway, test_telemetry, tracks)
            gateway_telemetry.shutdown()
            test_telemetry.shutdown()
        finally:
            for server, engine, telemetry in reversed(started):
                server.stop(grace=1)
                engine.dispose()
                telemetry.shutdown()


# -- helpers over finished spans -------------------------------------------------------------


def _service(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


def _one(spans: Sequence[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind == kind]
    assert len(found) == 1, (name, kind, [(s.name, s.kind) for s in spans])
    return found[0]


def _describe(spans: Sequence[ReadableSpan]) -> list[str]:
    return sorted(f"{_service(s)} {s.kind.name} {s.name}" for s in spans)


def test_a_recommendation_is_one_trace_from_gateway_to_sql(mesh: Mesh) -> None:
    mesh.exporter.clear()
    reply = mesh.gateway.post("/api/v1/recommendations/",
                              json={"seed_items": [f"juke:track:{mesh.tracks[0]}"], "limit": 2})
    assert reply.status_code == 200, reply.text
    assert reply.json()["items"], reply.text
    spans = mesh.exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}

    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1, _describe(roots)
    root = roots[0]
    assert (_service(root), root.kind) == ("juke-gateway", SpanKind.SERVER)
    assert root.name == "POST /api/v1/recommendations/"
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}, _describe(spans)

    client = _one(spans, RANKER_RECOMMEND, SpanKind.CLIENT)
    assert _service(client) == "juke-gateway" and root in _ancestors(client, by_id)
    ranker = _one(spans, RANKER_RECOMMEND, SpanKind.SERVER)
    assert _service(ranker) == "juke-ranker"
    assert ranker.parent is not None and ranker.parent.span_id == client.context.span_id

    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    embedder = [s for s in servers if _service(s) == "juke-embedder"]
    identity = [s for s in servers if _service(s) == "juke-identity"]
    assert embedder, _describe(spans)
    # The ranker asks the embedder for vectors (no artifacts here) inside its own span.
    # The seed is a Juke URI: the gateway sends it on as it is and the ranker finds it in
    # its own catalog snapshot, so identity is not asked at all.
    assert all(ranker in _ancestors(s, by_id) for s in embedder), _describe(spans)
    assert not identity, _describe(spans)

    sql = [s for s in spans if s.attributes and s.attributes.get("db.system") == "postgresql"]
    assert sql, _describe(spans)
    owners = set()
    for statement in sql:
        server = next((a for a in _ancestors(statement, by_id) if a.kind == SpanKind.SERVER),
                      None)
        assert server is not None, f"SQL span {statement.name} outside any server span"
        assert _service(server) == _service(statement)  # each service's own engine
        owners.add(_service(server))
    # The ranker answers from memory (its bundle is reloaded when an activation commits,
    # not per request): SQL under its span only when it first loads a model's table.
    assert "juke-embedder" in owners


def test_the_rankers_outgoing_calls_carry_its_context(mesh: Mesh) -> None:
    """A forced feature refresh: ranker -> identity (stats, the bulk export), governance
    (data sets), all under the ranker's server span."""
    mesh.exporter.clear()
    with service_channel("ranker", mesh.settings, telemetry=mesh.test_telemetry) as channel:
        RankerServiceStub(channel).RefreshFeatures(rpb.RefreshFeaturesRequest())
    spans = mesh.exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    assert len({s.context.trace_id for s in spans}) == 1, _describe(spans)
    ranker = _one(spans, "/juke.ranker.v1.RankerService/RefreshFeatures", SpanKind.SERVER)
    for name in ("/juke.identity.v1.IdentityService/GetCatalogStats",
                 "/juke.identity.v1.IdentityService/ExportCatalog",
                 "/juke.governance.v1.GovernanceService/ListDatasets"):
        called = [s for s in spans if s.name == name and s.kind == SpanKind.SERVER]
        assert called, (name, _describe(spans))
        assert all(ranker in _ancestors(s, by_id) for s in called), name


def test_a_workflow_and_its_activity_share_the_starters_trace() -> None:
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from tests.integration.tracing_workflow import EchoWorkflow, echo

    exporter = InMemorySpanExporter()
    telemetry = setup_telemetry("juke-test", Settings.from_env({}), span_exporter=exporter,
                                install_global=False)
    server = Path(sys.executable).parent / "temporal-test-server"

    async def run() -> str:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(server),
            interceptors=telemetry.temporal_interceptors())
        try:
            queue = f"tracing-{uuid.uuid4().hex[:8]}"
            # No interceptors here: the worker inherits the client's TracingInterceptor.
            async with Worker(env.client, task_queue=queue, workflows=[EchoWorkflow],
                              activities=[echo]):
                with telemetry.tracer().start_as_current_span("client request"):
                    return str(await env.client.execute_workflow(
                        EchoWorkflow.run, "hi", id=f"tracing-{queue}", task_queue=queue))
        finally:
            await env.shutdown()

    assert asyncio.run(run()) == "HI"
    spans = exporter.get_finished_spans()
    telemetry.shutdown()
    by_id = {s.context.span_id: s for s in spans}
    request = _one(spans, "client request", SpanKind.INTERNAL)
    assert {s.context.trace_id for s in spans} == {request.context.trace_id}, _describe(spans)
    start = _one(spans, "StartWorkflow:TracingEchoWorkflow", SpanKind.CLIENT)
    run_ = _one(spans, "RunWorkflow:TracingEchoWorkflow", SpanKind.SERVER)
    schedule = _one(spans, "StartActivity:tracing_echo", SpanKind.CLIENT)
    activity = _one(spans, "RunActivity:tracing_echo", SpanKind.SERVER)
    # Workflow-side spans are instants (replay-safe), so they hang off the context the
    # workflow received, StartWorkflow, rather than off one another.
    for child, parent in ((start, request), (run_, start), (schedule, start),
                          (activity, schedule)):
        assert child.parent is not None and child.parent.span_id == parent.context.span_id, \
            (child.name, _describe(spans))
    assert all(request in _ancestors(s, by_id) for s in (start, run_, schedule, activity))
