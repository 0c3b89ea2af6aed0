"""The ranker's Temporal worker: `python -m services.ranker.worker` (training workflows)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1.playlist_scoring_pb2_grpc import PlaylistScoringServiceStub
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.config import Settings
from services.common.db import Database
from services.common.grpc_client import service_channel
from services.common.temporal_worker import run_worker
from services.ranker.evaluation.content import ContentEvaluator
from services.ranker.evaluation.content_mesh import MeshContentCorpus
from services.ranker.evaluation.data import from_mesh
from services.ranker.evaluation.promotion import HarnessEvaluator
from services.ranker.registry.service import ModelRegistry
from services.ranker.store.playlist_scoring import playlist_ids_after
from services.ranker.training.cf import CfTrainer
from services.ranker.training.cooccurrence import CooccurrenceTrainer, PmiEngine
from services.ranker.training.interactions import CatalogLabels, connect
from services.ranker.training.safeguards import Minimums, Safeguards
from services.ranker.workflows.activities import CfActivities, TrainingActivities
from services.ranker.workflows.cf import CfTrainingWorkflow
from services.ranker.workflows.cooccurrence import CooccurrenceTrainingWorkflow
from services.ranker.workflows.nightly import NightlyRetrainWorkflow
from services.ranker.workflows.playlist_profile_activities import (
    PlaylistProfileActivities,
    ProfileBackfillStarter,
)
from services.ranker.workflows.playlist_profiles import PlaylistProfileBackfillWorkflow
from services.ranker.workflows.promotion import PromotionWorkflow
from services.ranker.workflows.promotion_activities import (
    PromotionActivities,
    RegistryActivities,
)
from services.ranker.workflows.schedule import ensure_nightly_retraining


def heartbeat() -> None:
    """Within an activity, tell Temporal it progresses (outside one, nothing to tell)."""
    if activity.in_activity():
        activity.heartbeat()


def build_worker(client: Client, settings: Settings, db: Database,
                 executor: ThreadPoolExecutor) -> Worker:
    # Activities run for minutes under Temporal's own timeouts: the long deadline.
    identity = service_channel("identity", settings, long_running=True)
    governance = service_channel("governance", settings, long_running=True)
    ranker = RankerServiceStub(service_channel("ranker", settings, long_running=True))
    embedder = EmbedderServiceStub(service_channel("embedder", settings, long_running=True))
    source, gate = connect(governance, identity, db)
    safeguards = Safeguards(Minimums(
        settings.training_min_users, settings.training_min_items,
        settings.training_min_interactions, settings.training_diversity_floor),
        CatalogLabels(IdentityServiceStub(identity)))
    training = TrainingActivities(
        CooccurrenceTrainer(db, source, gate, PmiEngine.from_settings(settings), safeguards),
        ranker)
    content = ContentEvaluator(db, MeshContentCorpus(
        GovernanceServiceStub(governance), IdentityServiceStub(identity), embedder,
        on_progress=lambda _: heartbeat()))
    evaluator = HarnessEvaluator(db, lambda: from_mesh(identity, governance), content=content,
                                 on_progress=heartbeat)
    promotion = PromotionActivities(evaluator, ranker, embedder, GovernanceServiceStub(governance))
    models = RegistryActivities(ModelRegistry(db, settings.environment),
                                settings.promotion_approver)
    cf = CfActivities(CfTrainer(db, source, gate, PmiEngine.from_settings(settings),
                                safeguards), ranker)
    profiles = PlaylistProfileActivities(
        partial(playlist_ids_after, db), PlaylistScoringServiceStub(
            service_channel("ranker", settings, long_running=True)))
    return Worker(client, task_queue=settings.ranker_task_queue,
                  workflows=[CooccurrenceTrainingWorkflow, PromotionWorkflow, CfTrainingWorkflow,
                             NightlyRetrainWorkflow, PlaylistProfileBackfillWorkflow],
                  activities=[profiles.next_playlists, profiles.build_playlist_profiles,
                              ProfileBackfillStarter(client, settings.ranker_task_queue)
                              .start_playlist_profile_backfill,
                              training.train_cooccurrence, training.activate_cooccurrence,
                              cf.train_cf, cf.activate_cf,
                              promotion.evaluate_for_promotion,
                              promotion.check_candidate_training_set,
                              models.record_promotion_event, models.activate_promoted_model],
                  activity_executor=executor, max_concurrent_activities=1)


async def _on_start(client: Client, settings: Settings) -> None:
    await ensure_nightly_retraining(client, settings)


def main() -> None:
    run_worker("ranker", build_worker, _on_start)


if __name__ == "__main__":
    main()
