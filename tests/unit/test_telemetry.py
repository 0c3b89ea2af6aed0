"""services.common.telemetry without a database: off by default, per-RPC and per-route
metrics recorded with an in-memory reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common.config import Settings
from services.common.errors import NotFound
from services.common.grpc_server import ServiceServer
from services.common.telemetry import (
    HTTP_DURATION,
    HTTP_REQUESTS,
    RPC_DURATION,
    RPC_REQUESTS,
    setup_telemetry,
)
from tests.conftest import free_port

SERVICE = "juke.test.v1.EchoService"


@pytest.fixture
def no_otlp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)


def _points(reader: InMemoryMetricReader, name: str) -> dict[tuple[Any, ...], Any]:
    """{sorted attribute items: data point} of one metric."""
    data = reader.get_metrics_data()
    assert data is not None
    return {tuple(sorted((p.attributes or {}).items())): p
            for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
            if m.name == name for p in m.data.data_points}


def test_off_by_default_installs_nothing(no_otlp: None) -> None:
    telemetry = setup_telemetry("juke-test", Settings.from_env({}), install_global=False)
    assert not telemetry.enabled
    assert telemetry.server_interceptors() == []
    assert telemetry.temporal_interceptors() == []
    channel = grpc.insecure_channel("127.0.0.1:1")
    assert telemetry.traced(channel) is channel  # not intercepted
    assert telemetry.aio_client_interceptors() == []
    channel.close()
    app = FastAPI()
    telemetry.instrument_app(app)
    assert app.user_middleware == []


def test_console_flag_turns_tracing_on(no_otlp: None) -> None:
    settings = Settings.from_env({"JUKE_TELEMETRY_CONSOLE": "1"})
    telemetry = setup_telemetry("juke-test", settings, install_global=False)
    try:
        assert telemetry.tracing and not telemetry.metrics
        assert len(telemetry.temporal_interceptors()) == 1
    finally:
        telemetry.shutdown()


@pytest.fixture
def metered() -> Iterator[tuple[InMemoryMetricReader, InMemorySpanExporter, grpc.Channel]]:
    """A ServiceServer with an Ok and a Fail (NotFound) method, metrics on, tracing on."""
    reader, exporter = InMemoryMetricReader(), InMemorySpanExporter()
    telemetry = setup_telemetry("juke-test", Settings.from_env({}), metric_reader=reader,
                                span_exporter=exporter, install_global=False)

    def ok(request: bytes, context: grpc.ServicerContext) -> bytes:
        return request

    def fail(request: bytes, context: grpc.ServicerContext) -> bytes:
        raise NotFound("no such echo")

    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Ok": grpc.unary_unary_rpc_method_handler(ok),
        "Fail": grpc.unary_unary_rpc_method_handler(fail)})
    server = ServiceServer("echo", f"127.0.0.1:{free_port()}", service_names=[SERVICE],
                           register=lambda s: s.add_generic_rpc_handlers((handler,)),
                           ready_check=lambda: None, workers=2,
                           interceptors=telemetry.server_interceptors())
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield reader, exporter, channel
    finally:
        channel.close()
        server.stop(grace=0)
        telemetry.shutdown()


def test_rpc_duration_and_count_per_method_and_status(
    metered: tuple[InMemoryMetricReader, InMemorySpanExporter, grpc.Channel]
) -> None:
    reader, exporter, channel = metered
    call_ok = channel.unary_unary(f"/{SERVICE}/Ok")
    call_fail = channel.unary_unary(f"/{SERVICE}/Fail")
    assert call_ok(b"a") == b"a" and call_ok(b"b") == b"b"
    with pytest.raises(grpc.RpcError) as err:
        call_fail(b"c")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND  # ErrorInterceptor still maps it

    def key(method: str, code: grpc.StatusCode) -> tuple[Any, ...]:
        return tuple(sorted({"rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": method,
                             "rpc.grpc.status_code": code.value[0]}.items()))

    durations = _points(reader, RPC_DURATION)
    assert durations[key("Ok", grpc.StatusCode.OK)].count == 2
    assert durations[key("Fail", grpc.StatusCode.NOT_FOUND)].count == 1
    assert all(p.sum >= 0 for p in durations.values())
    requests = _points(reader, RPC_REQUESTS)
    assert requests[key("Ok", grpc.StatusCode.OK)].value == 2
    assert requests[key("Fail", grpc.StatusCode.NOT_FOUND)].value == 1
    # The server span sits outside ErrorInterceptor too: it carries the mapped status.
    codes = {s.name: (s.attributes or {})["rpc.grpc.status_code"]
             for s in exporter.get_finished_spans()}
    assert codes == {f"/{SERVICE}/Ok": 0, f"/{SERVICE}/Fail": 5}


def test_http_metrics_per_route_template() -> None:
    reader = InMemoryMetricReader()
    telemetry = setup_telemetry("juke-test", Settings.from_env({}), metric_reader=reader,
                                install_global=False)
    assert telemetry.metrics and not telemetry.tracing
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    telemetry.instrument_app(app)
    with TestClient(app) as client:
        assert client.get("/items/1").status_code == 200
        assert client.get("/items/2").status_code == 200
        assert client.get("/nowhere").status_code == 404
    durations = _points(reader, HTTP_DURATION)
    by_route = {dict(k)["http.route"]: (dict(k)["http.response.status_code"], p.count)
                for k, p in durations.items()}
    assert by_route == {"/items/{item_id}": (200, 2), "unmatched": (404, 1)}
    requests = _points(reader, HTTP_REQUESTS)
    assert sorted(p.value for p in requests.values()) == [1, 2]
    telemetry.shutdown()
