"""The model registry of every kind, and operator actions: approve or reject a promotion
(as the person the API key is bound to), roll back."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import grpc
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from gateway.auth import ApiKey, Role, authenticate, requires
from gateway.errors import ApiError
from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.ranker.workflows.promotion_contracts import Approval, workflow_id

# Each route names its role: reads are read, anything that changes models is admin.
router = APIRouter(prefix="/api/v1", tags=["models"])
Kind = Literal["embedding", "cooccurrence", "cf", "weights", "reranker"]
# The registry's states (services.common.registry.STATES; a unit test keeps them equal).
State = Literal["candidate", "evaluated", "awaiting_approval", "active", "known_good",
                "superseded", "rolled_back", "rejected"]


class ApprovalIn(BaseModel):
    approve: bool = True
    reason: str = Field(default="", description="required to reject")
    approver: str | None = Field(
        default=None, description="not taken from here: the approver is the person the API "
                                  "key is bound to (its name); a different name is refused")


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


def approver_of(key: ApiKey, body: ApprovalIn, owner: str) -> str:
    """Who decides: the person the caller's key is bound to, never a name in the body. Only
    the key bound to the promotion approver may decide."""
    if key.name != owner:  # whatever the body names
        raise ApiError(403, "PERMISSION_DENIED", f"API key {key.name!r} may not decide "
                       f"promotions: only the key bound to the promotion approver {owner!r} "
                       "may", required_key=owner)
    if body.approver is not None and body.approver != key.name:
        raise ApiError(400, "INVALID_ARGUMENT", f"approver {body.approver!r}: the approver is "
                       f"who the API key is bound to ({key.name!r}), not a name in the body; "
                       "leave `approver` out")
    return key.name


@router.post("/promotions/{candidate_id}/approve", response_model=ApprovalOut,
             dependencies=[requires(Role.ADMIN)])
async def approve(candidate_id: str, body: ApprovalIn, request: Request,
                  key: Annotated[ApiKey, Depends(authenticate)],
                  kind: Kind = "cooccurrence") -> ApprovalOut:
    """Approve (or reject, with a reason) a promotion waiting for approval, as the person
    the API key is bound to (only JUKE_PROMOTION_APPROVER's key may)."""
    approver = approver_of(key, body, request.app.state.settings.promotion_approver)
    client = await request.app.state.clients.temporal()
    handle = client.get_workflow_handle(workflow_id(kind, candidate_id))
    try:
        outcome = await handle.execute_update(
            "approve", Approval(approver, body.approve, body.reason), result_type=str)
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
async def rollback(body: RollbackIn, request: Request,
                   key: Annotated[ApiKey, Depends(authenticate)]) -> RollbackOut:
    """Re-activate the kind's previous known-good model; nothing is deleted or restarted."""
    clients = request.app.state.clients
    if body.kind == "embedding":
        reply = await clients.embedder.RollbackModel(
            epb.RollbackModelRequest(requested_by=key.name))
        return RollbackOut(kind=body.kind, restored_id=reply.restored.id,
                           restored=f"{reply.restored.name} {reply.restored.version}",
                           deactivated_id=reply.deactivated_model_id or None)
    ranked = await clients.ranker.RollbackModel(
        rpb.RollbackModelRequest(kind=body.kind, requested_by=key.name))
    return RollbackOut(kind=body.kind, restored_id=ranked.restored.id,
                       restored=ranked.restored.label,
                       deactivated_id=ranked.deactivated_id or None)


class ModelOut(BaseModel):
    kind: str
    id: str
    label: str
    state: str
    active: bool
    is_known_good: bool
    training_set_hash: str | None
    production: str | None = Field(description="allowed | refused | null: decided by "
                                                "governance when promoted")
    created_at: str | None
    activated_at: str | None
    training_data: str | None = Field(description="embedding models: what they declare "
                                                   "they were trained on, and its license")


class LogEntryOut(BaseModel):
    event: str
    path: str | None
    actor: str | None
    approved_by: str | None
    promotion_id: str | None
    gates: dict[str, object]
    training_set_hash: str | None
    previous_id: str | None
    detail: str | None
    recorded_at: str | None


class ModelHistoryOut(BaseModel):
    model: ModelOut
    entries: list[LogEntryOut]


def _ts(message: Any, name: str) -> str | None:
    return getattr(message, name).ToJsonString() if message.HasField(name) else None


def model_out(m: common_pb2.RegistryModel) -> ModelOut:
    return ModelOut(kind=m.kind, id=m.id, label=m.label, state=m.state, active=m.active,
                    is_known_good=m.is_known_good, training_set_hash=m.training_set_hash or None,
                    production=m.production or None, created_at=_ts(m, "created_at"),
                    activated_at=_ts(m, "activated_at"), training_data=m.training_data or None)


def entry_out(e: common_pb2.ActivationLogEntry) -> LogEntryOut:
    return LogEntryOut(event=e.event, path=e.path or None, actor=e.actor or None,
                       approved_by=e.approved_by or None, promotion_id=e.promotion_id or None,
                       gates=json.loads(e.gates_json or "{}"),
                       training_set_hash=e.training_set_hash or None,
                       previous_id=e.previous_id or None, detail=e.detail or None,
                       recorded_at=_ts(e, "recorded_at"))


@router.get("/models", response_model=list[ModelOut], dependencies=[requires(Role.READ)])
async def list_models(request: Request, kind: Kind | None = None,
                      state: Annotated[State | None, Query()] = None) -> list[ModelOut]:
    """Every model of every kind (or of one kind, or in one state), with its registry state."""
    clients = request.app.state.clients
    found: list[common_pb2.RegistryModel] = []
    if kind in (None, "embedding"):
        found += (await clients.embedder.ListRegistryModels(
            epb.ListRegistryModelsRequest(state=state or ""))).models
    if kind != "embedding":
        found += (await clients.ranker.ListRegistryModels(
            rpb.ListRegistryModelsRequest(kind=kind or "", state=state or ""))).models
    return [model_out(m) for m in found]


async def _history(clients: Any, model_id: str) -> Any:
    """Asked of the ranker, then of the embedder: a model id is unique across kinds."""
    for stub, request in ((clients.ranker, rpb.GetModelHistoryRequest(id=model_id)),
                          (clients.embedder, epb.GetModelHistoryRequest(id=model_id))):
        try:
            return await stub.GetModelHistory(request)
        except grpc.aio.AioRpcError as err:
            if err.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise
    raise ApiError(404, "NOT_FOUND", f"no model {model_id!r} of any kind")


@router.get("/models/{model_id}/history", response_model=ModelHistoryOut,
            dependencies=[requires(Role.READ)])
async def model_history(model_id: str, request: Request) -> ModelHistoryOut:
    """One model and its append-only activation log (who, when, path, gates with their
    numbers, approval, training set), oldest first."""
    reply = await _history(request.app.state.clients, model_id)
    return ModelHistoryOut(model=model_out(reply.model),
                           entries=[entry_out(e) for e in reply.entries])


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
