"""NightlyRetrainWorkflow: retrain a kind from first-party events, then start the new
model's promotion, which waits for the owner's approval (and expires). No I/O here.

Training runs as the kind's own training workflow (a child, activation off); a run that
trains the very model that exists already (same events, same parameters) promotes nothing.
The promotion is a child left running when this run ends (ABANDON): it is what waits, for
`juke models pending` to list and the owner to decide.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from services.ranker.workflows.nightly_contracts import (
    NIGHTLY_WORKFLOW,
    NightlyRetrainInput,
    NightlyRetrainResult,
)
from services.ranker.workflows.promotion_contracts import (
    WORKFLOW_NAME as PROMOTION_WORKFLOW,
)
from services.ranker.workflows.promotion_contracts import (
    PromotionInput,
    workflow_id,
)
from services.ranker.workflows.training_contracts import (
    CF_WORKFLOW,
    COOCCURRENCE_WORKFLOW,
    TrainCfInput,
    TrainCfResult,
    TrainCooccurrenceInput,
    TrainCooccurrenceResult,
)

REQUESTED_BY = "nightly schedule"


def _training(params: NightlyRetrainInput) -> tuple[str, Any, type]:
    if params.kind == "cf":
        return CF_WORKFLOW, TrainCfInput(dataset=params.dataset), TrainCfResult
    if params.kind == "cooccurrence":
        return (COOCCURRENCE_WORKFLOW, TrainCooccurrenceInput(dataset=params.dataset),
                TrainCooccurrenceResult)
    raise ValueError(f"nightly retraining covers cooccurrence and cf, not {params.kind!r}")


def _root_cause(err: BaseException) -> str:
    """The innermost failure's message (the activity's refusal, not its wrappers)."""
    while getattr(err, "cause", None) is not None:
        err = err.cause  # type: ignore[attr-defined]
    return str(err)


@workflow.defn(name=NIGHTLY_WORKFLOW)
class NightlyRetrainWorkflow:
    @workflow.run
    async def run(self, params: NightlyRetrainInput) -> NightlyRetrainResult:
        name, training_input, result_type = _training(params)
        day = workflow.now().strftime("%Y%m%d")
        try:
            trained = await workflow.execute_child_workflow(
                name, training_input, id=f"nightly-{params.kind}-training-{day}",
                result_type=result_type, execution_timeout=timedelta(hours=2))
        except ChildWorkflowError as err:  # below the minimums, no events, ...
            return NightlyRetrainResult("training_refused", reason=_root_cause(err))
        if trained.reused:
            return NightlyRetrainResult("unchanged", trained.model_id, warnings=trained.warnings,
                                        reason="no new events: the same model as before")
        promotion_id = workflow_id(params.kind, trained.model_id)
        try:
            await self._promote(params, trained.model_id, promotion_id)
        except WorkflowAlreadyStartedError:  # promoted by hand meanwhile: that one decides
            return NightlyRetrainResult("promotion_running", trained.model_id, promotion_id,
                                        warnings=trained.warnings)
        return NightlyRetrainResult("promotion_started", trained.model_id, promotion_id,
                                    warnings=trained.warnings)

    @staticmethod
    async def _promote(params: NightlyRetrainInput, model_id: str, promotion_id: str) -> None:
        await workflow.start_child_workflow(
            PROMOTION_WORKFLOW, PromotionInput(
                params.kind, model_id, approver=params.approver,
                requested_by=REQUESTED_BY, gates=params.gates,
                approval_timeout_s=params.approval_timeout_s,
                embed_task_queue=params.embed_task_queue,
                accept_ui_decisions=params.accept_ui_decisions),
            id=promotion_id, parent_close_policy=ParentClosePolicy.ABANDON,
            execution_timeout=timedelta(seconds=params.approval_timeout_s + 24 * 3600))
