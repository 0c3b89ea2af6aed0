"""PromotionWorkflow: offline gates, then governance, then a human approval, then activation.

A candidate (a co-occurrence model or an embedding model) is evaluated next to the active
one on the same data set hash; failing a gate or a production training-set check ends the
workflow with the reason and activates nothing. Otherwise it waits for the configured
approver (`JUKE_PROMOTION_APPROVER`), who approves or rejects through a validated Temporal
update (`juke models approve`, REST, or the `decide` signal from the Temporal UI). Only
then is the candidate activated and marked known-good. No I/O here: activities do it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from services.ranker.workflows.promotion_contracts import (
    WORKFLOW_NAME,
    ActivationResult,
    Approval,
    CandidateRef,
    EvaluateInput,
    EvaluationPair,
    Gates,
    PromotionInput,
    PromotionResult,
    TrainingSetVerdict,
)

RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=5)



EPSILON = 1e-9  # 0.21 vs 0.20 is +5% even in floating point


def _relative(candidate: float, active: float) -> float:
    if active > 0:
        return (candidate - active) / active
    return float("inf") if candidate > 0 else 0.0


def gate_failures(gates: Gates, candidate: dict[str, float], active: dict[str, float]
                  ) -> list[str]:
    """Which offline gates the candidate fails against the active model (empty: passes)."""
    failures = []
    coverage = candidate.get("coverage", 0.0)
    if coverage + EPSILON < gates.coverage_min:
        failures.append(f"coverage {coverage:.3f} < {gates.coverage_min:.2f}")
    if not active:  # the first model: only the absolute gate applies
        return failures
    checks = (("ndcg@10", gates.ndcg_min_relative_gain),
              ("recall@10", gates.recall_min_relative_gain))
    for metric, needed in checks:
        gain = _relative(candidate.get(metric, 0.0), active.get(metric, 0.0))
        if gain + EPSILON < needed:
            failures.append(f"{metric} {candidate.get(metric, 0.0):.4f} vs active "
                            f"{active.get(metric, 0.0):.4f}: {gain:+.1%} < +{needed:.0%}")
    cold_active = active.get("ndcg@10_cold", 0.0)
    if cold_active > 0:
        regression = (cold_active - candidate.get("ndcg@10_cold", 0.0)) / cold_active
        if regression - EPSILON > gates.cold_start_max_regression:
            failures.append(f"cold-start nDCG@10 regresses {regression:.1%} "
                            f"> {gates.cold_start_max_regression:.0%}")
    return failures


@workflow.defn(name=WORKFLOW_NAME)
class PromotionWorkflow:
    def __init__(self) -> None:
        self._status = "evaluating"
        self._approver = ""
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
        """For the Temporal UI: same rules as `approve`; a refused decision is logged."""
        try:
            self._check(decision)
        except ValueError as err:
            workflow.logger.warning("ignored decision: %s", err)
            return
        self._decision = decision

    @workflow.run
    async def run(self, params: PromotionInput) -> PromotionResult:
        self._approver = params.approver
        ref = CandidateRef(params.kind, params.candidate_id)
        pair: EvaluationPair = await workflow.execute_activity(
            "evaluate_for_promotion", EvaluateInput(params.kind, params.candidate_id),
            result_type=EvaluationPair, start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=5), retry_policy=RETRY)
        result = PromotionResult(status="", reasons=[], dataset_hash=pair.dataset_hash,
                                 candidate=pair.candidate, active=pair.active)
        failures = ([pair.unavailable_reason] if pair.unavailable_reason
                    else gate_failures(params.gates, pair.candidate, pair.active))
        if failures:
            return self._end(result, "failed_gates", failures)
        self._status = "checking_governance"
        verdict: TrainingSetVerdict = await workflow.execute_activity(
            "check_candidate_training_set", ref, result_type=TrainingSetVerdict,
            start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY)
        if not verdict.allowed:
            return self._end(result, "refused_by_governance", [verdict.summary])
        self._status = "awaiting_approval"
        try:
            await workflow.wait_condition(lambda: self._decision is not None,
                                          timeout=timedelta(seconds=params.approval_timeout_s))
        except TimeoutError:
            return self._end(result, "expired", ["no decision before the approval timeout"])
        decision = self._decision
        assert decision is not None
        result.decided_by = decision.approver
        if not decision.approve:
            return self._end(result, "rejected", [decision.reason])
        self._status = "activating"
        activation: ActivationResult = await workflow.execute_activity(
            "activate_candidate", ref, result_type=ActivationResult,
            start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY)
        await workflow.execute_activity(
            "mark_candidate_known_good", ref, start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RETRY)
        result.previous_id = activation.previous_id
        return self._end(result, "activated", [decision.reason] if decision.reason else [])

    def _end(self, result: PromotionResult, status: str, reasons: list[str]) -> PromotionResult:
        self._status = status
        result.status = status
        result.reasons = reasons
        return result
