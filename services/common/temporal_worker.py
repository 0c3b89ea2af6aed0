"""Running a Temporal worker as a supervised process: health port, signals, clean exit."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from services.common.config import Settings
from services.common.db import Database, build_engine
from services.common.grpc_server import ServiceServer
from services.common.telemetry import Telemetry, setup_logging, setup_telemetry

log = logging.getLogger(__name__)

BuildWorker = Callable[[Client, Settings, Database, ThreadPoolExecutor], Worker]
OnStart = Callable[[Client, Settings], Awaitable[None]]


async def _serve(service: str, settings: Settings, build: BuildWorker,
                 on_start: OnStart | None, telemetry: Telemetry) -> None:
    engine = build_engine(settings.require_database_url(), pool_size=4,
                          application_name=f"juke-{service}-worker")
    telemetry.instrument_engine(engine)
    db = Database(engine)
    # The Worker built on this client inherits its TracingInterceptor (workflow and
    # activity spans in the starter's trace); `build` makes its own gRPC channels, so
    # those are traced process-wide.
    telemetry.instrument_grpc_clients()
    client = await Client.connect(settings.effective_temporal_address,
                                  namespace=settings.temporal_namespace,
                                  interceptors=telemetry.temporal_interceptors())
    # Health on its own port: SERVING once the database answers, so `juke up` can wait on it.
    health = ServiceServer(
        f"{service}-worker", f"{settings.host}:{settings.worker_ports[service]}",
        service_names=[], register=lambda _server: None,
        ready_check=lambda: db.check(service), workers=2)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix=service) as executor:
        worker = build(client, settings, db, executor)
        if on_start is not None:
            await on_start(client, settings)
        health.start()
        async with worker:
            log.info("%s worker polling task queue %r", service, worker.task_queue)
            await stop.wait()
        health.stop(grace=1)
    engine.dispose()


def run_worker(service: str, build: BuildWorker, on_start: OnStart | None = None) -> None:
    """Read settings once, serve until SIGTERM, then exit without interpreter teardown."""
    settings = Settings.from_env()
    setup_logging(settings.log_level)
    telemetry = setup_telemetry(f"juke-{service}-worker", settings)
    status = 0
    try:
        asyncio.run(_serve(service, settings, build, on_start, telemetry))
    except Exception:
        log.exception("%s worker failed", service)
        status = 1
    telemetry.shutdown()  # os._exit below skips the providers' atexit flush
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # temporalio/sdk-python#300: a process using temporalio can abort at exit
