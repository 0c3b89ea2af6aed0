"""Composition helper shared by every service's __main__: settings -> engine -> server."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from services.common.config import Settings
from services.common.db import Database, build_engine
from services.common.grpc_server import ServiceServer
from services.common.internal_auth import server_interceptors
from services.common.telemetry import Telemetry, setup_logging, setup_telemetry

Readiness = Callable[[], None]


def run_service(
    name: str,
    service_names: list[str],
    register: Callable[[grpc.Server, Database, Settings], Readiness | None],
    settings: Settings | None = None,
    vectors: bool = False,
    telemetry: Telemetry | None = None,
) -> None:
    """Read settings once, build the database and server, serve until SIGTERM.

    `register` adds the servicers; it may return an extra readiness check (raising while
    not ready) that must pass, after the database check, before health says SERVING.
    `telemetry`: the process's (set up here unless the caller needs it for `register`).
    """
    settings = settings or Settings.from_env()
    setup_logging(settings.log_level)
    if telemetry is None:
        telemetry = setup_telemetry(f"juke-{name}", settings)
    token_check = server_interceptors(settings)  # a malformed entry stops us before serving
    engine = build_engine(
        settings.require_database_url(), pool_size=settings.db_pool_size,
        application_name=f"juke-{name}", vectors=vectors,
    )
    telemetry.instrument_engine(engine)
    db = Database(engine)
    extra: list[Readiness] = []

    def add_servicers(server: grpc.Server) -> None:
        check = register(server, db, settings)
        if check is not None:
            extra.append(check)

    def ready() -> None:
        db.check(name)
        for check in extra:
            check()

    server = ServiceServer(
        name,
        f"{settings.host}:{settings.service_ports[name]}",
        service_names=service_names,
        register=add_servicers,
        ready_check=ready,
        workers=settings.grpc_workers,
        # Telemetry outermost: refused calls are traced and counted too.
        interceptors=[*telemetry.server_interceptors(), *token_check],
    )
    try:
        server.serve_forever()
    finally:
        engine.dispose()
        telemetry.shutdown()
