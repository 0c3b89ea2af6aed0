"""The ranker's Temporal worker: `python -m services.ranker.worker` (training workflows)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
from temporalio.client import Client
from temporalio.worker import Worker

from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.config import Settings
from services.common.db import Database
from services.common.temporal_worker import run_worker
from services.ranker.activities import TrainingActivities
from services.ranker.interactions import connect
from services.ranker.training import CooccurrenceTrainer
from services.ranker.workflows import CooccurrenceTrainingWorkflow


def build_worker(client: Client, settings: Settings, db: Database,
                 executor: ThreadPoolExecutor) -> Worker:
    targets = settings.service_targets
    source, gate = connect(grpc.insecure_channel(targets["governance"]),
                           grpc.insecure_channel(targets["identity"]))
    acts = TrainingActivities(CooccurrenceTrainer(db, source, gate),
                              RankerServiceStub(grpc.insecure_channel(targets["ranker"])))
    return Worker(client, task_queue=settings.ranker_task_queue,
                  workflows=[CooccurrenceTrainingWorkflow],
                  activities=[acts.train_cooccurrence, acts.activate_cooccurrence],
                  activity_executor=executor, max_concurrent_activities=1)


def main() -> None:
    run_worker("ranker", build_worker)


if __name__ == "__main__":
    main()
