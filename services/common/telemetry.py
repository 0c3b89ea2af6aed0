"""Telemetry: the one place that sets up OpenTelemetry traces and metrics for a process.

Each composition root calls `setup_telemetry(service_name, settings)` once and uses the
returned `Telemetry` to instrument what it builds: gRPC servers (`server_interceptors`),
outgoing gRPC channels (`traced`, `aio_client_interceptors`, applied by
services/common/grpc_client, which makes every channel), the SQLAlchemy engine
(`instrument_engine`), the FastAPI app (`instrument_app`) and Temporal clients
(`temporal_interceptors`; workers built on such a client inherit it). Trace context travels
in W3C `traceparent` headers (gRPC metadata, HTTP) and in Temporal headers, so one client
request is one trace across gateway -> services -> SQL -> workflow -> activities.

What is exported:

- `OTEL_EXPORTER_OTLP_ENDPOINT` set: spans and metrics go over OTLP/gRPC to that endpoint
  (the exporter reads the other standard `OTEL_EXPORTER_OTLP_*` variables itself; sampling
  follows `OTEL_TRACES_SAMPLER`, default parent-based always-on).
- `JUKE_TELEMETRY_CONSOLE=1`: spans are also printed to stdout.
- neither: telemetry is off. Off means nothing is installed at all: no interceptor, no
  engine hook, no middleware, plain channels, no Temporal interceptor, so the request path
  runs no OpenTelemetry code (and a process with telemetry off does not forward trace
  context either: turn it on for every component or none).

Tests inject `span_exporter` (an InMemorySpanExporter, exported synchronously) and/or
`metric_reader` (an InMemoryMetricReader) and pass `install_global=False` so that several
in-process "services" can each have their own providers. Nothing is configured at import.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry import metrics, trace
from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from services.common.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine
    from temporalio.client import Interceptor

log = logging.getLogger(__name__)

RPC_DURATION = "juke.rpc.server.duration"
RPC_REQUESTS = "juke.rpc.server.requests"
HTTP_DURATION = "juke.http.server.duration"
HTTP_REQUESTS = "juke.http.server.requests"
# Milliseconds: from a cached lookup to a cold recommendation over the whole mesh.
DURATION_BUCKETS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
                       5000.0, 10000.0, 30000.0)
INSTRUMENTATION = "juke"


@contextmanager
def untraced() -> Iterator[None]:
    """Housekeeping a process does on its own every second or so (polling for changes) is
    no request anyone made: it makes no traces, which would bury the requests' traces."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@dataclass(frozen=True)
class Telemetry:
    """A process's providers (None when that signal is off) and the instrumentation helpers."""

    service_name: str
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None

    @property
    def tracing(self) -> bool:
        return self.tracer_provider is not None

    @property
    def metrics(self) -> bool:
        return self.meter_provider is not None

    @property
    def enabled(self) -> bool:
        return self.tracing or self.metrics

    def tracer(self, name: str = INSTRUMENTATION) -> trace.Tracer:
        return trace.get_tracer(name, tracer_provider=self.tracer_provider or
                                trace.NoOpTracerProvider())

    def meter(self, name: str = INSTRUMENTATION) -> Meter:
        return metrics.get_meter(name, meter_provider=self.meter_provider or
                                 metrics.NoOpMeterProvider())

    # -- gRPC ------------------------------------------------------------------------------

    def server_interceptors(self) -> list[grpc.ServerInterceptor]:
        """Tracing (outermost: it sees the final status) and per-RPC metrics, for
        ServiceServer(interceptors=...). Health and reflection calls are not traced."""
        interceptors: list[grpc.ServerInterceptor] = []
        if self.tracer_provider is not None:
            from opentelemetry.instrumentation.grpc import filters, server_interceptor

            interceptors.append(server_interceptor(
                tracer_provider=self.tracer_provider,
                filter_=filters.negate(filters.service_prefix("grpc."))))
        if self.meter_provider is not None:
            interceptors.append(RpcMetricsInterceptor(self.meter()))
        return interceptors

    def traced(self, channel: grpc.Channel) -> grpc.Channel:
        """`channel` with client spans carrying the current trace context (as it is, when
        tracing is off or every channel of the process is already traced)."""
        if self.tracer_provider is None or _grpc_clients_instrumented():
            return channel
        from opentelemetry.instrumentation.grpc import client_interceptor
        from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

        intercepted: grpc.Channel = intercept_channel(
            channel, client_interceptor(tracer_provider=self.tracer_provider))
        return intercepted

    def aio_client_interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        """The asyncio counterpart of `traced` (the gateway's channels)."""
        if self.tracer_provider is None:
            return []
        from opentelemetry.instrumentation.grpc import aio_client_interceptors

        return list(aio_client_interceptors(tracer_provider=self.tracer_provider))

    def instrument_grpc_clients(self) -> None:
        """Trace every channel this process makes with grpc.insecure_channel/secure_channel:
        for processes whose channels are built where no Telemetry is at hand (the Temporal
        workers' activity dependencies). Process-wide; once per process."""
        if self.tracer_provider is None or _grpc_clients_instrumented():
            return
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient

        GrpcInstrumentorClient().instrument(tracer_provider=self.tracer_provider)

    # -- SQL, HTTP, Temporal ---------------------------------------------------------------

    def instrument_engine(self, engine: Engine) -> None:
        """A span per SQL statement (child of the current span) and pool usage metrics.

        Uses the instrumentation's EngineTracer for this one engine rather than
        SQLAlchemyInstrumentor().instrument(engine=...): the instrumentor is a process-wide
        singleton (a second call is ignored, so a second engine or provider, as in tests,
        would go untraced) and it also patches create_engine globally."""
        if self.tracer_provider is None:
            return
        from opentelemetry.instrumentation.sqlalchemy import __version__ as version
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", version,
                                  tracer_provider=self.tracer_provider)
        usage = self.meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter(
            "db.client.connections.usage", unit="connections",
            description="Connections in the state named by the state attribute.")
        EngineTracer(tracer, engine, usage)

    def instrument_app(self, app: FastAPI) -> None:
        """A server span per request (the root of a client request's trace) and
        `juke.http.server.*` metrics per route. Call before the app serves."""
        if self.meter_provider is not None:
            app.add_middleware(HttpMetricsMiddleware, meter=self.meter())  # type: ignore[arg-type]
        if self.tracer_provider is not None:
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

            FastAPIInstrumentor.instrument_app(
                app, tracer_provider=self.tracer_provider, meter_provider=self.meter_provider,
                excluded_urls="/healthz", exclude_spans=["receive", "send"])

    def temporal_interceptors(self) -> list[Interceptor]:
        """For Client.connect(interceptors=...): StartWorkflow/... spans on the client side,
        and, for a Worker built on that client, RunWorkflow/StartActivity/RunActivity spans
        parented by the client's trace (Temporal headers carry the context)."""
        if self.tracer_provider is None:
            return []
        from temporalio.contrib.opentelemetry import TracingInterceptor

        return [TracingInterceptor(self.tracer("temporalio"))]

    def shutdown(self, timeout_s: float = 3.0) -> None:
        """Flush and stop the exporters; call before a process leaves via os._exit.

        Bounded: an unreachable collector would otherwise hold a stopping process for the
        exporters' retries (about 15 s), past `juke down`'s grace."""
        providers = [p for p in (self.tracer_provider, self.meter_provider) if p is not None]
        if not providers:
            return
        flush = threading.Thread(target=lambda: [p.shutdown() for p in providers],
                                 name="telemetry-shutdown", daemon=True)
        flush.start()
        flush.join(timeout_s)
        if flush.is_alive():
            log.warning("telemetry of %s not exported within %.0fs; dropped",
                        self.service_name, timeout_s)


DISABLED = Telemetry("juke")


def setup_telemetry(
    service_name: str,
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
    install_global: bool = True,
) -> Telemetry:
    """Build the process's providers from the environment (see the module doc).

    `install_global` also makes them OpenTelemetry's global providers, for code that uses
    trace.get_tracer()/metrics.get_meter() directly."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    resource = Resource.create({"service.name": service_name})

    span_processors: list[Any] = []
    if span_exporter is not None:
        span_processors.append(SimpleSpanProcessor(span_exporter))
    if settings.telemetry_console:
        span_processors.append(BatchSpanProcessor(ConsoleSpanExporter()))
    readers: list[MetricReader] = [] if metric_reader is None else [metric_reader]
    if endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.error("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed")
        else:
            span_processors.append(BatchSpanProcessor(OTLPSpanExporter()))
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))

    tracer_provider = None
    if span_processors:
        # No atexit hooks: every composition root calls Telemetry.shutdown (several leave
        # through os._exit, which skips them anyway).
        tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        for processor in span_processors:
            tracer_provider.add_span_processor(processor)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers,
                                   shutdown_on_exit=False) if readers else None
    telemetry = Telemetry(service_name, tracer_provider, meter_provider)
    if install_global:
        if tracer_provider is not None:
            trace.set_tracer_provider(tracer_provider)
        if meter_provider is not None:
            metrics.set_meter_provider(meter_provider)
    if telemetry.enabled:
        log.info("telemetry for %s: traces %s, metrics %s%s", service_name,
                 "on" if telemetry.tracing else "off", "on" if telemetry.metrics else "off",
                 f" (OTLP {endpoint})" if endpoint else "")
    return telemetry


def _grpc_clients_instrumented() -> bool:
    """True once GrpcInstrumentorClient patched grpc.insecure_channel (no second span)."""
    from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient

    return bool(GrpcInstrumentorClient().is_instrumented_by_opentelemetry)


def _duration_instruments(meter: Meter, duration: str, requests: str,
                          what: str) -> tuple[Histogram, Counter]:
    return (meter.create_histogram(duration, unit="ms", description=f"{what} latency",
                                   explicit_bucket_boundaries_advisory=DURATION_BUCKETS_MS),
            meter.create_counter(requests, unit="{request}", description=f"{what}s handled"))


class RpcMetricsInterceptor(grpc.ServerInterceptor):
    """`juke.rpc.server.duration` (ms) and `juke.rpc.server.requests` per unary RPC, with
    rpc.service, rpc.method and rpc.grpc.status_code (the final status, so it must sit
    outside ErrorInterceptor, which turns domain errors into statuses)."""

    def __init__(self, meter: Meter) -> None:
        self._duration, self._requests = _duration_instruments(
            meter, RPC_DURATION, RPC_REQUESTS, "gRPC server call")

    def intercept_service(self, continuation: Callable[..., Any],
                          handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        service, _, method = handler_call_details.method.lstrip("/").partition("/")
        inner = handler.unary_unary

        def measured(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            failed = False
            try:
                return inner(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                attributes = {"rpc.system": "grpc", "rpc.service": service,
                              "rpc.method": method,
                              "rpc.grpc.status_code": _status_code(context, failed)}
                self._duration.record((time.perf_counter() - started) * 1000, attributes)
                self._requests.add(1, attributes)

        return grpc.unary_unary_rpc_method_handler(
            measured,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _status_code(context: grpc.ServicerContext, failed: bool) -> int:
    try:
        code = context.code()  # set by abort()/set_code(); None when the handler left it
    except (AttributeError, NotImplementedError, RuntimeError):
        code = None
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
    return int(code.value[0])


class HttpMetricsMiddleware:
    """ASGI middleware: `juke.http.server.duration` (ms) and `juke.http.server.requests` per
    route template (never the raw path), method and response status."""

    def __init__(self, app: Any, meter: Meter) -> None:
        self.app = app
        self._duration, self._requests = _duration_instruments(
            meter, HTTP_DURATION, HTTP_REQUESTS, "HTTP request")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            attributes = {"http.request.method": scope.get("method", ""), "http.route": route,
                          "http.response.status_code": status[0]}
            self._duration.record((time.perf_counter() - started) * 1000, attributes)
            self._requests.add(1, attributes)

