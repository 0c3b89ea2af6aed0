"""PromotionWorkflow on Temporal's time-skipping test server, with recording activities.

The activities here are test doubles that record calls: these tests check the workflow's
decisions (gates, governance, approval rules, timeouts), not the services behind it.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.promotion_contracts import (
    ACTIVATE_PROMOTED,
    RECORD_EVENT,
    PromotedActivationResult,
    PromotionEvent,
)
from services.ranker.workflows.playlist_profiles_contracts import (
    START_PROFILE_BACKFILL,
    ProfileBackfillStart,
)
from services.ranker.workflows.promotion import PromotionWorkflow
from services.ranker.workflows.promotion_contracts import (
    WORKFLOW_NAME,
    Approval,
    CandidateRef,
    EvaluateInput,
    EvaluationPair,
    PromotionInput,
    PromotionResult,
    TrainingSetVerdict,
)

ACTIVE = {"ndcg@10": 0.20, "recall@10": 0.25, "coverage": 0.40, "ndcg@10_cold": 0.10}
BETTER = {"ndcg@10": 0.24, "recall@10": 0.28, "coverage": 0.45, "ndcg@10_cold": 0.10}
WORSE = {"ndcg@10": 0.19, "recall@10": 0.26, "coverage": 0.45, "ndcg@10_cold": 0.10}
OWNER = "project-owner"


@dataclass
class Services:
    candidate: dict[str, float]
    allowed: bool = True
    calls: list[str] = field(default_factory=list)
    logged: list[PromotionEvent] = field(default_factory=list)
    activated: list[PromotionEvent] = field(default_factory=list)
    backfills: list[str] = field(default_factory=list)

    @activity.defn(name="evaluate_for_promotion")
    async def evaluate(self, params: EvaluateInput) -> EvaluationPair:
        self.calls.append("evaluate")
        return EvaluationPair("hash-1", self.candidate, ACTIVE, "active-id")

    @activity.defn(name="check_candidate_training_set")
    async def check(self, ref: CandidateRef) -> TrainingSetVerdict:
        self.calls.append("check")
        return TrainingSetVerdict(self.allowed, "refused in production: dataset:lastfm-hetrec-2011"
                                  if not self.allowed else "allowed")

    @activity.defn(name=ACTIVATE_PROMOTED)
    async def activate(self, step: PromotionEvent) -> PromotedActivationResult:
        self.calls.append(f"activate:{step.candidate_id}")
        self.activated.append(step)
        return PromotedActivationResult("active-id")

    @activity.defn(name=START_PROFILE_BACKFILL)
    async def start_backfill(self, params: ProfileBackfillStart) -> None:
        self.backfills.append(params.workflow_id)

    @activity.defn(name=RECORD_EVENT)
    async def record(self, step: PromotionEvent) -> None:
        self.logged.append(step)

    def events(self) -> list[str]:
        return [e.event for e in self.logged]


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


def _run(env: WorkflowEnvironment, services: Services, scenario,  # type: ignore[no-untyped-def]
         kind: str = "cooccurrence", accept_ui: bool = True,
         owner_services: Services | None = None) -> PromotionResult:
    """`owner_services`: the registry activities of the worker that owns the kind (the
    embedder's queue for embedding models), when they are not `services` themselves."""
    async def go() -> PromotionResult:
        queue = f"promotion-{uuid.uuid4().hex[:8]}"
        registry = owner_services or services
        ranker_acts = [services.evaluate, services.check, services.start_backfill] + (
            [] if owner_services else [services.activate, services.record])
        async with Worker(env.client, task_queue=queue, workflows=[PromotionWorkflow],
                          activities=ranker_acts), \
                Worker(env.client, task_queue=f"{queue}-embed",
                       activities=[registry.activate, registry.record]):
            handle = await env.client.start_workflow(
                WORKFLOW_NAME, PromotionInput(kind, "cand-1", approver=OWNER,
                                              requested_by="ops", approval_timeout_s=3600,
                                              embed_task_queue=f"{queue}-embed",
                                              accept_ui_decisions=accept_ui),
                id=f"test-promotion-{queue}", task_queue=queue, result_type=PromotionResult)
            return await scenario(env.client, handle)

    return env.loop.run_until_complete(go())  # type: ignore[attr-defined, no-any-return]


async def _awaiting(handle: WorkflowHandle) -> None:
    for _ in range(100):
        if await handle.query("status", result_type=str) == "awaiting_approval":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never reached awaiting_approval")


def test_gates_pass_wrong_approver_refused_owner_approves(env: WorkflowEnvironment) -> None:
    services = Services(BETTER)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        await _awaiting(handle)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update("approve", Approval("mallory", True), result_type=str)
        assert "may not decide" in str(err.value.cause)
        assert await handle.execute_update("approve", Approval(OWNER, True, "lgtm"),
                                           result_type=str) == "approved"
        return await handle.result()

    result = _run(env, services, scenario)
    assert result.status == "activated" and result.decided_by == OWNER
    # Then the new bundle's playlist profile backfill is started, a workflow of its own.
    assert result.profile_backfill == "playlist-profiles-after-cooccurrence-cand-1"
    assert services.backfills == [result.profile_backfill]
    assert services.calls == ["evaluate", "check", "activate:cand-1"]
    assert services.events() == ["evaluated", "awaiting_approval"]
    [activation] = services.activated
    assert (activation.approved_by, activation.requested_by, activation.detail) == \
        (OWNER, "ops", "lgtm")
    assert activation.promotion_id.startswith("test-promotion-")
    assert activation.gates["ndcg@10 gain"] == {"candidate": 0.24, "active": 0.20,
                                                 "needed": 0.05, "passed": True}
    assert activation.gates["dataset_hash"] == "hash-1"


def test_failed_gate_ends_with_the_reason_and_activates_nothing(env: WorkflowEnvironment) -> None:
    services = Services(WORSE)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        return await handle.result()

    result = _run(env, services, scenario)
    assert result.status == "failed_gates"
    assert any(r.startswith("ndcg@10") for r in result.reasons)
    assert services.calls == ["evaluate"]
    [failed] = services.logged
    assert failed.event == "failed_gates" and not failed.gates["ndcg@10 gain"]["passed"]
    assert failed.detail.startswith("ndcg@10 0.1900 vs active 0.2000")


def test_research_only_training_set_is_refused(env: WorkflowEnvironment) -> None:
    services = Services(BETTER, allowed=False)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        return await handle.result()

    result = _run(env, services, scenario)
    assert result.status == "refused_by_governance"
    assert "lastfm-hetrec-2011" in result.reasons[0]
    assert not any(c.startswith("activate") for c in services.calls)


def test_rejection_needs_a_reason_and_ends_it(env: WorkflowEnvironment) -> None:
    services = Services(BETTER)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        await _awaiting(handle)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("approve", Approval(OWNER, False), result_type=str)
        await handle.execute_update("approve", Approval(OWNER, False, "listening test failed"),
                                    result_type=str)
        return await handle.result()

    result = _run(env, services, scenario)
    assert result.status == "rejected" and result.reasons == ["listening test failed"]
    assert not any(c.startswith("activate") for c in services.calls)
    assert services.logged[-1].event == "rejected" and services.logged[-1].approved_by == OWNER


def test_signal_from_the_ui_follows_the_same_rules(env: WorkflowEnvironment) -> None:
    services = Services(BETTER)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        await _awaiting(handle)
        await handle.signal("decide", Approval("mallory", True))  # ignored
        await asyncio.sleep(0.2)
        assert await handle.query("status", result_type=str) == "awaiting_approval"
        await handle.signal("decide", Approval(OWNER, True))
        return await handle.result()

    assert _run(env, services, scenario).status == "activated"


def test_no_decision_expires_without_activation(env: WorkflowEnvironment) -> None:
    services = Services(BETTER)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        await _awaiting(handle)
        await env.sleep(3700)  # time-skipping: an hour passes at once
        return await handle.result()

    result = _run(env, services, scenario)
    assert result.status == "expired"
    assert not any(c.startswith("activate") for c in services.calls)


def test_ui_decisions_can_be_refused(env: WorkflowEnvironment) -> None:
    """With UI decisions refused, even the owner's name sent through the signal is ignored;
    the validated update (REST, CLI) still decides."""
    services = Services(BETTER)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        await _awaiting(handle)
        await handle.signal("decide", Approval(OWNER, True))
        await asyncio.sleep(0.2)
        assert await handle.query("status", result_type=str) == "awaiting_approval"
        await handle.execute_update("approve", Approval(OWNER, True), result_type=str)
        return await handle.result()

    assert _run(env, services, scenario, accept_ui=False).status == "activated"


def test_embedding_models_are_logged_and_activated_by_the_embedders_worker(
        env: WorkflowEnvironment) -> None:
    ranker, embedder = Services(BETTER), Services(BETTER)

    async def scenario(client: Client, handle: WorkflowHandle) -> PromotionResult:
        await _awaiting(handle)
        await handle.execute_update("approve", Approval(OWNER, True), result_type=str)
        return await handle.result()

    result = _run(env, ranker, scenario, kind="embedding", owner_services=embedder)
    assert result.status == "activated"
    assert ranker.calls == ["evaluate", "check"] and not ranker.logged
    assert embedder.events() == ["evaluated", "awaiting_approval"]
    assert [a.kind for a in embedder.activated] == ["embedding"]
