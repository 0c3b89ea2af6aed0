"""PromotionWorkflow: offline gates, then governance, then a human approval, then activation.

A candidate of any kind (embedding model, co-occurrence model, CF model, weight config) is
evaluated next to the active one on the same data set hash; failing a gate or the production
governance check ends the workflow with the reason and activates nothing. Otherwise it waits
for the configured approver (`JUKE_PROMOTION_APPROVER`), who approves or rejects through a
validated Temporal update (`juke models approve` or REST, both naming the approver from the
caller's credential) or the `decide` signal from the Temporal UI (unless refused by
setting). Only then is the candidate activated, marked known-good and logged with its gates
and approval, by the worker of the service that owns the kind; then the playlist profile
backfill starts for the new bundle (a workflow of its own). Every step is written to that
service's activation log. No I/O here: activities do it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from services.common.promotion_contracts import (
    ACTIVATE_PROMOTED,
    EMBEDDER_KINDS,
    RECORD_EVENT,
    PromotedActivationResult,
    PromotionEvent,
)
from services.ranker.workflows.playlist_profiles_contracts import (
    START_PROFILE_BACKFILL,
    ProfileBackfillStart,
)
from services.ranker.workflows.promotion_contracts import (
    WORKFLOW_NAME,
    Approval,
    CandidateRef,
    EvaluateInput,
    EvaluationPair,
    Gates,
    PromotionInput,
    PromotionResult,
    TrainingSetVerdict,
    profile_backfill_id,
)

# Workflows started before activations began the profile backfill replay without it.
PROFILES_AFTER_ACTIVATION = "playlist-profiles-after-activation"

# A refused approval (the activating worker's approver differs) is final, never retried.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=5,
                    non_retryable_error_types=["PermissionDenied"])
EPSILON = 1e-9  # 0.21 vs 0.20 is +5% even in floating point


@dataclass(frozen=True)
class GateCheck:
    """One gate with its numbers; `message` says why it failed (empty when it passed)."""

    name: str
    candidate: float
    active: float | None
    needed: float
    passed: bool
    message: str = ""

    def numbers(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "active": self.active, "needed": self.needed,
                "passed": self.passed}


def _relative(candidate: float, active: float) -> float:
    if active > 0:
        return (candidate - active) / active
    return float("inf") if candidate > 0 else 0.0


def _coverage(gates: Gates, candidate: dict[str, float]) -> GateCheck:
    coverage = candidate.get("coverage", 0.0)
    passed = coverage + EPSILON >= gates.coverage_min
    return GateCheck("coverage", coverage, None, gates.coverage_min, passed,
                     "" if passed else f"coverage {coverage:.3f} < {gates.coverage_min:.2f}")


def _floor(metric: str, needed: float, candidate: dict[str, float]) -> GateCheck:
    value = candidate.get(metric, 0.0)
    passed = value + EPSILON >= needed
    return GateCheck(f"{metric} floor", value, None, needed, passed, "" if passed else
                     f"{metric} {value:.4f} < {needed:.2f} (the first model's floor)")


def _relative_gain(metric: str, needed: float, candidate: dict[str, float],
                   active: dict[str, float]) -> GateCheck:
    value, reference = candidate.get(metric, 0.0), active.get(metric, 0.0)
    gain = _relative(value, reference)
    passed = gain + EPSILON >= needed
    return GateCheck(f"{metric} gain", value, reference, needed, passed, "" if passed else
                     f"{metric} {value:.4f} vs active {reference:.4f}: {gain:+.1%} < "
                     f"+{needed:.0%}")


def _cold_start(gates: Gates, candidate: dict[str, float], active: dict[str, float]
                ) -> GateCheck | None:
    cold_active = active.get("ndcg@10_cold", 0.0)
    if cold_active <= 0:
        return None
    value = candidate.get("ndcg@10_cold", 0.0)
    regression = (cold_active - value) / cold_active
    passed = regression - EPSILON <= gates.cold_start_max_regression
    return GateCheck("cold-start ndcg@10 regression", value, cold_active,
                     gates.cold_start_max_regression, passed, "" if passed else
                     f"cold-start nDCG@10 regresses {regression:.1%} "
                     f"> {gates.cold_start_max_regression:.0%}")


def gate_checks(gates: Gates, candidate: dict[str, float], active: dict[str, float]
                ) -> list[GateCheck]:
    """Every gate the candidate is judged on, with its numbers. With nothing active (the first
    model of a kind) it is held to absolute floors: coverage, nDCG@10 and Recall@10."""
    checks = [_coverage(gates, candidate)]
    if not active:
        return [*checks, _floor("ndcg@10", gates.first_ndcg_min, candidate),
                _floor("recall@10", gates.first_recall_min, candidate)]
    checks += [_relative_gain("ndcg@10", gates.ndcg_min_relative_gain, candidate, active),
               _relative_gain("recall@10", gates.recall_min_relative_gain, candidate, active)]
    cold = _cold_start(gates, candidate, active)
    return checks + ([cold] if cold else [])


def gate_failures(gates: Gates, candidate: dict[str, float], active: dict[str, float]
                  ) -> list[str]:
    """Which offline gates the candidate fails against the active model (empty: passes)."""
    return [c.message for c in gate_checks(gates, candidate, active) if not c.passed]


@workflow.defn(name=WORKFLOW_NAME)
class PromotionWorkflow:
    def __init__(self) -> None:
        self._status = "evaluating"
        self._approver = ""
        self._accept_ui = True
        self._decision: Approval | None = None

    @workflow.query
    def status(self) -> str:
        return self._status

    def _check(self, decision: Approval) -> None:
        if self._status != "awaiting_approval":
            raise ValueError(f"promotion is {self._status}, not awaiting approval")
        if decision.approver != self._approver:
            raise ValueError(f"{decision.approver!r} may not decide this promotion; "
                             f"the approver is {self._approver!r}")
        if not decision.approve and not decision.reason.strip():
            raise ValueError("a rejection needs a reason")

    @workflow.update
    async def approve(self, decision: Approval) -> str:
        self._decision = decision
        return "approved" if decision.approve else "rejected"

    @approve.validator
    def _validate_approval(self, decision: Approval) -> None:
        self._check(decision)

    @workflow.signal
    def decide(self, decision: Approval) -> None:
        """For the Temporal UI: same rules as `approve`, when UI decisions are accepted at
        all (whoever reaches the UI can send one, naming anyone); a refused one is logged."""
        try:
            if not self._accept_ui:
                raise ValueError("decisions from the Temporal UI are refused here "
                                 "(JUKE_PROMOTION_UI_DECISIONS=0): use `juke models approve` "
                                 "or the REST endpoint")
            self._check(decision)
        except ValueError as err:
            workflow.logger.warning("ignored decision: %s", err)
            return
        self._decision = decision

    async def _log(self, params: PromotionInput, event: str, gates: dict[str, Any],
                   detail: str = "", approved_by: str = "") -> None:
        await workflow.execute_activity(
            RECORD_EVENT, self._event(params, event, gates, detail, approved_by),
            task_queue=self._queue(params), start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY)

    @staticmethod
    def _event(params: PromotionInput, event: str, gates: dict[str, Any], detail: str = "",
               approved_by: str = "") -> PromotionEvent:
        return PromotionEvent(params.kind, params.candidate_id, event,
                              workflow.info().workflow_id, params.requested_by, approved_by,
                              gates, detail)

    @staticmethod
    def _queue(params: PromotionInput) -> str | None:
        """The owning service's worker: the embedder's for embedding models."""
        return params.embed_task_queue if params.kind in EMBEDDER_KINDS else None

    @workflow.run
    async def run(self, params: PromotionInput) -> PromotionResult:
        self._approver = params.approver
        self._accept_ui = params.accept_ui_decisions
        ref = CandidateRef(params.kind, params.candidate_id)
        pair: EvaluationPair = await workflow.execute_activity(
            "evaluate_for_promotion", EvaluateInput(params.kind, params.candidate_id),
            result_type=EvaluationPair, start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=5), retry_policy=RETRY)
        result = PromotionResult(status="", reasons=[], dataset_hash=pair.dataset_hash,
                                 candidate=pair.candidate, active=pair.active)
        checks = [] if pair.unavailable_reason else \
            gate_checks(params.gates, pair.candidate, pair.active)
        gates = {c.name: c.numbers() for c in checks} | {"dataset_hash": pair.dataset_hash}
        failures = [pair.unavailable_reason] if pair.unavailable_reason else \
            [c.message for c in checks if not c.passed]
        if failures:
            await self._log(params, "failed_gates", gates, "; ".join(failures))
            return self._end(result, "failed_gates", failures)
        await self._log(params, "evaluated", gates)
        self._status = "checking_governance"
        verdict: TrainingSetVerdict = await workflow.execute_activity(
            "check_candidate_training_set", ref, result_type=TrainingSetVerdict,
            start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY)
        if not verdict.allowed:
            await self._log(params, "refused_by_governance", gates, verdict.summary)
            return self._end(result, "refused_by_governance", [verdict.summary])
        self._status = "awaiting_approval"
        await self._log(params, "awaiting_approval", gates, verdict.summary)
        try:
            await workflow.wait_condition(lambda: self._decision is not None,
                                          timeout=timedelta(seconds=params.approval_timeout_s))
        except TimeoutError:
            await self._log(params, "expired", gates, "no decision before the approval timeout")
            return self._end(result, "expired", ["no decision before the approval timeout"])
        decision = self._decision
        assert decision is not None
        result.decided_by = decision.approver
        if not decision.approve:
            await self._log(params, "rejected", gates, decision.reason, decision.approver)
            return self._end(result, "rejected", [decision.reason])
        self._status = "activating"
        activation: PromotedActivationResult = await workflow.execute_activity(
            ACTIVATE_PROMOTED, self._event(params, "activated", gates, decision.reason,
                                           decision.approver),
            task_queue=self._queue(params), result_type=PromotedActivationResult,
            start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY)
        result.previous_id = activation.previous_id
        if workflow.patched(PROFILES_AFTER_ACTIVATION):
            result.profile_backfill = await self._rebuild_profiles(params)
        return self._end(result, "activated", [decision.reason] if decision.reason else [])

    @staticmethod
    async def _rebuild_profiles(params: PromotionInput) -> str:
        """Have the playlist profile backfill started for the bundle just activated, so
        profiles are built ahead of the requests that need them. It is a workflow of its
        own that outlives this one; failing to start it leaves the activation as it is
        (profiles are then built on first use). Returns its workflow id."""
        backfill_id = profile_backfill_id(params.kind, params.candidate_id)
        try:
            await workflow.execute_activity(
                START_PROFILE_BACKFILL, ProfileBackfillStart(backfill_id),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1),
                                         maximum_attempts=3))
        except ActivityError as err:
            workflow.logger.warning("playlist profile backfill not started: %s", err)
            return ""
        return backfill_id

    def _end(self, result: PromotionResult, status: str, reasons: list[str]) -> PromotionResult:
        self._status = status
        result.status = status
        result.reasons = reasons
        return result
