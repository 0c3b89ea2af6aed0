"""Nightly retraining: the scheduled run trains a candidate and leaves its promotion waiting
for the owner's approval (time-skipping test server, recording activities); the schedules
themselves on the Temporal dev server."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.config import Settings
from services.common.promotion_contracts import (
    ACTIVATE_PROMOTED,
    RECORD_EVENT,
    PromotedActivationResult,
    PromotionEvent,
)
from services.ranker.workflows.cf import CfTrainingWorkflow
from services.ranker.workflows.nightly import REQUESTED_BY, NightlyRetrainWorkflow
from services.ranker.workflows.nightly_contracts import (
    NIGHTLY_CRON,
    NIGHTLY_KINDS,
    NIGHTLY_WORKFLOW,
    NightlyRetrainInput,
    NightlyRetrainResult,
    schedule_id,
)
from services.ranker.workflows.promotion import PromotionWorkflow
from services.ranker.workflows.promotion_contracts import (
    CandidateRef,
    EvaluateInput,
    EvaluationPair,
    PromotionInput,
    TrainingSetVerdict,
)
from services.ranker.workflows.schedule import ensure_nightly_retraining
from services.ranker.workflows.training_contracts import TrainCfInput, TrainCfResult

pytestmark = pytest.mark.integration
OWNER = "project-owner"
METRICS = {"ndcg@10": 0.2, "recall@10": 0.2, "coverage": 0.5}


@dataclass
class Mesh:
    """Recording doubles of the trainer and of the promotion's activities."""

    refuse_training: str = ""
    reused: bool = False
    model_id: str = field(default_factory=lambda: f"cf-{uuid.uuid4().hex[:8]}")
    logged: list[str] = field(default_factory=list)
    trained: list[TrainCfInput] = field(default_factory=list)

    @activity.defn(name="train_cf")
    async def train_cf(self, params: TrainCfInput) -> TrainCfResult:
        self.trained.append(params)
        if self.refuse_training:
            raise ApplicationError(self.refuse_training, non_retryable=True)
        return TrainCfResult(self.model_id, "v1", 9, 12, "h" * 64, True, 0.1, self.reused,
                             interactions=96, diversity=2,
                             warnings=["low diversity: 2 distinct genres or tags"])

    @activity.defn(name="evaluate_for_promotion")
    async def evaluate(self, params: EvaluateInput) -> EvaluationPair:
        return EvaluationPair("hash", METRICS, {}, "")

    @activity.defn(name="check_candidate_training_set")
    async def check(self, ref: CandidateRef) -> TrainingSetVerdict:
        return TrainingSetVerdict(True, "allowed")

    @activity.defn(name=RECORD_EVENT)
    async def record(self, step: PromotionEvent) -> None:
        self.logged.append(f"{step.event}:{step.requested_by}")

    @activity.defn(name=ACTIVATE_PROMOTED)
    async def activate(self, step: PromotionEvent) -> PromotedActivationResult:
        self.logged.append("activated")
        return PromotedActivationResult("")


@pytest.fixture(scope="module")
def env() -> Iterator[WorkflowEnvironment]:
    loop = asyncio.new_event_loop()
    server = Path(sys.executable).parent / "temporal-test-server"
    environment = loop.run_until_complete(
        WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server)))
    environment.loop = loop  # type: ignore[attr-defined]
    yield environment
    loop.run_until_complete(environment.shutdown())
    loop.close()


def _nightly(env: WorkflowEnvironment, mesh: Mesh
             ) -> tuple[NightlyRetrainResult, str, PromotionInput | None]:
    """Runs the nightly workflow; (its result, the promotion's status afterwards, the input
    the promotion was started with)."""
    async def go() -> tuple[NightlyRetrainResult, str, PromotionInput | None]:
        queue = f"nightly-{uuid.uuid4().hex[:8]}"
        async with Worker(env.client, task_queue=queue,
                          workflows=[NightlyRetrainWorkflow, CfTrainingWorkflow,
                                     PromotionWorkflow],
                          activities=[mesh.train_cf, mesh.evaluate, mesh.check, mesh.record,
                                      mesh.activate]):
            result = await env.client.execute_workflow(
                NIGHTLY_WORKFLOW, NightlyRetrainInput("cf", approver=OWNER,
                                                      approval_timeout_s=3600),
                id=f"test-nightly-{queue}", task_queue=queue, result_type=NightlyRetrainResult)
            if result.status != "promotion_started":  # nothing of this run's waits
                return result, "", None
            promotion = env.client.get_workflow_handle(result.promotion_id)
            for _ in range(100):
                status = await promotion.query("status", result_type=str)
                if status == "awaiting_approval":
                    break
                await asyncio.sleep(0.05)
            history = await promotion.fetch_history()
            started = history.events[0].workflow_execution_started_event_attributes
            [params] = await env.client.data_converter.decode(started.input.payloads,
                                                              [PromotionInput])
            return result, status, params

    return env.loop.run_until_complete(go())  # type: ignore[attr-defined, no-any-return]


def test_the_scheduled_run_leaves_a_promotion_waiting_for_approval(
        env: WorkflowEnvironment) -> None:
    mesh = Mesh()
    result, status, _ = _nightly(env, mesh)
    assert result.status == "promotion_started" and result.model_id == mesh.model_id
    assert result.promotion_id == f"promotion-cf-{mesh.model_id}"
    assert result.warnings == ["low diversity: 2 distinct genres or tags"]
    assert status == "awaiting_approval"  # outlives the nightly run, which has ended
    assert mesh.trained == [TrainCfInput(dataset="juke-events")]  # never activates itself
    assert mesh.logged == [f"evaluated:{REQUESTED_BY}", f"awaiting_approval:{REQUESTED_BY}"]


def test_the_waiting_promotion_expires_after_the_configured_time(
        env: WorkflowEnvironment) -> None:
    """Its expiry itself is PromotionWorkflow's (test_promotion_workflow); here: the nightly
    run hands it the configured approval time, the approver and the requester."""
    _, status, params = _nightly(env, Mesh())
    assert status == "awaiting_approval" and params is not None
    assert (params.kind, params.approval_timeout_s, params.approver, params.requested_by) == \
        ("cf", 3600, OWNER, REQUESTED_BY)


def test_training_refused_or_unchanged_starts_no_promotion(env: WorkflowEnvironment) -> None:
    refused, _, _ = _nightly(env, Mesh(refuse_training="training set 'juke-events' is below "
                                                       "the minimums (3 users < 5)"))
    assert refused.status == "training_refused" and "3 users < 5" in refused.reason
    unchanged, _, _ = _nightly(env, Mesh(reused=True))
    assert unchanged.status == "unchanged" and not unchanged.promotion_id


def test_schedules_are_made_then_kept_up_to_date(temporal_address: str) -> None:
    async def go() -> None:
        client = await Client.connect(temporal_address)
        settings = Settings.from_env({"JUKE_PROMOTION_APPROVER": "owner-1",
                                      "JUKE_RETRAIN_APPROVAL_TIMEOUT_S": "7200"})
        assert await ensure_nightly_retraining(client, settings) == \
            [schedule_id(k) for k in NIGHTLY_KINDS]
        again = Settings.from_env({"JUKE_PROMOTION_APPROVER": "owner-2",
                                   "JUKE_RETRAIN_SCHEDULE": "0"})
        await ensure_nightly_retraining(client, again)  # exists: updated, no error
        for kind in NIGHTLY_KINDS:
            described = await client.get_schedule_handle(schedule_id(kind)).describe()
            schedule = described.schedule
            # the server keeps a cron expression as the calendar it means
            minute, hour = (int(f) for f in NIGHTLY_CRON[kind].split()[:2])
            [calendar] = schedule.spec.calendars
            assert (calendar.hour[0].start, calendar.minute[0].start) == (hour, minute)
            assert schedule.state.paused  # JUKE_RETRAIN_SCHEDULE=0
            action = schedule.action
            assert action.workflow == NIGHTLY_WORKFLOW  # type: ignore[attr-defined]
            [params] = await client.data_converter.decode(
                action.args, [NightlyRetrainInput])  # type: ignore[attr-defined]
            assert (params.kind, params.approver) == (kind, "owner-2")

    asyncio.run(go())


def test_a_promotion_already_running_is_left_to_decide(env: WorkflowEnvironment) -> None:
    first = Mesh()
    _nightly(env, first)
    again, _, _ = _nightly(env, Mesh(model_id=first.model_id))
    assert again.status == "promotion_running"
    assert again.promotion_id == f"promotion-cf-{first.model_id}"
