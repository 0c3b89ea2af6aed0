"""The embedder's Temporal worker: `python -m services.embedder.worker`.

Runs the backfill workflow and its activities on the embedder task queue, and answers gRPC
health (SERVING once its database and Temporal are reachable) so `juke up` can supervise it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc
from temporalio.client import Client
from temporalio.worker import Worker

from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.config import Settings
from services.common.db import Database, build_engine
from services.common.grpc_server import ServiceServer
from services.common.telemetry import setup_logging
from services.embedder.__main__ import build_service
from services.embedder.activities import BackfillActivities
from services.embedder.schedule import ensure_nightly_schedule
from services.embedder.workflows import EmbeddingBackfillWorkflow

log = logging.getLogger(__name__)


def build_worker(client: Client, settings: Settings, db: Database,
                 executor: ThreadPoolExecutor) -> Worker:
    governance = GovernanceServiceStub(
        grpc.insecure_channel(settings.service_targets["governance"]))
    identity = IdentityServiceStub(grpc.insecure_channel(settings.service_targets["identity"]))
    acts = BackfillActivities(build_service(db, settings), governance, identity,
                              settings.corpus_dir)
    return Worker(
        client, task_queue=settings.embed_task_queue,
        workflows=[EmbeddingBackfillWorkflow],
        activities=[acts.resolve_model, acts.next_batch, acts.embed_batch, acts.finish_backfill],
        activity_executor=executor,
        # Two cores: one embedding at a time keeps NumPy's BLAS threads from fighting.
        max_concurrent_activities=1,
    )


async def serve(settings: Settings) -> None:
    engine = build_engine(settings.require_database_url(), pool_size=4,
                          application_name="juke-embedder-worker")
    db = Database(engine)
    client = await Client.connect(settings.effective_temporal_address,
                                  namespace=settings.temporal_namespace)
    health = ServiceServer(
        "embedder-worker", f"{settings.host}:{settings.worker_ports['embedder']}",
        service_names=[], register=lambda _server: None,
        ready_check=lambda: db.check("embedder"), workers=2)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="embed") as executor:
        worker = build_worker(client, settings, db, executor)
        await ensure_nightly_schedule(client, settings.embed_task_queue)
        health.start()
        async with worker:
            log.info("embedder worker polling task queue %r", settings.embed_task_queue)
            await stop.wait()
        health.stop(grace=1)
    engine.dispose()


def main() -> None:
    settings = Settings.from_env()
    setup_logging(settings.log_level)
    status = 0
    try:
        asyncio.run(serve(settings))
    except Exception:
        log.exception("embedder worker failed")
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # temporalio/sdk-python#300: skip interpreter teardown


if __name__ == "__main__":
    main()
