"""Model operations for operators: approve or reject a promotion, roll back."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from gateway.auth import Role, requires
from gateway.errors import ApiError
from juke.embedder.v1 import embedder_pb2 as epb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.ranker.workflows.promotion_contracts import Approval, workflow_id

# Each route names its role: reads are read, anything that changes models is admin.
router = APIRouter(prefix="/api/v1", tags=["models"])
Kind = Literal["cooccurrence", "embedding"]


class ApprovalIn(BaseModel):
    approver: str = Field(min_length=1, description="must be JUKE_PROMOTION_APPROVER")
    approve: bool = True
    reason: str = Field(default="", description="required to reject")


class ApprovalOut(BaseModel):
    candidate_id: str
    kind: str
    outcome: str


class RollbackIn(BaseModel):
    kind: Kind = "embedding"


class RollbackOut(BaseModel):
    kind: str
    restored_id: str
    restored: str
    deactivated_id: str | None


@router.post("/promotions/{candidate_id}/approve", response_model=ApprovalOut,
             dependencies=[requires(Role.ADMIN)])
async def approve(candidate_id: str, body: ApprovalIn, request: Request,
                  kind: Kind = "cooccurrence") -> ApprovalOut:
    """Approve (or reject, with a reason) a promotion waiting for approval."""
    client = await request.app.state.clients.temporal()
    handle = client.get_workflow_handle(workflow_id(kind, candidate_id))
    try:
        outcome = await handle.execute_update(
            "approve", Approval(body.approver, body.approve, body.reason), result_type=str)
    except WorkflowUpdateFailedError as err:  # the validator refused: wrong person, no reason
        raise ApiError(403 if "may not decide" in str(err.cause) else 409,
                       "PERMISSION_DENIED" if "may not decide" in str(err.cause)
                       else "FAILED_PRECONDITION", str(err.cause)) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "NOT_FOUND", f"no promotion of {kind} model "
                                             f"{candidate_id!r}") from None
        raise
    return ApprovalOut(candidate_id=candidate_id, kind=kind, outcome=outcome)


@router.post("/models/rollback", response_model=RollbackOut,
             dependencies=[requires(Role.ADMIN)])
async def rollback(body: RollbackIn, request: Request) -> RollbackOut:
    """Re-activate the previous known-good model; nothing is deleted or restarted."""
    clients = request.app.state.clients
    if body.kind == "embedding":
        reply = await clients.embedder.RollbackModel(epb.RollbackModelRequest())
        return RollbackOut(kind=body.kind, restored_id=reply.restored.id,
                           restored=f"{reply.restored.name} {reply.restored.version}",
                           deactivated_id=reply.deactivated_model_id or None)
    cooc = await clients.ranker.RollbackCooccurrenceModel(
        rpb.RollbackCooccurrenceModelRequest())
    return RollbackOut(kind=body.kind, restored_id=cooc.restored.id,
                       restored=cooc.restored.version, deactivated_id=cooc.deactivated_id or None)


class HealthMetricOut(BaseModel):
    name: str
    value: float
    model_id: str | None
    metadata: dict[str, object]
    recorded_at: str | None


class ModelHealthOut(BaseModel):
    bundle: dict[str, object]
    metrics: list[HealthMetricOut]


@router.get("/health/models", response_model=ModelHealthOut,
            dependencies=[requires(Role.READ)])
async def model_health(request: Request) -> ModelHealthOut:
    """Dashboard feed: the active models, request counts and latency percentiles per RPC,
    embedding coverage of the eligible corpus, and the latest evaluations."""
    reply = await request.app.state.clients.ranker.GetModelHealth(rpb.GetModelHealthRequest())
    b = reply.bundle
    return ModelHealthOut(
        bundle={"embedding_model": b.embedding_model or None,
                "cooccurrence_model": b.cooccurrence_model or None,
                "weight_config_id": b.weight_config_id},
        metrics=[HealthMetricOut(
            name=m.name, value=m.value, model_id=m.model_id or None,
            metadata=json.loads(m.metadata_json or "{}"),
            recorded_at=m.recorded_at.ToJsonString() if m.HasField("recorded_at") else None)
            for m in reply.metrics])
