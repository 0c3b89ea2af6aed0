"""The embedder's Temporal worker: `python -m services.embedder.worker`.

Runs the backfill workflow and its activities on the embedder task queue, and answers gRPC
health so `juke up` can supervise it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.config import Settings
from services.common.db import Database
from services.common.grpc_client import service_channel
from services.common.temporal_worker import run_worker
from services.embedder.__main__ import build_service
from services.embedder.activities import BackfillActivities
from services.embedder.identity_tags import IdentityTagSink
from services.embedder.promotion_activities import EmbeddingRegistryActivities
from services.embedder.schedule import ensure_nightly_schedule
from services.embedder.workflows import EmbeddingBackfillWorkflow


def build_worker(client: Client, settings: Settings, db: Database,
                 executor: ThreadPoolExecutor) -> Worker:
    governance = GovernanceServiceStub(
        service_channel("governance", settings, long_running=True))
    identity = IdentityServiceStub(service_channel("identity", settings, long_running=True))
    service = build_service(db, settings, tag_sink=IdentityTagSink(identity))
    acts = BackfillActivities(service, governance, identity, settings.corpus_dir)
    models = EmbeddingRegistryActivities(service, settings.promotion_approver)
    return Worker(
        client, task_queue=settings.embed_task_queue,
        workflows=[EmbeddingBackfillWorkflow],
        activities=[acts.resolve_model, acts.next_batch, acts.embed_batch, acts.finish_backfill,
                    models.record_promotion_event, models.activate_promoted_model],
        activity_executor=executor,
        # Two cores: one embedding at a time keeps NumPy's BLAS threads from fighting.
        max_concurrent_activities=1,
    )


async def _on_start(client: Client, settings: Settings) -> None:
    await ensure_nightly_schedule(client, settings.embed_task_queue)


def main() -> None:
    run_worker("embedder", build_worker, _on_start)


if __name__ == "__main__":
    main()
