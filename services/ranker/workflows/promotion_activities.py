"""Activities of PromotionWorkflow on the ranker's worker: evaluate, check governance, and
(for the ranker's kinds) log each step and activate the approved candidate."""

from __future__ import annotations

from typing import Protocol

import grpc
from temporalio import activity

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.errors import InvalidArgument
from services.common.promotion_contracts import (
    ACTIVATE_PROMOTED,
    RECORD_EVENT,
    PromotedActivationResult,
    PromotionEvent,
)
from services.common.registry import Promotion, promotion_entry, require_owner_approval
from services.ranker.registry.service import ModelRegistry
from services.ranker.workflows.promotion_contracts import (
    KINDS,
    CandidateRef,
    EvaluateInput,
    EvaluationPair,
    TrainingSetVerdict,
)


class Evaluator(Protocol):
    def compare(self, kind: str, candidate_id: str) -> EvaluationPair: ...


class PromotionActivities:
    def __init__(self, evaluator: Evaluator, ranker: RankerServiceStub,
                 embedder: EmbedderServiceStub, governance: GovernanceServiceStub) -> None:
        self._evaluator = evaluator
        self._ranker = ranker
        self._embedder = embedder
        self._governance = governance

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in KINDS:
            raise InvalidArgument(f"model kind {kind!r} is not one of {', '.join(KINDS)}")
        return kind

    @activity.defn(name="evaluate_for_promotion")
    def evaluate_for_promotion(self, params: EvaluateInput) -> EvaluationPair:
        return self._evaluator.compare(self._kind(params.kind), params.candidate_id)

    def _training_set_hash(self, ref: CandidateRef) -> str:
        """The governance training set of a co-occurrence, CF or reranker model."""
        if self._kind(ref.kind) == "reranker":
            models = self._ranker.ListRegistryModels(rpb.ListRegistryModelsRequest(
                kind="reranker")).models
            return next((m.training_set_hash for m in models if m.id == ref.candidate_id), "")
        if ref.kind == "cooccurrence":
            cooc = self._ranker.ListCooccurrenceModels(
                rpb.ListCooccurrenceModelsRequest()).models
            return next((m.training_set_hash for m in cooc if m.id == ref.candidate_id), "")
        cf = self._ranker.ListCfModels(rpb.ListCfModelsRequest()).models
        return next((m.training_set_hash for m in cf if m.id == ref.candidate_id), "")

    def _check_embedding_model(self, model_id: str) -> TrainingSetVerdict:
        """An embedding model is decided by governance on its weights' license, and on the
        training data it declares when that is enforced (fail closed)."""
        model = next((m for m in self._embedder.ListModels(epb.ListModelsRequest()).models
                      if m.id == model_id), None)
        if model is None:
            return TrainingSetVerdict(False, f"no embedding model {model_id!r}: refused")
        check = self._governance.CheckModel(gpb.CheckModelRequest(
            environment=common_pb2.ENVIRONMENT_PRODUCTION,
            name=f"{model.name} {model.version}", weights_license=model.weights_license,
            weights_sha256=model.weights_sha256, training_data=model.training_data,
            training_data_license=model.training_data_license))
        return TrainingSetVerdict(check.allowed, check.summary)

    @activity.defn(name="check_candidate_training_set")
    def check_candidate_training_set(self, ref: CandidateRef) -> TrainingSetVerdict:
        """Governance decides on the set the candidate was trained on (fail closed). A weight
        config is trained on nothing: it only weighs the models that are active."""
        kind = self._kind(ref.kind)
        if kind == "weights":
            return TrainingSetVerdict(True, "a weight config has no training data of its own")
        if kind == "embedding":
            return self._check_embedding_model(ref.candidate_id)
        digest = self._training_set_hash(ref)
        if not digest:
            return TrainingSetVerdict(False, f"{ref.kind} model {ref.candidate_id} has no "
                                             "registered training set: refused (fail closed)")
        try:
            check = self._governance.CheckTrainingSet(gpb.CheckTrainingSetRequest(
                environment=common_pb2.ENVIRONMENT_PRODUCTION, training_set_hash=digest))
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return TrainingSetVerdict(False, err.details() or "unknown training set")
            raise
        return TrainingSetVerdict(check.allowed, check.summary)



class RegistryActivities:
    """The ranker's kinds (co-occurrence, CF, reranker, weight configs): their promotion
    steps and their promoted activation, written by the ranker's registry in its own schema."""

    def __init__(self, registry: ModelRegistry, approver: str) -> None:
        self._registry = registry
        self._approver = approver  # JUKE_PROMOTION_APPROVER of this worker

    @activity.defn(name=RECORD_EVENT)
    def record_promotion_event(self, step: PromotionEvent) -> None:
        self._registry.record(promotion_entry(step))

    @activity.defn(name=ACTIVATE_PROMOTED)
    def activate_promoted_model(self, step: PromotionEvent) -> PromotedActivationResult:
        require_owner_approval(step, self._approver)
        _, previous = self._registry.activate_promoted(step.kind, step.candidate_id, Promotion(
            step.promotion_id, step.approved_by, step.requested_by, step.gates))
        return PromotedActivationResult(str(previous or ""))
