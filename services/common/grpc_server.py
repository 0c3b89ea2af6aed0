"""One way to run a gRPC service: health + reflection + error mapping + graceful shutdown."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.dependency_errors import (
    DEPENDENCY_FIELD,
    unavailable_dependency,
    unavailable_message,
)
from services.common.errors import JukeError, Unavailable, error_fields_to_metadata
from services.common.grpc_client import serving_deadline
from services.common.nul_text import find_nul_text

log = logging.getLogger(__name__)


class ErrorInterceptor(grpc.ServerInterceptor):
    """Turn domain errors into their gRPC status; a dependency that is down into this
    service's UNAVAILABLE naming it; log and hide anything unexpected. Outgoing calls made
    while serving keep within the caller's deadline (grpc_client.serving_deadline)."""

    def __init__(self, service: str) -> None:
        self._service = service

    def intercept_service(self, continuation: Callable[..., Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return handler
        if handler.unary_stream is not None:
            return self._streaming(handler, handler_call_details.method)
        if handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        inner = handler.unary_unary

        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                with serving_deadline(context.time_remaining()):
                    return inner(request, context)
            except Exception as err:
                self._fail(context, err, request, method)

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _streaming(self, handler: Any, method: str) -> Any:
        """A server stream: the same statuses for what fails while it is produced."""
        inner = handler.unary_stream

        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                yield from inner(request, context)
            except Exception as err:
                self._fail(context, err, request, method)

        return grpc.unary_stream_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _fail(self, context: grpc.ServicerContext, err: Exception, request: Any,
              method: str) -> None:
        if isinstance(err, JukeError):
            _abort(context, self._own(err))
        unavailable = unavailable_dependency(err)
        if unavailable is not None:
            _abort(context, unavailable)
        nul = find_nul_text(request)
        if nul is not None:  # the caller's text the database cannot hold, not our bug
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{nul[0]} {nul[1]!r}: text may not contain NUL (\\x00) "
                          "characters")
        log.exception("unhandled error in %s", method, exc_info=err)
        context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}")

    def _own(self, err: JukeError) -> JukeError:
        """This service's own UNAVAILABLE (not ready yet) names it, like a dependency's."""
        if not isinstance(err, Unavailable) or DEPENDENCY_FIELD in err.fields:
            return err
        return Unavailable(f"{unavailable_message(self._service)}: {err.message}",
                           **{**err.fields, DEPENDENCY_FIELD: self._service})


def _abort(context: grpc.ServicerContext, err: JukeError) -> None:
    if err.fields:
        context.set_trailing_metadata(error_fields_to_metadata(err.fields))
    context.abort(err.code, err.message)


class ServiceServer:
    """A gRPC server that reports SERVING only once its readiness check passes."""

    def __init__(
        self,
        name: str,
        address: str,
        *,
        service_names: Iterable[str],
        register: Callable[[grpc.Server], None],
        ready_check: Callable[[], None],
        workers: int = 16,
        interceptors: Iterable[grpc.ServerInterceptor] = (),
    ) -> None:
        self.name = name
        self.address = address
        self._ready_check = ready_check
        self._service_names = list(service_names)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name),
            # Extra interceptors (telemetry, internal auth) wrap ErrorInterceptor so they see
            # final statuses.
            interceptors=[*interceptors, ErrorInterceptor(name)],
            # Without this, gRPC's SO_REUSEPORT lets a second server silently share the port.
            options=[("grpc.so_reuseport", 0)],
        )
        self._health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        register(self._server)
        reflection.enable_server_reflection(
            [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self._server
        )
        self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"{name}: cannot bind {address}")
        self._stopped = threading.Event()

    def _set_status(self, status: int) -> None:
        for service in ["", *self._service_names]:
            self._health.set(service, status)

    def _wait_until_ready(self, interval: float = 0.5) -> None:
        while not self._stopped.is_set():
            try:
                self._ready_check()
            except Exception as err:  # the database may still be starting
                log.warning("%s not ready: %s", self.name, err)
                self._set_status(health_pb2.HealthCheckResponse.NOT_SERVING)
                self._stopped.wait(interval)
                continue
            self._set_status(health_pb2.HealthCheckResponse.SERVING)
            log.info("%s SERVING on %s", self.name, self.address)
            return

    def start(self) -> None:
        self._set_status(health_pb2.HealthCheckResponse.NOT_SERVING)
        self._server.start()
        threading.Thread(target=self._wait_until_ready, daemon=True).start()

    def stop(self, grace: float = 5.0) -> None:
        self._stopped.set()
        self._health.enter_graceful_shutdown()
        self._server.stop(grace).wait()

    def serve_forever(self, grace: float = 5.0) -> None:
        """Block until SIGTERM/SIGINT, then drain in-flight calls for up to `grace` seconds."""
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.start()
        while not stop.wait(1.0):
            pass
        started = time.monotonic()
        self.stop(grace)
        log.info("%s stopped in %.2fs", self.name, time.monotonic() - started)
