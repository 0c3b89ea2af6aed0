"""gRPC stand-ins for tests: a service that accepts connections but never answers, an
address where nothing listens, and a ServiceServer of raw-bytes methods."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc

from services.common.grpc_server import ServiceServer
from tests.conftest import free_port

Handler = Callable[[Any, grpc.ServicerContext], Any]


@contextmanager
def stalled_target() -> Iterator[str]:
    """A loopback port whose kernel completes TCP handshakes that nobody ever answers: a
    service hung before its first byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def down_target() -> str:
    """A loopback address where nothing listens (connections are refused)."""
    return f"127.0.0.1:{free_port()}"


@contextmanager
def serving(service: str, handlers: dict[str, Handler], *, name: str = "fake",
            port: int | None = None, interceptors: Iterable[grpc.ServerInterceptor] = (),
            request_deserializer: Callable[[bytes], Any] | None = None,
            response_serializer: Callable[[Any], bytes] | None = None) -> Iterator[str]:
    """A ServiceServer (health, reflection, ErrorInterceptor) answering `handlers`' methods
    of `service`; yields its target."""
    generic = grpc.method_handlers_generic_handler(service, {
        method: grpc.unary_unary_rpc_method_handler(
            handler, request_deserializer=request_deserializer,
            response_serializer=response_serializer)
        for method, handler in handlers.items()})
    server = ServiceServer(name, f"127.0.0.1:{port or free_port()}", service_names=[service],
                           register=lambda s: s.add_generic_rpc_handlers((generic,)),
                           ready_check=lambda: None, workers=4, interceptors=interceptors)
    server.start()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop(grace=0)
